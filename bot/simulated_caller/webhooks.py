"""Plivo's answer/hangup webhook forms and the ``<Stream>`` element of the answer XML."""

from __future__ import annotations

import math
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_CONTENT_TYPE = "audio/x-l16;rate=8000"  # Plivo's default when contentType is omitted


def plivo_time(at: datetime) -> str:
    """Plivo's timestamp format in webhooks (``YYYY-MM-DD HH:MM:SS``)."""
    return at.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class CallIdentity:
    """The fixed facts of one simulated inbound call."""

    call_uuid: str
    from_number: str
    to_number: str
    request_uuid: str

    @classmethod
    def new(cls, from_number: str, to_number: str, call_uuid: str | None = None) -> CallIdentity:
        """A call with fresh UUIDs."""
        return cls(call_uuid or str(uuid.uuid4()), from_number, to_number, str(uuid.uuid4()))


def answer_params(call: CallIdentity, started: datetime) -> dict[str, str]:
    """The form Plivo POSTs to the answer URL of an inbound call."""
    return {
        "ALegRequestUUID": call.request_uuid,
        "ALegUUID": call.call_uuid,
        "BillRate": "0.0045",
        "CallStatus": "ringing",
        "CallUUID": call.call_uuid,
        "CallerName": call.from_number,
        "Direction": "inbound",
        "Event": "StartApp",
        "From": call.from_number,
        "RequestUUID": call.request_uuid,
        "STIRVerification": "Not Applicable",
        "SessionStart": started.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "To": call.to_number,
    }


def hangup_params(
    call: CallIdentity,
    *,
    started: datetime,
    answered: datetime,
    ended: datetime,
    cause: str = "NORMAL_CLEARING",
    source: str = "Caller",
) -> dict[str, str]:
    """The form Plivo POSTs to the hangup URL once the call has ended.

    ``BillDuration`` is rounded up to whole minutes (Plivo's default 60 s billing increment).
    """
    duration = max(0, math.ceil((ended - answered).total_seconds()))
    bill_duration = math.ceil(duration / 60) * 60
    return {
        **answer_params(call, started),
        "AnswerTime": plivo_time(answered),
        "BillDuration": str(bill_duration),
        "CallStatus": "completed",
        "Duration": str(duration),
        "EndTime": plivo_time(ended),
        "Event": "Hangup",
        "HangupCause": cause,
        "HangupCauseCode": "4000" if cause == "NORMAL_CLEARING" else "4010",
        "HangupCauseName": "Normal Hangup" if cause == "NORMAL_CLEARING" else cause,
        "HangupSource": source,
        "StartTime": plivo_time(started),
        "TotalCost": f"{0.0045 * bill_duration / 60:.5f}",
    }


@dataclass(frozen=True)
class StreamInfo:
    """The ``<Stream>`` element of an answer XML."""

    url: str
    attributes: dict[str, str]

    @property
    def content_type(self) -> str:
        """``contentType``, or Plivo's default (L16 at 8 kHz) when the XML omits it."""
        return self.attributes.get("contentType", DEFAULT_CONTENT_TYPE)

    @property
    def encoding(self) -> str:
        """``audio/x-mulaw`` or ``audio/x-l16``."""
        return self.content_type.split(";")[0].strip()

    @property
    def sample_rate(self) -> int:
        """The ``rate=`` of the content type (8000 when absent)."""
        for part in self.content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key == "rate" and value.isdigit():
                return int(value)
        return 8000

    @property
    def bidirectional(self) -> bool:
        """Whether the server asked to send audio back."""
        return self.attributes.get("bidirectional", "false").lower() == "true"

    @property
    def extra_headers(self) -> str:
        """``extraHeaders`` as written in the XML (echoed in stream events)."""
        return self.attributes.get("extraHeaders", "")


def parse_stream(xml_text: str) -> StreamInfo | None:
    """The first ``<Stream>`` of an answer XML, or None (no XML, or no Stream element)."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return None
    element = root if root.tag == "Stream" else root.find(".//Stream")
    if element is None or not (element.text or "").strip():
        return None
    return StreamInfo(url=(element.text or "").strip(), attributes=dict(element.attrib))


def now_utc() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)
