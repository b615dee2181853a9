"""The real server on loopback with a simulated Plivo: phone calls that never leave the machine.

:class:`LocalPhone` starts the aiohttp application in-process on ``127.0.0.1`` with a fresh
Plivo account (random credentials), the simulated Plivo REST API for hang-ups, and the
embedded engines (the production keys are dropped, so nothing reaches the network). Its
:meth:`~LocalPhone.dial` returns a :class:`~bot.simulated_caller.SimulatedCaller` that rings a
business through the same signed webhook, stream token and websocket as a real call.
The demo and the audio scenarios call through it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import socket
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from bot.config import Business, BusinessDirectory, BusinessRegistry, Settings
from bot.simulated_caller import SimulatedCaller, SimulatedPlivoApi

if TYPE_CHECKING:
    from aiohttp import web
    from pipecat.observers.base_observer import BaseObserver

    from store.db import Database
    from store.models import CallLog, Reservation


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class LocalPhone:
    """The server and a simulated Plivo, both on loopback, as an async context manager.

    Args:
        settings: Process settings; the database URL and ``bots.yaml`` come from here, while
            the Plivo account, public URL and engine keys are replaced.
        observers: Factories of pipeline observers for every call, given the call's UUID
            (the demo prints the conversation through one).
        tool_listeners: Told of every tool call: the call's UUID, the tool and its data.
        clock: A fixed clock for the calls' prompts, tools and booking rules (scenarios set
            one so that "tomorrow" is always the same day); the real one by default.
        host: The loopback address to serve on.
        directory: The businesses to serve; by default those of the settings' ``bots.yaml``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        observers: list[Callable[[str], BaseObserver]] | None = None,
        tool_listeners: list[Callable[[str, str, dict[str, Any]], None]] | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        host: str = "127.0.0.1",
        directory: BusinessDirectory | None = None,
    ) -> None:
        self._given = settings
        self._directory = directory
        self._observers = list(observers or [])
        self._tool_listeners = list(tool_listeners or [])
        self._clock = clock
        self._host = host
        self._auth_id = "MA" + secrets.token_hex(9).upper()
        self._auth_token = secrets.token_urlsafe(24)
        self._plivo = SimulatedPlivoApi(auth_id=self._auth_id, auth_token=self._auth_token)
        self._runner: web.AppRunner | None = None
        self._app: web.Application | None = None
        self._url = ""

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._url

    @property
    def app(self) -> web.Application:
        """The running application."""
        if self._app is None:
            raise RuntimeError("the local phone is not started")
        return self._app

    @property
    def database(self) -> Database:
        """The server's database."""
        from api.keys import DATABASE

        return self.app[DATABASE]

    async def __aenter__(self) -> Self:
        from aiohttp import web

        from api.app import create_app
        from api.keys import CALL_RESOURCES

        await self._plivo.start()
        try:
            port = _free_port(self._host)
            self._url = f"http://{self._host}:{port}"
            settings = self._given.model_copy(
                update={
                    "plivo_auth_id": _secret(self._auth_id),
                    "plivo_auth_token": _secret(self._auth_token),
                    "plivo_api_url": self._plivo.base_url,
                    "public_base_url": self._url,
                    "deepgram_api_key": None,
                    "groq_api_key": None,
                    "config_watch_secs": 0,
                    "host": self._host,
                    "port": port,
                }
            )
            app = create_app(settings, BusinessRegistry(settings.bots_path, self._directory))
            resources = app[CALL_RESOURCES]
            resources.observers.extend(self._observers)
            resources.tool_listeners.extend(self._tool_listeners)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            if self._clock is not None:
                self._set_clock(app, self._clock)
            await web.TCPSite(runner, self._host, port).start()
        except BaseException:
            await self._plivo.stop()
            raise
        self._runner, self._app = runner, app
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        runner, self._runner, self._app = self._runner, None, None
        if runner is not None:
            await runner.cleanup()
        await self._plivo.stop()

    @staticmethod
    def _set_clock(app: web.Application, clock: Callable[[], dt.datetime]) -> None:
        """Give the started app's calls and their booking rules ``clock``."""
        from api.keys import CALL_RESOURCES, CALL_RUNNER
        from bot.call import PipelineCallRunner
        from store.booking import Bookings

        resources, calls = app[CALL_RESOURCES], app[CALL_RUNNER]
        if resources.database is None or not isinstance(calls, PipelineCallRunner):
            raise RuntimeError("the app has no database or runs calls another way")
        resources.bookings = Bookings(resources.database, clock)
        calls.clock = clock

    async def finished_call(self, call_uuid: str, wait_secs: float = 5.0) -> CallLog | None:
        """The call's record once the server has written how it ended (it does as it closes).

        Waits up to ``wait_secs`` seconds for the outcome; returns the record as it is then
        (``None`` if the call never reached the server).
        """
        from store.calls import get_call
        from store.models import CallOutcome

        log = await get_call(self.database, call_uuid)
        deadline = time.monotonic() + wait_secs
        while (
            log is None or log.outcome == CallOutcome.IN_PROGRESS
        ) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            log = await get_call(self.database, call_uuid)
        return log

    async def reservations_of(self, call_uuid: str) -> list[Reservation]:
        """The reservations a call made."""
        from sqlalchemy import select

        from store.models import Reservation

        async with self.database.read() as session:
            query = select(Reservation).where(Reservation.call_id == call_uuid)
            return list(await session.scalars(query.order_by(Reservation.id)))

    def dial(self, business: Business, caller_number: str, **options: Any) -> SimulatedCaller:
        """A caller ringing ``business``'s first number from ``caller_number`` (E.164).

        ``options`` go to :class:`~bot.simulated_caller.SimulatedCaller` (e.g. ``fast=True``).
        The bot's hang-up through the simulated Plivo API ends the caller's stream.
        """
        caller = SimulatedCaller(
            self.url,
            auth_id=self._auth_id,
            auth_token=self._auth_token,
            from_number=caller_number.removeprefix("+"),
            to_number=business.phone_numbers[0].removeprefix("+"),
            **options,
        )
        self._plivo.add_call(caller.call_uuid, on_hangup=caller.remote_hang_up)
        return caller


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def conversation_observer(
    *, heard: Callable[[str], None], said: Callable[[str], None]
) -> BaseObserver:
    """A pipeline observer telling ``heard`` each final transcript and ``said`` each bot line.

    A bot line is a verbatim one (greeting, goodbye, apology) or a whole reply of the LLM or
    the dialogue engine.
    """
    from pipecat.frames.frames import (
        LLMFullResponseEndFrame,
        LLMTextFrame,
        TranscriptionFrame,
        TTSSpeakFrame,
    )
    from pipecat.observers.base_observer import BaseObserver, FramePushed
    from pipecat.services.llm_service import LLMService

    class ConversationObserver(BaseObserver):
        def __init__(self) -> None:
            super().__init__()
            self.reply: list[str] = []

        async def on_push_frame(self, data: FramePushed) -> None:
            frame = data.frame
            if not data.first_push:
                return
            if isinstance(frame, TranscriptionFrame):
                heard(frame.text)
            elif isinstance(frame, TTSSpeakFrame):
                said(frame.text)
            elif isinstance(data.source, LLMService):
                if isinstance(frame, LLMTextFrame):
                    self.reply.append(frame.text)
                elif isinstance(frame, LLMFullResponseEndFrame) and self.reply:
                    said(" ".join("".join(self.reply).split()))
                    self.reply = []

    return ConversationObserver()
