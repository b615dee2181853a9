"""Plivo's V3 webhook signature, checked against the public URL Plivo called, and replay refusal.

Plivo signs ``base64(HMAC-SHA256(auth_token, <url and params> + "." + nonce))`` and sends it in
``X-Plivo-Signature-V3`` (the account's or sub-account's token; several comma-separated when
more than one token is active) and ``X-Plivo-Signature-Ma-V3`` (the main account's token). The
string signed is built with the plivo SDK's own helpers, so it is exactly what Plivo signs; the
comparison is ours, in constant time. The URL is the public one Plivo called,
``PUBLIC_BASE_URL`` plus the request's path and query, so the check holds behind a proxy.
"""

from __future__ import annotations

import hmac
import re

from aiohttp import web
from loguru import logger
from multidict import MultiMapping
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3
from pydantic import SecretStr

from bot.phone import mask_phone
from store.calls import remember_nonce
from store.db import Database
from store.errors import VartalaapError
from store.models import utcnow

SIGNATURE_HEADER = "X-Plivo-Signature-V3"
MA_SIGNATURE_HEADER = "X-Plivo-Signature-Ma-V3"
NONCE_HEADER = "X-Plivo-Signature-V3-Nonce"

MAX_NONCE_CHARS = 128
_CALL_UUID = re.compile(r"^[A-Za-z0-9-]{1,64}$")

Params = dict[str, str | list[str]]


class WebhookRejectedError(VartalaapError):
    """A webhook that is not provably from Plivo, or a replay of one."""

    code = "webhook_rejected"
    status = 403


class PlivoNotConfiguredError(VartalaapError):
    """``PLIVO_AUTH_TOKEN`` is unset, so no webhook can be verified."""

    code = "plivo_not_configured"
    status = 503

    def __init__(self) -> None:
        super().__init__(
            "Plivo webhooks are disabled because PLIVO_AUTH_TOKEN is not set: signatures "
            "cannot be checked. Set it in the environment or .env and restart the server."
        )


def signed_url(public_base_url: str, request: web.Request) -> str:
    """The URL Plivo called: the public base URL with the request's path and query."""
    return public_base_url + request.raw_path


def expected_signature(auth_token: str, url: str, params: Params, nonce: str) -> bytes:
    """The V3 signature Plivo computes for a POST to ``url`` with form ``params``."""
    base = construct_post_url(url, dict(params)).decode("utf-8")
    signature: bytes = get_signature_v3(auth_token.encode(), base, nonce.encode())
    return signature


def signature_matches(expected: bytes, *headers: str | None) -> bool:
    """Whether any comma-separated signature in ``headers`` equals ``expected``.

    Every candidate is compared, in constant time, whatever the outcome of the others.
    """
    found = False
    for header in headers:
        for candidate in (header or "").split(","):
            given = candidate.strip().encode("utf-8", "surrogateescape")
            found |= hmac.compare_digest(given, expected)
    return found


def form_params(form: MultiMapping[object]) -> Params:
    """A form as the SDK's signing helpers take it: a value, or a list for repeated keys.

    Raises:
        WebhookRejectedError: The form carries a file, which Plivo never sends.
    """
    params: Params = {}
    for key in form.keys():
        values = form.getall(key)
        if not all(isinstance(value, str) for value in values):
            raise WebhookRejectedError("Unexpected webhook body")
        texts = [str(value) for value in values]
        params[key] = texts[0] if len(texts) == 1 else texts
    return params


async def verified_form(
    request: web.Request,
    *,
    auth_token: SecretStr | None,
    public_base_url: str,
    db: Database,
) -> Params:
    """The webhook's form, once it is proven to come from Plivo and not to be a replay.

    Args:
        request: The webhook request.
        auth_token: ``PLIVO_AUTH_TOKEN``.
        public_base_url: ``PUBLIC_BASE_URL``, where Plivo reaches this server.
        db: Where seen nonces are kept, shared by every server process.

    Raises:
        PlivoNotConfiguredError: No auth token is configured.
        WebhookRejectedError: Headers missing, no signature matching, or a nonce seen before.
    """
    if auth_token is None:
        raise PlivoNotConfiguredError()
    params = form_params(await request.post())
    nonce = request.headers.get(NONCE_HEADER, "")
    signatures = (request.headers.get(SIGNATURE_HEADER), request.headers.get(MA_SIGNATURE_HEADER))
    if not nonce or len(nonce) > MAX_NONCE_CHARS or not any(signatures):
        _reject(request, params, "missing or malformed signature headers")
    url = signed_url(public_base_url, request)
    expected = expected_signature(auth_token.get_secret_value(), url, params, nonce)
    if not signature_matches(expected, *signatures):
        _reject(request, params, "signature mismatch")
    if not await remember_nonce(db, nonce, utcnow()):
        _reject(request, params, "nonce already used")
    return params


def _reject(request: web.Request, params: Params, reason: str) -> None:
    """Log a refused webhook (masked caller, call id if well formed) and refuse it."""
    call_uuid = params.get("CallUUID")
    call = call_uuid if isinstance(call_uuid, str) and _CALL_UUID.match(call_uuid) else "?"
    caller = params.get("From")
    logger.bind(call=call).warning(
        "Plivo webhook {} refused: {} (from {}, peer {})",
        request.path,
        reason,
        mask_phone(caller if isinstance(caller, str) else None),
        request.remote,
    )
    raise WebhookRejectedError(f"Webhook refused: {reason}")
