"""One-time tokens for the audio websocket: bound to one call, short-lived, HMAC-signed.

The answer webhook issues a token and puts it in the ``<Stream>`` URL; the websocket handler
verifies it and then burns its nonce in the database (``store.calls.claim_stream``), so a token
opens at most one stream, in whichever server process Plivo reaches.

A token is ``base64url(version | expiry | nonce | call tag | mac)``, 66 characters:

- ``version``: one byte, :data:`TOKEN_VERSION`;
- ``expiry``: milliseconds since the epoch, eight bytes big-endian;
- ``nonce``: sixteen random bytes, given back as 32 hex digits;
- ``call tag``: the first eight bytes of SHA-256 of the call's UUID, which binds the token to
  the call and tells a token for another call from a forged one (the nonce, which the call's
  row holds, binds it a second time);
- ``mac``: HMAC-SHA256 over everything before it, cut to 16 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time
from collections.abc import Callable
from typing import Literal

from loguru import logger

from bot.config import ConfigError, Settings
from store.errors import VartalaapError

TOKEN_VERSION = 1
"""The layout version; a token of another version is ``malformed``."""

MIN_SECRET_BYTES = 16
"""Shortest signing key accepted."""

_HEADER = struct.Struct(">BQ16s8s")
_MAC_BYTES = 16
_TOKEN_BYTES = _HEADER.size + _MAC_BYTES
_TOKEN_CHARS = (_TOKEN_BYTES * 4 + 2) // 3
_DERIVATION_LABEL = b"vartalaap/stream-token/v1"

Reason = Literal["malformed", "bad_signature", "expired", "wrong_call"]


class InvalidStreamToken(VartalaapError):
    """A stream token that does not open the stream it was presented for.

    Attributes:
        reason: ``malformed``, ``bad_signature``, ``expired`` or ``wrong_call``.
    """

    code = "invalid_stream_token"
    status = 403

    def __init__(self, reason: Reason) -> None:
        super().__init__(f"Invalid stream token ({reason})")
        self.reason: Reason = reason


class StreamTokens:
    """Issues and verifies the audio websocket's tokens.

    Args:
        secret: The signing key; every server process must use the same one.
        ttl_secs: How long a token is valid after it is issued.
        clock: Seconds since the epoch, as :func:`time.time` (tests pass a fake).
    """

    def __init__(
        self, secret: bytes, ttl_secs: float, clock: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the stream token secret must be at least {MIN_SECRET_BYTES} bytes")
        if ttl_secs <= 0:
            raise ValueError("ttl_secs must be positive")
        self._secret = secret
        self.ttl_secs = ttl_secs
        self._clock = clock

    def __repr__(self) -> str:
        """Show the lifetime, never the secret."""
        return f"StreamTokens(ttl_secs={self.ttl_secs:g})"

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamTokens:
        """Tokens signed with ``STREAM_TOKEN_SECRET``, else a key derived from the Plivo token.

        Without either, the key is drawn at random for this process, which is enough for one
        process but not for several behind a load balancer; a warning says so.
        """
        if settings.stream_token_secret is not None:
            secret = settings.stream_token_secret.get_secret_value().encode()
            if len(secret) < MIN_SECRET_BYTES:
                raise ConfigError(
                    f"environment: STREAM_TOKEN_SECRET: must be at least {MIN_SECRET_BYTES} "
                    "characters; generate one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                )
        elif settings.plivo_auth_token is not None:
            token = settings.plivo_auth_token.get_secret_value().encode()
            secret = hmac.new(token, _DERIVATION_LABEL, hashlib.sha256).digest()
        else:
            logger.warning(
                "STREAM_TOKEN_SECRET and PLIVO_AUTH_TOKEN are unset: audio stream tokens use a "
                "random per-process key; several server processes need a shared "
                "STREAM_TOKEN_SECRET"
            )
            secret = secrets.token_bytes(32)
        return cls(secret, settings.stream_token_ttl_secs)

    def issue(self, call_uuid: str) -> tuple[str, str]:
        """A fresh token for ``call_uuid``.

        Returns:
            The URL-safe token and its nonce (32 hex digits), which the call's log row keeps
            so that the token can be used once.
        """
        nonce = secrets.token_bytes(16)
        expires_ms = int((self._clock() + self.ttl_secs) * 1000)
        header = _HEADER.pack(TOKEN_VERSION, expires_ms, nonce, _call_tag(call_uuid))
        raw = header + self._mac(header)
        return _encode(raw), nonce.hex()

    def verify(self, token: str, call_uuid: str) -> str:
        """Check ``token`` for ``call_uuid`` and return its nonce.

        Raises:
            InvalidStreamToken: With the first reason found, checked in this order:
                ``malformed``, ``bad_signature``, ``wrong_call``, ``expired``.
        """
        raw = _decode(token)
        header, mac = raw[: _HEADER.size], raw[_HEADER.size :]
        version, expires_ms, nonce, tag = _HEADER.unpack(header)
        if version != TOKEN_VERSION:
            raise InvalidStreamToken("malformed")
        if not hmac.compare_digest(mac, self._mac(header)):
            raise InvalidStreamToken("bad_signature")
        if not hmac.compare_digest(tag, _call_tag(call_uuid)):
            raise InvalidStreamToken("wrong_call")
        if self._clock() * 1000 >= expires_ms:
            raise InvalidStreamToken("expired")
        return nonce.hex()

    def _mac(self, header: bytes) -> bytes:
        return hmac.new(self._secret, header, hashlib.sha256).digest()[:_MAC_BYTES]


def _call_tag(call_uuid: str) -> bytes:
    return hashlib.sha256(call_uuid.encode()).digest()[:8]


def _decode(token: str) -> bytes:
    if len(token) != _TOKEN_CHARS or not token.isascii():
        raise InvalidStreamToken("malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidStreamToken("malformed") from None
    # The decoder skips stray characters and ignores the last character's spare bits; only
    # the one canonical spelling of the bytes is a token.
    if len(raw) != _TOKEN_BYTES or _encode(raw) != token:
        raise InvalidStreamToken("malformed")
    return raw


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
