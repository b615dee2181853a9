"""Plivo's answer and hangup webhooks: signed forms in, Plivo XML out.

The answer webhook opens the call's log row and answers with a bidirectional ``<Stream>`` to
``/ws/audio/{call_uuid}?token=...``; the token is one-time and short-lived, and the caller's
number stays server-side, on the row. A number no business has gets a spoken apology and a
hangup. The hangup webhook records duration and cause; repeats are harmless. The transfer
webhook is the XML a call transferred by the bot (Plivo's transfer API) continues with: a short
notice and a ``<Dial>`` to the staff number of the business the call reached.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from aiohttp import web
from loguru import logger
from plivo import plivoxml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from api.errors import RequestValidationError
from api.keys import BUSINESSES, DATABASE, SETTINGS, STREAM_TOKENS
from api.plivo_signature import verified_form
from bot.config import Business
from bot.phone import mask_phone, normalise_phone, phone_hash
from store.calls import get_call, open_call, record_hangup
from store.models import CallOutcome, utcnow

CALL_UUID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
"""What a Plivo ``CallUUID`` may look like here: it goes into a URL path and into logs."""

STREAM_CONTENT_TYPE = "audio/x-mulaw;rate=8000"
STREAM_TIMEOUT_MARGIN_SECS = 60
"""Plivo ends the stream this long after the business's ``max_call_secs``, as a backstop."""

NOT_SET_UP = "Sorry, this number is not set up yet. Goodbye."
CALL_OVER = "This call has ended. Goodbye."
CONNECTING = "Connecting you to the restaurant."
NO_TRANSFER = (
    "Sorry, we cannot connect you to the restaurant right now. Please call again. Goodbye."
)

# Words carriers and Plivo use for a withheld caller ID.
_WITHHELD = {"", "anonymous", "private", "restricted", "unknown", "unavailable", "withheld"}

routes = web.RouteTableDef()


def _caller(value: object) -> str | None:
    """A withheld caller ID is ``None``; anything else must be a phone number."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("expected a phone number as text")
    return None if value.strip().lower() in _WITHHELD else normalise_phone(value)


def _blank_is_none(value: object) -> object:
    """Plivo may send a field it has no value for as an empty string."""
    return None if isinstance(value, str) and not value.strip() else value


CallUUID = Annotated[str, Field(pattern=CALL_UUID_PATTERN)]
CallerNumber = Annotated[str | None, BeforeValidator(_caller)]
DialledNumber = Annotated[str, BeforeValidator(normalise_phone)]
OptionalCount = Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_blank_is_none)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_is_none)]


class PlivoForm(BaseModel):
    """Fields every Plivo call webhook carries; others are ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    call_uuid: CallUUID = Field(alias="CallUUID")
    from_number: CallerNumber = Field(None, alias="From")
    call_status: OptionalText = Field(None, alias="CallStatus", max_length=32)


class AnswerForm(PlivoForm):
    """The answer webhook's form."""

    to_number: DialledNumber = Field(alias="To")
    direction: Literal["inbound", "outbound"] = Field("inbound", alias="Direction")


class HangupForm(PlivoForm):
    """The hangup webhook's form."""

    hangup_cause: OptionalText = Field(None, alias="HangupCause", max_length=64)
    duration: OptionalCount = Field(None, alias="Duration")
    bill_duration: OptionalCount = Field(None, alias="BillDuration")


