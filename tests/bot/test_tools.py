import asyncio
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pipecat.frames.frames import EndWorkerFrame, TTSSpeakFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import FunctionCallParams

from bot.config import load_businesses
from bot.tools import CallTools
from store.booking import Bookings
from store.db import Database
from store.migrate import upgrade
from store.models import ReservationStatus

ROOT = Path(__file__).resolve().parents[2]
# Tuesday 1 December 2026, 10:00 in Kolkata; Himalayan Kitchen opens Tuesday to Sunday.
NOW = dt.datetime(2026, 12, 1, 4, 30, tzinfo=dt.UTC)
CALLER = "+919876543210"


class FakeLLM:
    """Stands in for the LLM service: records the frames a tool pushes."""

    def __init__(self) -> None:
        self.pushed: list[tuple[Any, FrameDirection]] = []

    async def push_frame(self, frame: Any, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        self.pushed.append((frame, direction))


async def call(tool: Any, **arguments: Any) -> tuple[Any, FakeLLM]:
    results: list[Any] = []
    llm = FakeLLM()

    async def callback(result: Any, properties: Any = None) -> None:
        results.append(result)

    params = FunctionCallParams(
        function_name=tool.__name__,
        tool_call_id="tool-1",
        arguments=arguments,
        llm=llm,  # type: ignore[arg-type]
        pipeline_worker=None,  # type: ignore[arg-type]
        context=None,  # type: ignore[arg-type]
        result_callback=callback,
    )
    await tool(params)
    assert len(results) == 1
    return results[0], llm


@pytest.fixture
async def tools(tmp_path: Path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'tools.db'}")
    await upgrade(db)
    business = load_businesses(ROOT / "bots.yaml").by_slug("himalayan-kitchen")
    assert business is not None
    events: list[tuple[str, dict[str, Any]]] = []
    yield CallTools(
        business=business,
        bookings=Bookings(db, clock=lambda: NOW),
        call_uuid="call-1",
        caller_number=CALLER,
        on_event=lambda name, data: events.append((name, data)),
        clock=lambda: NOW,
    )
    await db.close()


WEDNESDAY = {"date": "2026-12-02", "time": "19:30"}


async def test_check_availability_answers_with_alternatives(tools: CallTools):
    result, _ = await call(tools.check_availability, party_size=4, **WEDNESDAY)
    assert result["available"] is True and result["seats_left"] == 48

    closed, _ = await call(tools.check_availability, party_size=4, date="2026-12-07", time="19:30")
    assert closed["available"] is False and closed["reason"] == "closed"
    assert closed["alternatives"][0].startswith("2026-12-08 19:30")


async def test_book_needs_confirmation_then_books_with_caller_number(tools: CallTools):
    refused, _ = await call(
        tools.book_reservation, party_size=4, name="Ravi", confirmed_by_caller=False, **WEDNESDAY
    )
    assert refused["status"] == "not_booked"

    booked, _ = await call(
        tools.book_reservation, party_size=4, name="Ravi", confirmed_by_caller=True, **WEDNESDAY
    )
    assert booked["status"] == "booked"
    assert booked["code_spelled"] == " ".join(booked["code"])
    stored = await tools.bookings.find_by_code("himalayan-kitchen", booked["code"])
    assert stored is not None
    assert stored.customer_phone == CALLER and stored.call_id == "call-1"
    assert stored.source.value == "phone"


async def test_book_full_slot_offers_alternatives(tools: CallTools):
    for _ in range(4):
        await call(
            tools.book_reservation, party_size=12, name="Big", confirmed_by_caller=True, **WEDNESDAY
        )
    result, _ = await call(
        tools.book_reservation, party_size=2, name="Ravi", confirmed_by_caller=True, **WEDNESDAY
    )
    assert result["status"] == "not_booked" and result["reason"] == "full"
    assert result["alternatives"]


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"date": "tomorrow", "time": "19:30", "party_size": 2}, "YYYY-MM-DD"),
        ({"date": "2026-12-02", "time": "7pm", "party_size": 2}, "HH:MM"),
        ({"date": "2026-12-02", "time": "19:30", "party_size": "a few"}, "how many"),
    ],
)
async def test_bad_arguments_ask_again(tools: CallTools, arguments, fragment):
    result, _ = await call(tools.check_availability, **arguments)
    assert result["status"] == "invalid" and fragment in result["error"]


async def test_find_by_code_or_caller_number_and_cancel(tools: CallTools):
    booked, _ = await call(
        tools.book_reservation, party_size=2, name="Ravi", confirmed_by_caller=True, **WEDNESDAY
    )
    by_phone, _ = await call(tools.find_reservation)
    assert by_phone["found"] == 1 and by_phone["reservations"][0]["code"] == booked["code"]
    by_code, _ = await call(tools.find_reservation, code=" ".join(booked["code"].lower()))
    assert by_code["found"] == 1

    cancelled, _ = await call(tools.cancel_reservation, code=booked["code"])
    assert cancelled["status"] == "cancelled"
    stored = await tools.bookings.find_by_code("himalayan-kitchen", booked["code"])
    assert stored is not None and stored.status is ReservationStatus.CANCELLED
    missing, _ = await call(tools.cancel_reservation, code="ZZZZZZ")
    assert missing["status"] == "not_found"


