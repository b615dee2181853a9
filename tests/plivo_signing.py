"""Sign webhook requests exactly as Plivo does (V3), with the plivo SDK's own helpers."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping

from plivo.utils.signature_v3 import (
    construct_post_url,
    get_signature_v3,
    validate_v3_signature,
)

SIGNATURE = "X-Plivo-Signature-V3"
MA_SIGNATURE = "X-Plivo-Signature-Ma-V3"
NONCE = "X-Plivo-Signature-V3-Nonce"


def new_nonce() -> str:
    """A 20-digit nonce, like Plivo's."""
    return "".join(secrets.choice("0123456789") for _ in range(20))


def sign(url: str, params: Mapping[str, str], nonce: str, auth_token: str) -> str:
    """The V3 signature of a POST to ``url`` with form ``params``."""
    base = construct_post_url(url, dict(params)).decode("utf-8")
    signature: bytes = get_signature_v3(auth_token.encode(), base, nonce.encode())
    # Cross-check against the SDK's validator, so the helper cannot drift from Plivo's scheme.
    assert validate_v3_signature("POST", url, nonce, auth_token, signature.decode(), dict(params))
    return signature.decode("ascii")


def signed_headers(
    url: str,
    params: Mapping[str, str],
    auth_token: str,
    *,
    nonce: str | None = None,
    main_auth_token: str | None = None,
    other_tokens: Iterable[str] = (),
) -> dict[str, str]:
    """The three V3 headers Plivo sends with a POST to ``url``.

    Args:
        url: The URL Plivo calls (the public one).
        params: The form.
        auth_token: The token the V3 signature is made with.
        nonce: The nonce; a fresh one by default.
        main_auth_token: The token of ``X-Plivo-Signature-Ma-V3`` (default ``auth_token``).
        other_tokens: Further active tokens; their signatures come first in the V3 header.
    """
    nonce = nonce or new_nonce()
    signatures = [sign(url, params, nonce, token) for token in (*other_tokens, auth_token)]
    return {
        SIGNATURE: ",".join(signatures),
        MA_SIGNATURE: sign(url, params, nonce, main_auth_token or auth_token),
        NONCE: nonce,
    }
