"""A small aiohttp server on 127.0.0.1 with an OS-chosen port.

The simulated Plivo API and the tests' fakes of Deepgram and Groq are built on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from loguru import logger


class LoopbackServer:
    """An aiohttp server with ``start() -> base URL`` / ``stop()``, usable as ``async with``.

    Subclasses add their routes in ``add_routes``. Websocket handlers should pass their socket to
    ``track_websocket`` so that ``stop`` closes it, and long handlers should wait on
    ``stopping`` (or use ``spawn``) so that nothing outlives the server.
    """

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._websockets: set[web.WebSocketResponse] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.stopping = asyncio.Event()

    def add_routes(self, app: web.Application) -> None:
        """Register the server's routes (overridden by each subclass)."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        if not self.port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT`` once started."""
        return "ws" + self.base_url.removeprefix("http")

    async def start(self) -> str:
        """Bind to a free port and serve; returns the base URL."""
        if self._runner is not None:
            return self.base_url
        self.stopping = asyncio.Event()
        app = web.Application()
        self.add_routes(app)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        logger.debug(f"{type(self).__name__} listening on {self.base_url}")
        return self.base_url

    async def stop(self) -> None:
        """Close open websockets, cancel background work and shut the server down."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.stopping.set()
        for ws in list(self._websockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001, message=b"server stopping"), 1.0)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await runner.cleanup()
        logger.debug(f"{type(self).__name__} stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def track_websocket(self, ws: web.WebSocketResponse) -> None:
        """Remember an open server-side websocket so that ``stop`` closes it."""
        self._websockets.add(ws)

    def untrack_websocket(self, ws: web.WebSocketResponse) -> None:
        """Forget a websocket once its handler is done."""
        self._websockets.discard(ws)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run a background task that ``stop`` cancels."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait_stopping(self) -> None:
        """Block until ``stop`` is called (used to simulate a stalled upstream)."""
        await self.stopping.wait()


def drop_connection(request: web.Request) -> None:
    """Close the TCP connection under a request abruptly, without any HTTP or websocket goodbye."""
    transport = request.transport
    if transport is not None:
        transport.abort()
