"""The admin bearer token: every ``/api/`` route needs it, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import SecretStr

from api.errors import Handler, json_error

ADMIN_PREFIX = "/api/"
DISABLED = (
    "The admin API is disabled because ADMIN_TOKEN is not set. Set ADMIN_TOKEN (at least 16 "
    "characters) in the environment or .env and restart the server."
)


def admin_auth(token: SecretStr | None) -> Middleware:
    """A middleware that guards ``/api/`` with ``Authorization: Bearer <token>``.

    Without a configured token the admin routes answer 503 and say how to set one; other
    routes (health, docs, Plivo) are not affected.
    """
    expected = _digest(token.get_secret_value()) if token is not None else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        if expected is None:
            return json_error(503, DISABLED)
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # Digests have one length, so the comparison takes the same time whatever was sent.
        if scheme.lower() != "bearer" or not hmac.compare_digest(_digest(given), expected):
            return json_error(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        return await handler(request)

    return middleware


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()
