"""The real server on loopback with a simulated Plivo: phone calls that never leave the machine.

:class:`LocalPhone` starts the aiohttp application in-process on ``127.0.0.1`` with a fresh
Plivo account (random credentials), the simulated Plivo REST API for hang-ups, and the
embedded engines (the production keys are dropped, so nothing reaches the network). Its
:meth:`~LocalPhone.dial` returns a :class:`~bot.simulated_caller.SimulatedCaller` that rings a
business through the same signed webhook, stream token and websocket as a real call.
The demo and the audio scenarios call through it.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from bot.config import Business, BusinessRegistry, Settings
from bot.simulated_caller import SimulatedCaller, SimulatedPlivoApi

if TYPE_CHECKING:
    from aiohttp import web
    from pipecat.observers.base_observer import BaseObserver

    from store.db import Database


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
        host: The loopback address to serve on.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        observers: list[Callable[[str], BaseObserver]] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self._given = settings
        self._observers = list(observers or [])
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
            app = create_app(settings, BusinessRegistry(settings.bots_path))
            app[CALL_RESOURCES].observers.extend(self._observers)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
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
