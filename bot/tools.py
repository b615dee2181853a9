"""The reservation tools the LLM (or the local dialogue engine) calls during a phone call.

Every tool answers with a JSON-ready dict the model reads back to the caller; a failure becomes
a result that tells the model to apologise, never silence. Bookings run shielded from
cancellation: a caller interrupting while a booking commits cannot leave it half made; the
transaction either commits whole or not at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.frames.frames import EndWorkerFrame, FunctionCallResultProperties, TTSSpeakFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import FunctionCallParams

from bot.config import Business
from bot.phone import try_normalise_phone
from store.booking import BookingRequest, Bookings, describe
from store.codes import normalise
from store.errors import BookingRejectedError, NotFoundError
from store.models import Reservation, ReservationSource, ReservationStatus

ToolEvent = Callable[[str, dict[str, Any]], None]
"""Told of each tool call and its result: the call record keeps them."""

NEAR_CODE_NOTE = (
    "No booking has the code as heard; this is the one booking whose code sounds like it. "
    "Read its code back and make sure it is the caller's before doing anything with it."
)
"""What ``find_reservation`` tells the LLM with a booking found by a near code."""

APOLOGY = (
    "The booking system did not answer. Apologise briefly, and offer to take the details "
    "again or to have the restaurant call back."
)


@dataclass
class CallTools:
    """The tools of one call, bound to its business, caller and booking store.

    Attributes:
        business: The business the call reached (as configured when the call started).
        bookings: The booking store.
        call_uuid: Plivo's id of the call.
        caller_number: The caller's E.164 number, if the network gave one.
        on_event: Told of every tool call and its result.
        transfer: Hands the call to the business's staff; ``None`` when it has no staff
            number. Returns whether the transfer was accepted.
        clock: The current instant (aware); tests fix it.
    """

    business: Business
    bookings: Bookings
    call_uuid: str
    caller_number: str | None = None
    on_event: ToolEvent = lambda _name, _data: None
    transfer: Callable[[], Awaitable[bool]] | None = None
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    _pending: set[asyncio.Task[Any]] = field(default_factory=set, init=False, repr=False)

    def schemas(self) -> list[FunctionSchema]:
        """The tools, with their handlers, for ``LLMContext(tools=...)``."""
        when = {
            "date": {"type": "string", "description": "Local date, YYYY-MM-DD."},
            "time": {"type": "string", "description": "Local time, 24-hour HH:MM."},
            "party_size": {"type": "integer", "description": "Number of guests."},
        }
        tools = [
            FunctionSchema(
                "check_availability",
                "Check whether a table is free for a party at a date and time. Returns nearby "
                "alternatives when it is not.",
                when,
                ["date", "time", "party_size"],
                handler=self.check_availability,
            ),
            FunctionSchema(
                "book_reservation",
                "Book a table. Only call this after reading the details back to the caller and "
                "hearing them say yes; set confirmed_by_caller to true then.",
                {
                    **when,
                    "name": {"type": "string", "description": "Whom the table is for."},
                    "phone": {
                        "type": "string",
                        "description": "Contact number if the caller gave another one.",
                    },
                    "notes": {"type": "string", "description": "Special requests."},
                    "confirmed_by_caller": {"type": "boolean"},
                },
                ["date", "time", "party_size", "name", "confirmed_by_caller"],
                handler=self.book_reservation,
            ),
            FunctionSchema(
                "find_reservation",
                "Find the caller's reservations: by booking code, or, without one, by the "
                "number they are calling from. A code that matches none but sounds like one "
                "booking's finds that booking, with a note.",
                {"code": {"type": "string", "description": "Booking code, if the caller has it."}},
                [],
                handler=self.find_reservation,
            ),
            FunctionSchema(
                "cancel_reservation",
                "Cancel a reservation by its booking code, after the caller confirmed which one.",
                {"code": {"type": "string", "description": "Booking code."}},
                ["code"],
                handler=self.cancel_reservation,
            ),
            FunctionSchema(
                "end_call",
                "Say a short goodbye and hang up, when the caller has nothing more to ask.",
                {"farewell": {"type": "string", "description": "Goodbye, in their language."}},
                ["farewell"],
                handler=self.end_call,
            ),
        ]
        if self.transfer is not None:
            tools.append(
                FunctionSchema(
                    "transfer_to_staff",
                    "Hand the call to a person at the restaurant: for large parties, events, "
                    "complaints, or when the caller asks for a person.",
                    {},
                    [],
                    handler=self.transfer_to_staff,
                )
            )
        return tools

    async def check_availability(self, params: FunctionCallParams) -> None:
        """Tool: is a table free?"""
        await self._answer(params, self._check(params.arguments))

    async def book_reservation(self, params: FunctionCallParams) -> None:
        """Tool: book a table, shielded so that an interruption cannot cut it in half."""
        task = asyncio.ensure_future(self._book(params.arguments))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        await self._answer(params, asyncio.shield(task))

    async def find_reservation(self, params: FunctionCallParams) -> None:
        """Tool: find the caller's reservations."""
        await self._answer(params, self._find(params.arguments))

    async def cancel_reservation(self, params: FunctionCallParams) -> None:
        """Tool: cancel a reservation by code."""
        await self._answer(params, self._cancel(params.arguments))

    async def end_call(self, params: FunctionCallParams) -> None:
        """Tool: say goodbye, then end the call once the goodbye has played."""
        farewell = str(params.arguments.get("farewell") or "").strip() or "Goodbye!"
        self.on_event("end_call", {"farewell": farewell})
        await params.result_callback(
            {"status": "ending"}, properties=FunctionCallResultProperties(run_llm=False)
        )
        await params.llm.push_frame(TTSSpeakFrame(farewell))
        await params.llm.push_frame(EndWorkerFrame(reason="goodbye"), FrameDirection.UPSTREAM)

    async def transfer_to_staff(self, params: FunctionCallParams) -> None:
        """Tool: hand the call to a person; once accepted, end the pipeline without a word.

        After an accepted transfer Plivo speaks its own notice and dials the staff, and our
        stream closes: the bot says nothing more, and the call is not hung up (see
        ``PlivoCallSerializer.keep_call_up``).
        """
        assert self.transfer is not None
        try:
            accepted = await self.transfer()
        except Exception:
            logger.bind(call=self.call_uuid).exception("transfer to staff failed")
            accepted = False
        if not accepted:
            result = {"status": "failed", "say": "Apologise: nobody can come to the phone now."}
            self.on_event("transfer_to_staff", result)
            await params.result_callback(result)
            return
        self.on_event("transfer_to_staff", {"status": "transferring"})
        await params.result_callback(
            {"status": "transferring"}, properties=FunctionCallResultProperties(run_llm=False)
        )
        await params.llm.push_frame(EndWorkerFrame(reason="transferred"), FrameDirection.UPSTREAM)

    async def drain(self) -> None:
        """Wait for bookings still committing (after the call ended mid-booking)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _answer(self, params: FunctionCallParams, work: Awaitable[dict[str, Any]]) -> None:
        try:
            result = await work
        except Exception as exc:
            logger.bind(call=self.call_uuid).exception("tool {} failed", params.function_name)
            result = {"status": "error", "error": type(exc).__name__, "say": APOLOGY}
        self.on_event(params.function_name, {"arguments": dict(params.arguments), "result": result})
        await params.result_callback(result)

    async def _check(self, arguments: dict[str, Any] | Any) -> dict[str, Any]:
        parsed = _slot(arguments)
        if isinstance(parsed, str):
            return {"status": "invalid", "error": parsed}
        starts_at, party = parsed
        answer = await self.bookings.availability(self._policy, starts_at, party)
        return {
            "available": answer.available,
            "reason": answer.reason.value,
            "message": describe(answer),
            "seats_left": answer.seats_left,
            "alternatives": [_spoken_slot(a) for a in answer.alternatives],
        }

    async def _book(self, arguments: dict[str, Any] | Any) -> dict[str, Any]:
        if arguments.get("confirmed_by_caller") is not True:
            return {
                "status": "not_booked",
                "error": "Read the details back and get the caller's yes before booking.",
            }
        parsed = _slot(arguments)
        if isinstance(parsed, str):
            return {"status": "invalid", "error": parsed}
        name = str(arguments.get("name") or "").strip()[:120]
        if not name:
            return {"status": "invalid", "error": "Ask for the name the table is under."}
        phone = try_normalise_phone(arguments.get("phone")) or self.caller_number
        request = BookingRequest(
            starts_at=parsed[0],
            party_size=parsed[1],
            customer_name=name,
            customer_phone=phone,
            notes=(str(arguments.get("notes") or "").strip()[:500] or None),
            source=ReservationSource.PHONE,
            call_id=self.call_uuid,
        )
        try:
            booked = await self.bookings.book(self._policy, request, actor=f"bot:{self.call_uuid}")
        except BookingRejectedError as exc:
            alternatives = await self._check(arguments)
            return {
                "status": "not_booked",
                "reason": exc.code,
                "message": exc.message,
                "alternatives": alternatives.get("alternatives", []),
            }
        return {**_spoken_reservation(booked), "status": "booked"}

    async def _find(self, arguments: dict[str, Any] | Any) -> dict[str, Any]:
        code = str(arguments.get("code") or "").strip()
        if code:
            found = await self.bookings.find_by_code(self.business.slug, code)
            if found is None:
                near = await self.bookings.find_near_code(
                    self.business.slug, code, upcoming_from=self._start_of_today()
                )
                if near is not None:
                    return {
                        "found": 1,
                        "reservations": [_spoken_reservation(near)],
                        "heard_code": normalise(code),
                        "note": NEAR_CODE_NOTE,
                    }
            matches = [found] if found is not None else []
        elif self.caller_number is not None:
            matches = await self.bookings.find_by_phone(
                self.business.slug, self.caller_number, upcoming_from=self._start_of_today()
            )
        else:
            return {"status": "need_code", "error": "The number is withheld; ask for the code."}
        return {"found": len(matches), "reservations": [_spoken_reservation(r) for r in matches]}

    async def _cancel(self, arguments: dict[str, Any] | Any) -> dict[str, Any]:
        code = str(arguments.get("code") or "").strip()
        found = await self.bookings.find_by_code(self.business.slug, code) if code else None
        if found is None:
            return {"status": "not_found", "error": f"No reservation has the code {code!r}."}
        try:
            cancelled = await self.bookings.cancel(
                self.business.slug, found.id, actor=f"bot:{self.call_uuid}"
            )
        except (BookingRejectedError, NotFoundError) as exc:
            return {"status": "not_cancelled", "error": exc.message}
        return {**_spoken_reservation(cancelled), "status": "cancelled"}

    def _start_of_today(self) -> dt.datetime:
        """Midnight at the business: look-ups find bookings from today on."""
        now = self._policy.local_now(self.clock())
        return now.replace(hour=0, minute=0, second=0, microsecond=0)

    @property
    def _policy(self) -> Any:
        return self.business.booking_policy()


def _slot(arguments: dict[str, Any] | Any) -> tuple[dt.datetime, int] | str:
    """The start and party size from tool arguments, or what to ask the caller again."""
    try:
        day = dt.date.fromisoformat(str(arguments.get("date", "")))
    except ValueError:
        return "The date must be YYYY-MM-DD; ask the caller which day."
    try:
        moment = dt.time.fromisoformat(str(arguments.get("time", "")))
    except ValueError:
        return "The time must be HH:MM (24-hour); ask the caller what time."
    try:
        party = int(arguments.get("party_size", ""))
    except (TypeError, ValueError):
        return "Ask the caller how many guests."
    return dt.datetime.combine(day, moment.replace(second=0, microsecond=0)), party


def _spoken_slot(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M (%A)")


def _spoken_reservation(reservation: Reservation) -> dict[str, Any]:
    code = reservation.code
    return {
        "code": code,
        "code_spelled": " ".join(code),
        "name": reservation.customer_name,
        "party_size": reservation.party_size,
        "when": _spoken_slot(reservation.starts_at),
        "status": ReservationStatus(reservation.status).value,
    }
