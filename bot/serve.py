"""Serving: one process, or one per core sharing the port, with the schema migrated first."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import secrets
import signal
import time
from multiprocessing.process import BaseProcess

from loguru import logger
from pydantic import SecretStr

from bot.config import BusinessRegistry, Settings, load_or_exit
from store.db import Database
from store.migrate import upgrade

RESTART_WINDOW_SECS = 60.0
MAX_RESTARTS = 5


def serve(settings: Settings, host: str, port: int, workers: int) -> int:
    """Migrate the database, then serve with ``workers`` processes; returns the exit status.

    Workers share the port (``SO_REUSEPORT``) and the database; call state lives in the
    database, so any worker can take any call's websocket. The parent forwards SIGTERM, SIGINT
    and SIGHUP (configuration reload) to every worker and restarts one that dies, within
    limits.
    """
    load_or_exit(settings.bots_path)
    asyncio.run(_migrate(settings))
    if workers > 1 and settings.stream_token_secret is None and not settings.plivo_auth_token:
        # Every worker must verify tokens the others issued.
        settings = settings.model_copy(
            update={"stream_token_secret": SecretStr(secrets.token_urlsafe(32))}
        )
    if workers == 1:
        _worker(settings, host, port, reuse_port=False)
        return 0
    return _supervise(settings, host, port, workers)


def settle_heap() -> None:
    """Take what start-up allocated out of the garbage collector's sight (``gc.freeze``).

    Once pipecat, openai, numpy and the app are loaded a process tracks about 260,000 objects,
    and every full collection walks them all with the event loop stopped: 110-180 ms on two
    cores, landing on whatever call is mid-turn. Frozen, they are not walked again, and a full
    collection walks only what calls allocate since. They are never freed either, which costs
    nothing: modules and the app live as long as the process. Garbage is collected first, so
    none of it is kept.
    """
    gc.collect()
    gc.freeze()


async def _migrate(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        await upgrade(database)
    finally:
        await database.close()


def _worker(settings: Settings, host: str, port: int, *, reuse_port: bool) -> None:
    # The one place in `bot` that reaches up to `api`: serving starts the HTTP application.
    from aiohttp import web

    from api.app import create_app
    from bot.services import load_call_models

    registry = BusinessRegistry(settings.bots_path, load_or_exit(settings.bots_path))
    app = create_app(settings, registry)
    load_call_models()
    settle_heap()
    businesses = len(registry.current)
    logger.info(
        "worker {} serving {} businesses on http://{}:{}", os.getpid(), businesses, host, port
    )
    web.run_app(app, host=host, port=port, access_log=None, print=None, reuse_port=reuse_port)


def _supervise(settings: Settings, host: str, port: int, count: int) -> int:
    context = multiprocessing.get_context("fork")
    children: list[BaseProcess] = []
    stopping = False
    restarts: list[float] = []

    def start() -> BaseProcess:
        child = context.Process(
            target=_worker, args=(settings, host, port), kwargs={"reuse_port": True}
        )
        child.start()
        return child

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        if signum != signal.SIGHUP:
            stopping = True
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    children.extend(start() for _ in range(count))
    logger.info("serving with {} workers on http://{}:{}", count, host, port)

    while children:
        time.sleep(0.2)
        for child in list(children):
            if child.is_alive():
                continue
            children.remove(child)
            if stopping:
                continue
            now = time.monotonic()
            restarts[:] = [t for t in restarts if now - t < RESTART_WINDOW_SECS] + [now]
            if len(restarts) > MAX_RESTARTS:
                logger.error("workers keep dying; stopping")
                forward(signal.SIGTERM, None)
                stopping = True
                continue
            logger.warning("worker {} exited ({}); starting another", child.pid, child.exitcode)
            children.append(start())
    return 0