async def test_a_misheard_code_finds_the_booking_it_sounds_like_but_cannot_cancel(
    tools: CallTools,
):
    booked, _ = await call(
        tools.book_reservation, party_size=2, name="Ravi", confirmed_by_caller=True, **WEDNESDAY
    )
    heard = booked["code"][:-1]  # the recogniser swallowed the last symbol

    found, _ = await call(tools.find_reservation, code=heard.lower())

    assert found["found"] == 1 and found["reservations"][0]["code"] == booked["code"]
    assert found["heard_code"] == heard
    assert "Read its code back" in found["note"]
    # Cancelling takes the exact code: the caller has to have heard it read back.
    refused, _ = await call(tools.cancel_reservation, code=heard)
    assert refused["status"] == "not_found"
    nothing, _ = await call(tools.find_reservation, code="ZZZZZZ")
    assert nothing == {"found": 0, "reservations": []}


async def test_store_failure_becomes_an_apology(tools: CallTools, monkeypatch):
    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise ConnectionError("database gone")

    monkeypatch.setattr(tools.bookings, "availability", broken)
    result, _ = await call(tools.check_availability, party_size=2, **WEDNESDAY)
    assert result["status"] == "error" and "Apologise" in result["say"]


async def test_end_call_speaks_farewell_then_ends(tools: CallTools):
    result, llm = await call(tools.end_call, farewell="Dhanyavaad, phir milenge!")
    assert result == {"status": "ending"}
    (spoken, down), (ended, up) = llm.pushed
    assert isinstance(spoken, TTSSpeakFrame) and spoken.text == "Dhanyavaad, phir milenge!"
    assert down is FrameDirection.DOWNSTREAM
    assert isinstance(ended, EndWorkerFrame) and up is FrameDirection.UPSTREAM


async def test_booking_survives_interruption(tools: CallTools):
    """Cancelling the tool call mid-booking neither loses nor half-makes the booking."""
    results: list[Any] = []

    async def callback(result: Any, properties: Any = None) -> None:
        results.append(result)

    params = FunctionCallParams(
        function_name="book_reservation",
        tool_call_id="tool-2",
        arguments={"party_size": 3, "name": "Asha", "confirmed_by_caller": True, **WEDNESDAY},
        llm=FakeLLM(),  # type: ignore[arg-type]
        pipeline_worker=None,  # type: ignore[arg-type]
        context=None,  # type: ignore[arg-type]
        result_callback=callback,
    )
    handler = asyncio.create_task(tools.book_reservation(params))
    await asyncio.sleep(0)  # the booking has started
    handler.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handler
    await tools.drain()
    found, _ = await call(tools.find_reservation)
    assert found["found"] == 1
    assert found["reservations"][0]["name"] == "Asha"


def with_transfer(tools: CallTools, answer: Any) -> tuple[CallTools, list[tuple[str, Any]]]:
    events: list[tuple[str, Any]] = []

    async def transfer() -> bool:
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    tools = dataclasses.replace(
        tools, transfer=transfer, on_event=lambda name, data: events.append((name, data))
    )
    return tools, events


async def transfer_call(tools: CallTools) -> tuple[Any, Any, FakeLLM]:
    calls: list[tuple[Any, Any]] = []
    llm = FakeLLM()

    async def callback(result: Any, properties: Any = None) -> None:
        calls.append((result, properties))

    params = FunctionCallParams(
        function_name="transfer_to_staff",
        tool_call_id="tool-3",
        arguments={},
        llm=llm,  # type: ignore[arg-type]
        pipeline_worker=None,  # type: ignore[arg-type]
        context=None,  # type: ignore[arg-type]
        result_callback=callback,
    )
    await tools.transfer_to_staff(params)
    [(result, properties)] = calls
    return result, properties, llm


async def test_transfer_tool_is_offered_only_with_a_transfer(tools: CallTools):
    assert "transfer_to_staff" not in [s.name for s in tools.schemas()]
    offered, _ = with_transfer(tools, True)
    assert "transfer_to_staff" in [s.name for s in offered.schemas()]


async def test_accepted_transfer_ends_the_pipeline_without_another_word(tools: CallTools):
    tools, events = with_transfer(tools, True)
    result, properties, llm = await transfer_call(tools)
    assert result == {"status": "transferring"}
    assert properties is not None and properties.run_llm is False
    [(ended, direction)] = llm.pushed
    assert isinstance(ended, EndWorkerFrame) and direction is FrameDirection.UPSTREAM
    assert events == [("transfer_to_staff", {"status": "transferring"})]


@pytest.mark.parametrize("answer", [False, RuntimeError("no network")])
async def test_failed_transfer_lets_the_bot_apologise(tools: CallTools, answer: Any):
    tools, events = with_transfer(tools, answer)
    result, properties, llm = await transfer_call(tools)
    assert result["status"] == "failed" and "Apologise" in result["say"]
    assert properties is None  # the LLM runs again, to apologise
    assert llm.pushed == []
    assert [(name, data["status"]) for name, data in events] == [("transfer_to_staff", "failed")]
