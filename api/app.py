"""The application factory: state, resources opened and closed with the app, and routes."""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from loguru import logger

from api import audio_ws, health, plivo
from api.auth import admin_auth
from api.crud import crud_endpoints
from api.docs import docs_routes
from api.endpoint import Endpoint, add_endpoints
from api.errors import error_middleware
from api.keys import (
    BOOKINGS,
    BUSINESSES,
    CALL_RESOURCES,
    CALL_RUNNER,
    DATABASE,
    ENDPOINTS,
    SETTINGS,
    STREAM_TOKENS,
)
from api.openapi import SERVICE_PATHS, openapi_document
from api.resources import calls, reservations
from bot.call import CallResources, PipelineCallRunner
from bot.config import BusinessRegistry, Settings
from bot.stream_token import StreamTokens
from store.booking import Bookings
from store.db import Database
from store.migrate import upgrade

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings, businesses: BusinessRegistry) -> web.Application:
    """Build the aiohttp application.

    Args:
        settings: Process settings (database URL, keys, public URL).
        businesses: The live business configuration; reloads take effect for new requests.

    Returns:
        The application, its database opened and migrated on start-up and closed on cleanup.
        Calls run through the pipecat pipeline (``bot.call``); tests may set another
        ``app[api.keys.CALL_RUNNER]`` before the app starts.
    """
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[error_middleware, admin_auth(settings.admin_token)],
    )
    app[SETTINGS] = settings
    app[BUSINESSES] = businesses
    app[STREAM_TOKENS] = StreamTokens.from_settings(settings)
    app[CALL_RESOURCES] = CallResources(settings)
    app[CALL_RUNNER] = PipelineCallRunner(app[CALL_RESOURCES])
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_http_client)
    app.cleanup_ctx.append(_config_reload)
    app.router.add_routes(health.routes)
    app.router.add_routes(plivo.routes)
    app.router.add_routes(audio_ws.routes)

    endpoints = [
        *reservations.endpoints(),
        *crud_endpoints(calls.CALL_LOGS),
        *crud_endpoints(calls.PREFERENCES),
        *crud_endpoints(calls.FOLLOWUPS),
        *crud_endpoints(calls.AUDIT_LOG),
    ]
    add_endpoints(app, endpoints)
    app[ENDPOINTS] = endpoints
    app.router.add_routes(docs_routes(lambda: _document(app)))
    if settings.admin_token is None:
        logger.warning(
            "ADMIN_TOKEN is not set: the admin API (/api/...) answers 503 until it is. Set one,"
            " e.g. ADMIN_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if settings.plivo_auth_token is None:
        logger.warning(
            "PLIVO_AUTH_TOKEN is not set: the Plivo webhooks (/plivo/...) answer 503 until it"
            " is, because their signatures cannot be checked"
        )
    return app


def _document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI document of every route the app serves."""
    endpoints: list[Endpoint] = app[ENDPOINTS]
    return openapi_document(
        endpoints,
        title="Vartalaap API",
        version=importlib.metadata.version("vartalaap"),
        description="Admin API of the Vartalaap reservation voice bot.",
        extra_paths=SERVICE_PATHS,
    )


async def _database(app: web.Application) -> AsyncIterator[None]:
    """Open the database, bring its schema up to date, and close it on shutdown."""
    settings = app[SETTINGS]
    database = Database(settings.database_url)
    await upgrade(database)
    logger.info("database ready at {}", settings.database_url_for_logs)
    app[DATABASE] = database
    app[BOOKINGS] = Bookings(database)
    app[CALL_RESOURCES].database = database
    app[CALL_RESOURCES].bookings = app[BOOKINGS]
    yield
    await database.close()


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    """One HTTP client session for every call's TTS and Plivo REST requests."""
    async with aiohttp.ClientSession() as session:
        app[CALL_RESOURCES].http = session
        yield


async def _config_reload(app: web.Application) -> AsyncIterator[None]:
    """Reload ``bots.yaml`` on SIGHUP and, if enabled, when the file changes."""
    settings, registry = app[SETTINGS], app[BUSINESSES]
    loop = asyncio.get_running_loop()
    registry.install_sighup(loop)
    watcher = None
    if settings.watch_enabled:
        watcher = asyncio.create_task(registry.watch(settings.config_watch_secs))
    yield
    registry.uninstall_sighup(loop)
    if watcher is not None:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
