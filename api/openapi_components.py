"""Reusable parts of the OpenAPI document: error bodies, security, non-endpoint routes, refs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

REF_PREFIX = "#/components/schemas/"

ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "ValidationError": {
        "title": "ValidationError",
        "type": "object",
        "properties": {
            "loc": {
                "title": "Location",
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "msg": {"title": "Message", "type": "string"},
            "type": {"title": "Error Type", "type": "string"},
        },
        "required": ["loc", "msg", "type"],
    },
    "HTTPValidationError": {
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {
            "detail": {
                "title": "Detail",
                "type": "array",
                "items": {"$ref": f"{REF_PREFIX}ValidationError"},
            }
        },
    },
    "HTTPError": {
        "title": "HTTPError",
        "type": "object",
        "properties": {
            "detail": {"title": "Detail", "type": "string"},
            "code": {"title": "Code", "type": "string"},
        },
        "required": ["detail"],
    },
}
"""The error bodies :mod:`api.errors` produces, under FastAPI's component names."""

SECURITY_SCHEMES = {"bearerAuth": {"type": "http", "scheme": "bearer"}}

_HEALTH_REPORT: dict[str, Any] = {
    "title": "HealthReport",
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["healthy", "degraded"]},
        "database": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["up", "down"]},
                "latency_ms": {"type": "number"},
                "error": {"type": "string", "description": "Exception type when down."},
            },
            "required": ["status"],
        },
        "engines": {
            "type": "object",
            "additionalProperties": {"type": "string", "enum": ["configured", "missing"]},
        },
        "businesses": {"type": "integer", "minimum": 0},
        "admin_api": {"type": "string", "enum": ["enabled", "disabled"]},
    },
    "required": ["status", "database", "engines", "businesses", "admin_api"],
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str, name: str = "HTTPError") -> dict[str, Any]:
    return _json(description, {"$ref": f"{REF_PREFIX}{name}"})


def _xml(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/xml": {"schema": {"type": "string"}}},
    }


_CALL_UUID: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z0-9-]{1,64}$"}
_PHONE: dict[str, Any] = {
    "type": "string",
    "description": "Digits with the country code, with or without '+' (Plivo sends '9180...').",
}
_PLIVO_FORM: dict[str, Any] = {
    "CallUUID": _CALL_UUID,
    "From": {**_PHONE, "description": "The caller; empty or 'anonymous' when withheld."},
    "To": {**_PHONE, "description": "The number dialled."},
    "Direction": {"type": "string", "enum": ["inbound", "outbound"]},
    "CallStatus": {"type": "string", "maxLength": 32},
}
_SIGNATURE_HEADERS: list[dict[str, Any]] = [
    {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }
    for name, required, description in (
        (
            "X-Plivo-Signature-V3",
            True,
            "Base64 HMAC-SHA256 signatures (comma-separated) with the account's auth token.",
        ),
        ("X-Plivo-Signature-Ma-V3", False, "The same, with the main account's auth token."),
        ("X-Plivo-Signature-V3-Nonce", True, "Unique per request; a repeat is refused."),
    )
]
_WEBHOOK_ERRORS: dict[str, Any] = {
    "403": _error("Signature headers missing, no signature matching, or a replayed nonce."),
    "422": _error("A form field is missing or malformed.", "HTTPValidationError"),
    "503": _error("PLIVO_AUTH_TOKEN is not set, so no webhook can be verified."),
}


def _form(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }


