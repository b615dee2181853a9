"""Liveness: is the process up and answering."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()


@routes.get("/health")
async def health(_request: web.Request) -> web.Response:
    """Answer ``{"status": "healthy"}`` while the server runs; needs no token."""
    return web.json_response({"status": "healthy"})
