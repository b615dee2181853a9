"""Plivo webhook signatures (V3), computed with the plivo SDK's own helpers.

``plivo.utils.validate_v3_signature`` recomputes exactly this, so a server that validates with
it accepts what ``sign_v3`` produces.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from plivo.utils.signature_v3 import construct_get_url, construct_post_url, get_signature_v3

SIGNATURE_HEADER = "X-Plivo-Signature-V3"
MA_SIGNATURE_HEADER = "X-Plivo-Signature-Ma-V3"
NONCE_HEADER = "X-Plivo-Signature-V3-Nonce"


class SignatureMode(StrEnum):
    """How the simulated caller signs a webhook."""

    VALID = "valid"  # fresh nonce, correct signatures
    FORGED = "forged"  # fresh nonce, signed with a wrong token
    OMITTED = "omitted"  # no signature headers at all


def new_nonce() -> str:
    """A random 20-digit nonce, like the ones Plivo sends."""
    return "".join(secrets.choice("0123456789") for _ in range(20))


def sign_v3(method: str, uri: str, params: Mapping[str, str], nonce: str, auth_token: str) -> str:
    """Base64 HMAC-SHA256 V3 signature of a webhook, as Plivo computes it."""
    copied = dict(params)
    if method.upper() == "GET":
        base_url = construct_get_url(uri, copied).decode("utf-8")
    else:
        base_url = construct_post_url(uri, copied).decode("utf-8")
    signature: bytes = get_signature_v3(auth_token.encode(), base_url, nonce.encode())
    return signature.decode("ascii")


@dataclass(frozen=True)
class SignedHeaders:
    """The three V3 headers of one request."""

    nonce: str
    signature: str
    ma_signature: str

    def as_dict(self) -> dict[str, str]:
        """The headers to send."""
        return {
            SIGNATURE_HEADER: self.signature,
            MA_SIGNATURE_HEADER: self.ma_signature,
            NONCE_HEADER: self.nonce,
        }


def signed_headers(
    method: str,
    uri: str,
    params: Mapping[str, str],
    *,
    auth_token: str,
    main_auth_token: str | None = None,
    mode: SignatureMode = SignatureMode.VALID,
) -> dict[str, str]:
    """Headers for a webhook signed per ``mode`` (empty for ``OMITTED``).

    ``X-Plivo-Signature-V3`` uses ``auth_token`` (a sub-account's, if the number belongs to one);
    ``X-Plivo-Signature-Ma-V3`` uses the main account's token (``main_auth_token``, defaulting to
    ``auth_token``).
    """
    if mode is SignatureMode.OMITTED:
        return {}
    nonce = new_nonce()
    token = auth_token if mode is SignatureMode.VALID else auth_token + "-forged"
    main = (main_auth_token or auth_token) if mode is SignatureMode.VALID else token
    return SignedHeaders(
        nonce=nonce,
        signature=sign_v3(method, uri, params, nonce, token),
        ma_signature=sign_v3(method, uri, params, nonce, main),
    ).as_dict()