PLIVO_PATHS: dict[str, Any] = {
    "/plivo/answer": {
        "post": {
            "tags": ["telephony"],
            "summary": "Plivo answer webhook",
            "operationId": "plivo_answer",
            "description": (
                "Signed by Plivo (V3). For a configured number: opens the call log and answers "
                "with a bidirectional `<Stream>` (mu-law 8 kHz, keepCallAlive) to "
                "`/ws/audio/{call_uuid}?token=...`. For any other number: a spoken apology "
                "and `<Hangup/>`, and the call is logged as rejected."
            ),
            "parameters": _SIGNATURE_HEADERS,
            "requestBody": _form(["CallUUID", "To"], _PLIVO_FORM),
            "responses": {
                "200": _xml("Plivo XML: `<Stream>`, or `<Speak>` and `<Hangup>`."),
                **_WEBHOOK_ERRORS,
            },
        }
    },
    "/plivo/hangup": {
        "post": {
            "tags": ["telephony"],
            "summary": "Plivo hangup webhook",
            "operationId": "plivo_hangup",
            "description": (
                "Signed by Plivo (V3). Records the call's duration and hangup cause and "
                "forgets the caller's number; repeats and unknown calls are harmless."
            ),
            "parameters": _SIGNATURE_HEADERS,
            "requestBody": _form(
                ["CallUUID"],
                {
                    **_PLIVO_FORM,
                    "HangupCause": {"type": "string", "maxLength": 64},
                    "Duration": {"type": "integer", "minimum": 0},
                    "BillDuration": {"type": "integer", "minimum": 0},
                },
            ),
            "responses": {
                "200": {
                    "description": "Recorded (or nothing to record).",
                    "content": {"text/plain": {"schema": {"type": "string", "const": "OK"}}},
                },
                **_WEBHOOK_ERRORS,
            },
        }
    },
    "/plivo/transfer/{call_uuid}": {
        "post": {
            "tags": ["telephony"],
            "summary": "Plivo transfer XML",
            "operationId": "plivo_transfer",
            "description": (
                "Signed by Plivo (V3). The `aleg_url` of a call the bot transferred to the "
                "restaurant's staff (Plivo's transfer API): `<Speak>` a short notice, then "
                "`<Dial>` the staff number of the business the call reached. For a call this "
                "server does not know, or a business without a staff number: a spoken apology "
                "and `<Hangup/>`."
            ),
            "parameters": [
                {"name": "call_uuid", "in": "path", "required": True, "schema": _CALL_UUID},
                *_SIGNATURE_HEADERS,
            ],
            "requestBody": _form(["CallUUID"], _PLIVO_FORM),
            "responses": {
                "200": _xml("Plivo XML: `<Speak>` and `<Dial>`, or `<Speak>` and `<Hangup>`."),
                "404": _error("The call id in the path is malformed."),
                **_WEBHOOK_ERRORS,
            },
        }
    },
    "/ws/audio/{call_uuid}": {
        "get": {
            "tags": ["telephony"],
            "summary": "Plivo audio stream (websocket)",
            "operationId": "plivo_audio_stream",
            "description": (
                "Plivo's bidirectional audio stream of one call. The token comes from the "
                "answer XML, is valid for one call, once, for a short time; it is checked "
                "before the upgrade. After the upgrade the first event must be Plivo's "
                "`start` for this call, within 10 s."
            ),
            "parameters": [
                {"name": "call_uuid", "in": "path", "required": True, "schema": _CALL_UUID},
                {
                    "name": "token",
                    "in": "query",
                    "required": True,
                    "description": "The one-time stream token from the answer XML.",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "101": {"description": "Switching Protocols: the websocket is open."},
                "403": _error("No token, or a forged, expired, foreign or used one."),
                "404": _error("The call id in the path is malformed."),
            },
        }
    },
}
"""Routes of :mod:`api.plivo` and :mod:`api.audio_ws`."""

SERVICE_PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "tags": ["service"],
            "summary": "Liveness: the process is up",
            "operationId": "health",
            "responses": {
                "200": _json(
                    "The server is up.",
                    {
                        "type": "object",
                        "properties": {"status": {"type": "string", "const": "healthy"}},
                        "required": ["status"],
                    },
                )
            },
        }
    },
    "/health/detailed": {
        "get": {
            "tags": ["service"],
            "summary": "Readiness: database and engines",
            "operationId": "health_detailed",
            "description": "Shows whether each secret is set, never the secret itself.",
            "responses": {
                "200": _json("The database answers.", _HEALTH_REPORT),
                "503": _json("The database does not answer.", _HEALTH_REPORT),
            },
        }
    },
    **PLIVO_PATHS,
}
"""Path items for ``extra_paths``: routes that are not endpoints (health, Plivo, audio)."""


def reachable(paths: dict[str, Any], components: dict[str, Any]) -> set[str]:
    """Names of the components the paths use, directly or through other components."""
    seen: set[str] = set()
    pending = list(refs(paths))
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        if name not in components:
            raise ValueError(f"$ref to unknown schema {name!r}")
        seen.add(name)
        pending.extend(refs(components[name]))
    return seen


def refs(node: Any) -> Iterator[str]:
    """Component names of every ``#/components/schemas/...`` reference under ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref.removeprefix(REF_PREFIX)
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)
