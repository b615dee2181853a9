"""A whole phone call: the real server and pipeline, the production engines' fakes, a caller."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from api.app import create_app
from api.keys import DATABASE
from bot.config import Business, BusinessDirectory, BusinessRegistry, Settings
from store.db import Database
from tests.fakes.deepgram_stt import FakeDeepgramListen
from tests.fakes.deepgram_tts import FakeDeepgramSpeak
from tests.fakes.groq_llm import FakeGroq
from tests.fakes.groq_script import Reply
from tests.fakes.plivo_caller import FakePlivoCaller
from tests.fakes.plivo_rest import FakePlivoApi

ROOT = Path(__file__).resolve().parents[2]
AUTH_ID = "MAFAKEACCOUNT0000001"
AUTH_TOKEN = "fake-plivo-auth-token-0123456789"
HIMALAYAN_KITCHEN = "911140847730"
CALLER = "919812345678"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def next_open_evening() -> dt.date:
    """Tomorrow in Delhi, or the day after when tomorrow is a Monday (closed)."""
    tomorrow = dt.datetime.now(ZoneInfo("Asia/Kolkata")).date() + dt.timedelta(days=1)
    return tomorrow + dt.timedelta(days=1) if tomorrow.isoweekday() == 1 else tomorrow


@dataclass
class Phone:
    """Everything a call test needs."""

    server: TestServer
    app: web.Application
    stt: FakeDeepgramListen
    tts: FakeDeepgramSpeak
    llm: FakeGroq
    plivo: FakePlivoApi

    @property
    def database(self) -> Database:
        return self.app[DATABASE]

    def caller(self, **options: Any) -> FakePlivoCaller:
        caller = FakePlivoCaller(
            str(self.server.make_url("/")),
            auth_id=AUTH_ID,
            auth_token=AUTH_TOKEN,
            from_number=CALLER,
            to_number=HIMALAYAN_KITCHEN,
            on_line=self.stt.hear_line,
            **options,
        )
        self.plivo.add_call(caller.call_uuid, on_hangup=caller.remote_hang_up)
        return caller


PhoneFactory = Callable[..., Any]


def write_bots(directory: Path, **changes: Any) -> Path:
    """A ``bots.yaml`` in ``directory``: the shipped one with top-level keys of every business
    replaced (e.g. ``silence={...}``)."""
    data = yaml.safe_load((ROOT / "bots.yaml").read_text(encoding="utf-8"))
    for business in data["businesses"]:
        business.update(changes)
    path = directory / "bots.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def businesses(path: Path, edit: Callable[[Business], Business] | None) -> BusinessRegistry:
    """The registry of ``path``, each business passed through ``edit`` if given.

    ``edit`` may set what the file's validation refuses (e.g. a call limit under 30 s), to keep
    a test short: ``model_copy(update=...)`` does not validate.
    """
    registry = BusinessRegistry(path)
    if edit is None:
        return registry
    edited = BusinessDirectory([edit(b) for b in registry.current], source=path)
    return BusinessRegistry(path, edited)


@pytest.fixture
async def phone(tmp_path: Path) -> AsyncIterator[PhoneFactory]:
    """Starts the fakes and the server for a scripted conversation."""
    started: list[Any] = []

    async def start(
        transcripts: Sequence[str] | Callable[[int, bytes], str],
        replies: Sequence[Reply] | Callable[..., Reply],
        *,
        bots: Path = ROOT / "bots.yaml",
        edit: Callable[[Business], Business] | None = None,
        tts: dict[str, Any] | None = None,
        llm: dict[str, Any] | None = None,
        **stt: Any,
    ) -> Phone:
        """Start the fakes and the server; ``bots``/``edit`` change the businesses served,
        ``tts``/``llm`` are options for ``FakeDeepgramSpeak``/``FakeGroq``."""
        fakes = (
            FakeDeepgramListen(transcripts if callable(transcripts) else list(transcripts), **stt),
            FakeDeepgramSpeak(**(tts or {})),
            FakeGroq(replies, **(llm or {})),
            FakePlivoApi(auth_id=AUTH_ID, auth_token=AUTH_TOKEN),
        )
        for fake in fakes:
            await fake.start()
            started.append(fake)
        listen, speak, groq, plivo = fakes
        port = free_port()
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}",
            bots_path=bots,
            config_watch_secs=0,
            deepgram_api_key="test-deepgram-key",
            groq_api_key="test-groq-key",
            plivo_auth_id=AUTH_ID,
            plivo_auth_token=AUTH_TOKEN,
            deepgram_url=listen.base_url,
            deepgram_tts_url=speak.base_url,
            groq_url=groq.openai_base_url,
            plivo_api_url=plivo.base_url,
            public_base_url=f"http://127.0.0.1:{port}",
        )
        app = create_app(settings, businesses(settings.bots_path, edit))
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        started.append(server)
        return Phone(server, app, listen, speak, groq, plivo)

    yield start
    for thing in reversed(started):
        if isinstance(thing, TestServer):
            await thing.close()
        else:
            await thing.stop()