def _validate(model: type[PlivoForm], params: dict[str, Any]) -> Any:
    """The form as ``model``; a 422 naming the fields at fault, never echoing their values."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise RequestValidationError.from_pydantic(exc, "body") from None


async def _signed_form(request: web.Request) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    return await verified_form(
        request,
        auth_token=settings.plivo_auth_token,
        public_base_url=settings.public_base_url,
        db=request.app[DATABASE],
    )


@routes.post("/plivo/answer")
async def answer(request: web.Request) -> web.Response:
    """Answer an incoming call: stream its audio to the bot, or apologise and hang up."""
    form: AnswerForm = _validate(AnswerForm, await _signed_form(request))
    log = logger.bind(call=form.call_uuid)
    business = request.app[BUSINESSES].current.by_number(form.to_number)
    caller = form.from_number
    common: dict[str, Any] = {
        "call_uuid": form.call_uuid,
        "to_number": form.to_number,
        "direction": form.direction,
        "caller_masked": mask_phone(caller) if caller else None,
        "caller_hash": phone_hash(caller) if caller else None,
    }
    db = request.app[DATABASE]

    if business is None:
        await open_call(
            db,
            **common,
            business_id=None,
            caller_number=None,
            stream_nonce=None,
            outcome=CallOutcome.REJECTED,
        )
        log.warning("Call to unconfigured number {} rejected", mask_phone(form.to_number))
        return _xml(_speak_and_hang_up(NOT_SET_UP))

    token, nonce = request.app[STREAM_TOKENS].issue(form.call_uuid)
    call = await open_call(
        db, **common, business_id=business.slug, caller_number=caller, stream_nonce=nonce
    )
    if call.ended_at is not None:
        log.info("Answer webhook repeated after the call ended; hanging up")
        return _xml(_speak_and_hang_up(CALL_OVER))
    log.info("Call from {} to {} answered", mask_phone(caller), business.slug)
    return _xml(_stream(request, business, form.call_uuid, token))


@routes.post("/plivo/hangup")
async def hangup(request: web.Request) -> web.Response:
    """Record how a call ended; a repeat, or a call never answered here, changes nothing."""
    form: HangupForm = _validate(HangupForm, await _signed_form(request))
    log = logger.bind(call=form.call_uuid)
    known = await record_hangup(
        request.app[DATABASE],
        form.call_uuid,
        duration_secs=form.duration,
        hangup_cause=form.hangup_cause,
        ended_at=utcnow(),
    )
    if known:
        log.info("Call ended after {}s: {}", form.duration, form.hangup_cause or "no cause given")
    else:
        log.debug("Hangup for a call this server never answered")
    return web.Response(text="OK", content_type="text/plain")


@routes.post(r"/plivo/transfer/{call_uuid:[A-Za-z0-9-]{1,64}}")
async def transfer(request: web.Request) -> web.Response:
    """The XML of a call the bot transferred: dial the staff of the business it reached.

    The call is looked up by the id in the path (signed with the rest of the URL); a call this
    server does not know, whose business is gone or has no staff number, or whose form names
    another call, gets a spoken apology and a hangup.
    """
    call_uuid = request.match_info["call_uuid"]
    form: PlivoForm = _validate(PlivoForm, await _signed_form(request))
    log = logger.bind(call=call_uuid)
    call = await get_call(request.app[DATABASE], call_uuid)
    business_id = call.business_id if call is not None else None
    business = request.app[BUSINESSES].current.by_slug(business_id) if business_id else None
    if form.call_uuid != call_uuid or business is None or business.staff_number is None:
        log.warning("Transfer XML asked for a call that cannot be transferred; hanging up")
        return _xml(_speak_and_hang_up(NO_TRANSFER))
    log.info("Transfer: dialling the staff of {}", business.slug)
    return _xml(_dial(CONNECTING, business.staff_number))


def stream_url(public_base_url: str, call_uuid: str, token: str) -> str:
    """The websocket URL Plivo streams to: ``wss://`` for an ``https://`` base, else ``ws://``."""
    parts = urlsplit(public_base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = f"{parts.path}/ws/audio/{quote(call_uuid, safe='')}"
    return urlunsplit((scheme, parts.netloc, path, f"token={quote(token, safe='')}", ""))


def _stream(request: web.Request, business: Business, call_uuid: str, token: str) -> str:
    url = stream_url(request.app[SETTINGS].public_base_url, call_uuid, token)
    timeout = int(business.silence.max_call_secs) + STREAM_TIMEOUT_MARGIN_SECS
    response = plivoxml.ResponseElement()
    response.add(
        plivoxml.StreamElement(
            url,
            bidirectional=True,
            keepCallAlive=True,
            contentType=STREAM_CONTENT_TYPE,
            streamTimeout=timeout,
        )
    )
    text: str = response.to_string(pretty=False)
    return text


def _speak_and_hang_up(sentence: str) -> str:
    response = plivoxml.ResponseElement()
    response.add(plivoxml.SpeakElement(sentence))
    response.add(plivoxml.HangupElement())
    text: str = response.to_string(pretty=False)
    return text


def _dial(sentence: str, number: str) -> str:
    """Speak, then dial ``number`` (E.164); Plivo's ``<Number>`` takes the digits alone."""
    response = plivoxml.ResponseElement()
    response.add(plivoxml.SpeakElement(sentence))
    response.add(plivoxml.DialElement().add(plivoxml.NumberElement(number.lstrip("+"))))
    text: str = response.to_string(pretty=False)
    return text


def _xml(body: str) -> web.Response:
    return web.Response(text=body, content_type="application/xml")
