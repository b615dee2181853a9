"""Liveness and readiness: is the process up, can it reach its database, which engines are set."""

from __future__ import annotations

import os
import time

from aiohttp import web
from loguru import logger

from api.keys import BUSINESSES, DATABASE, SETTINGS

routes = web.RouteTableDef()


@routes.get("/health")
async def health(_request: web.Request) -> web.Response:
    """Answer ``{"status": "healthy"}`` while the server runs; needs no token."""
    return web.json_response({"status": "healthy"})


@routes.get("/health/detailed")
async def health_detailed(request: web.Request) -> web.Response:
    """The database's state and latency, and each engine as configured or missing.

    200 when the database answers, 503 with ``"degraded"`` when it does not. Never shows a
    secret: only whether one is set.
    """
    settings = request.app[SETTINGS]
    began = time.perf_counter()
    try:
        await request.app[DATABASE].ping()
    except Exception as exc:  # any failure to reach the database means degraded
        logger.warning("health check: database unreachable: {}", type(exc).__name__)
        database: dict[str, object] = {"status": "down", "error": type(exc).__name__}
    else:
        latency = round((time.perf_counter() - began) * 1000, 2)
        database = {"status": "up", "latency_ms": latency}

    keys = {
        "deepgram": settings.deepgram_api_key,
        "groq": settings.groq_api_key,
        "plivo": settings.plivo_auth_token,
    }
    wanted = set()
    for business in request.app[BUSINESSES].current:
        engines = business.engines
        wanted.update({engines.stt.provider, engines.llm.provider, engines.tts.provider})
    engines_state: dict[str, str] = {
        name: "configured" if keys[name] is not None else "missing"
        for name in ("deepgram", "groq")
        if name in wanted
    }
    engines_state["plivo"] = "configured" if keys["plivo"] is not None else "missing"
    if "local" in wanted:
        engines_state["local"] = "configured"

    healthy = database["status"] == "up"
    body = {
        "status": "healthy" if healthy else "degraded",
        "database": database,
        "engines": engines_state,
        "businesses": len(request.app[BUSINESSES].current),
        "admin_api": "enabled" if settings.admin_token is not None else "disabled",
        "worker": os.getpid(),
    }
    return web.json_response(body, status=200 if healthy else 503)
