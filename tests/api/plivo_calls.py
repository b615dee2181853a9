"""Helpers for driving the Plivo webhooks and the audio websocket as Plivo does."""

from __future__ import annotations

import base64
import json
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientResponse, WSMsgType, web
from aiohttp.test_utils import TestClient

from api.app import create_app
from bot.call_runner import CallSetup
from bot.config import BusinessRegistry, Settings
from tests.api.conftest import make_settings
from tests.plivo_signing import signed_headers

AUTH_TOKEN = "plivo-test-auth-token-0123456789"
PUBLIC = "https://bot.example.com"
KNOWN_TO = "911140847730"  # Himalayan Kitchen in bots.yaml, as Plivo writes it
UNKNOWN_TO = "912212345678"
CALLER = "919876543210"
CALLER_E164 = "+919876543210"
CALLER_MASKED = "+91******3210"


def plivo_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"plivo_auth_token": AUTH_TOKEN, "public_base_url": PUBLIC}
    values.update(overrides)
    return make_settings(tmp_path, **values)


def plivo_app(tmp_path: Path, **overrides: Any) -> web.Application:
    """The real app, with Plivo credentials, on a fresh database."""
    settings = plivo_settings(tmp_path, **overrides)
    return create_app(settings, BusinessRegistry(settings.bots_path))


def new_call_uuid() -> str:
    return str(uuid.uuid4())


def answer_form(call_uuid: str, *, caller: str = CALLER, to: str = KNOWN_TO) -> dict[str, str]:
    return {
        "CallUUID": call_uuid,
        "From": caller,
        "To": to,
        "Direction": "inbound",
        "CallStatus": "ringing",
        "Event": "StartApp",
        "CallerName": caller,
    }


def hangup_form(
    call_uuid: str, *, duration: int = 42, cause: str = "NORMAL_CLEARING"
) -> dict[str, str]:
    return {
        **answer_form(call_uuid),
        "CallStatus": "completed",
        "Event": "Hangup",
        "Duration": str(duration),
        "BillDuration": "60",
        "HangupCause": cause,
    }


async def post_signed(
    client: TestClient,
    path: str,
    form: dict[str, str],
    *,
    public: str = PUBLIC,
    headers: dict[str, str] | None = None,
    **signing: Any,
) -> ClientResponse:
    """POST ``form`` to ``path``, signed for the public URL ``public + path``."""
    signed = signed_headers(public + path, form, signing.pop("auth_token", AUTH_TOKEN), **signing)
    return await client.post(path, data=form, headers={**signed, **(headers or {})})


def parse_xml(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "Response"
    return root


def stream_element(text: str) -> ET.Element:
    stream = parse_xml(text).find("Stream")
    assert stream is not None, text
    return stream


def local_path(url: str) -> str:
    """The path and query of a stream URL, to request from the test server."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def answer(client: TestClient, call_uuid: str, **form: Any) -> str:
    """Answer a call to a known number; the local path of its stream URL."""
    response = await post_signed(client, "/plivo/answer", answer_form(call_uuid, **form))
    assert response.status == 200, await response.text()
    return local_path((stream_element(await response.text()).text or "").strip())


def start_event(call_uuid: str, stream_id: str = "stream-0001") -> str:
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": 1,
            "start": {
                "callId": call_uuid,
                "streamId": stream_id,
                "accountId": "MA0000000000000000",
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
            },
            "extra_headers": "{}",
        }
    )


def media_event(sequence: int, stream_id: str = "stream-0001") -> str:
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": sequence,
            "streamId": stream_id,
            "media": {
                "track": "inbound",
                "timestamp": str(sequence * 20),
                "chunk": sequence,
                "payload": base64.b64encode(b"\xff" * 160).decode(),
            },
            "extra_headers": "{}",
        }
    )


class EchoRunner:
    """A stand-in call runner: reads a few ``media`` events, sends one ``playAudio``."""

    def __init__(self, media_to_read: int = 3) -> None:
        self.media_to_read = media_to_read
        self.calls: list[CallSetup] = []
        self.media: list[dict[str, Any]] = []

    async def __call__(self, ws: web.WebSocketResponse, call: CallSetup) -> None:
        self.calls.append(call)
        while len(self.media) < self.media_to_read:
            message = await ws.receive()
            if message.type is not WSMsgType.TEXT:
                return
            event = json.loads(message.data)
            if event["event"] == "media":
                self.media.append(event)
        payload = base64.b64encode(b"\x7f" * 160).decode()
        await ws.send_json(
            {
                "event": "playAudio",
                "streamId": call.stream_id,
                "media": {"contentType": "audio/x-mulaw", "sampleRate": 8000, "payload": payload},
            }
        )
