import asyncio
import json
from typing import Any

from sqlalchemy import select

from store.calls import get_call
from store.db import Database
from store.models import CallLog, CallOutcome, Reservation, ReservationSource
from tests.e2e.conftest import CALLER, next_open_evening
from tests.fakes.groq_script import Reply, ToolCall

DAY = next_open_evening().isoformat()


async def finished_record(database: Database, call_uuid: str) -> CallLog:
    """The call's log once the call's runner has written it."""
    async with asyncio.timeout(10):
        while True:
            record = await get_call(database, call_uuid)
            if record is not None and record.outcome is not CallOutcome.IN_PROGRESS:
                return record
            await asyncio.sleep(0.05)


def booking_conversation(body: dict[str, Any]) -> Reply:
    """The LLM's side of a booking: check, read back, book after the yes, say goodbye."""
    messages = body["messages"]
    users = [m for m in messages if m["role"] == "user"]
    last = messages[-1]
    if last["role"] == "tool":
        result = json.loads(last["content"])
        if "available" in result:
            return Reply("A table for four tomorrow at eight is free. Shall I book it for Ravi?")
        return Reply(f"Done! Your booking code is {' '.join(result['code'])}. Anything else?")
    if len(users) == 1:
        return Reply.call("check_availability", date=DAY, time="20:00", party_size=4)
    if len(users) == 2:
        details = {"date": DAY, "time": "20:00", "party_size": 4, "name": "Ravi"}
        return Reply(
            tool_calls=(ToolCall("book_reservation", details | {"confirmed_by_caller": True}),)
        )
    return Reply.call("end_call", farewell="Thank you for calling Himalayan Kitchen. Goodbye!")


async def test_full_call_books_a_table_and_hangs_up_after_the_goodbye(phone):
    said: list[str] = []

    def transcript(_index: int, _audio: bytes) -> str:
        # What the caller said this turn; a turn the recogniser splits in two is heard once.
        return said.pop(0) if said else ""

    line = await phone(transcript, booking_conversation)
    lines = {
        "book_table": "I would like to book a table for four tomorrow at eight pm",
        "yes_right": "Yes that's right",
        "thank_you_bye": "Thank you bye",
    }
    async with line.caller() as caller:
        await caller.start()
        async with asyncio.timeout(10):
            await caller.wait_for_bot_audio()  # the greeting
        for name, text in lines.items():
            await caller.wait_until_bot_quiet()
            said.append(text)
            turn = await caller.say_utterance(name)
            async with asyncio.timeout(15):
                await caller.wait_for_reply(turn)
        async with asyncio.timeout(20):
            await caller.wait_closed()
            while caller.hangup_result is None:  # Plivo reports the hang-up it was asked for
                await asyncio.sleep(0.05)
        record = await finished_record(line.database, caller.call_uuid)

    # The booking is in the database, made by phone, with the caller's number.
    async with line.database.read() as session:
        reservations = (await session.scalars(select(Reservation))).all()
    assert len(reservations) == 1
    booked = reservations[0]
    assert (booked.party_size, booked.customer_name) == (4, "Ravi")
    assert booked.starts_at.isoformat() == f"{DAY}T20:00:00"
    assert booked.source is ReservationSource.PHONE
    assert booked.customer_phone == f"+{CALLER}" and booked.call_id == caller.call_uuid

    # The goodbye was played in full before Plivo was asked to hang up.
    assert len(line.plivo.hangups(caller.call_uuid)) == 1
    assert not caller.truncated_secs
    assert "Goodbye" in " ".join(line.tts.texts)

    # The caller's audio reached Deepgram at Plivo's 8 kHz, as sent: nothing resampled it; and
    # Deepgram's own endpointing waits past the VAD's stop, whose Finalize ends each turn.
    query = line.stt.connections[0].query
    assert (query["sample_rate"], query["endpointing"]) == ("8000", "500")
    assert {u.finalized_by for u in line.stt.utterances} == {"finalize"}

    # The LLM saw the business's prompt and the tools.
    first = line.llm.requests[0]
    assert "Himalayan Kitchen" in first.messages[0]["content"]
    assert {"check_availability", "book_reservation", "end_call"} <= set(first.tool_names)

    # The call is on record.
    assert record.outcome is CallOutcome.BOOKED
    assert record.hangup_cause
    assert record.caller_number is None
    roles = [turn["role"] for turn in record.transcript]
    assert roles.count("user") == 3 and "bot" in roles
    assert [call["name"] for call in record.tool_calls] == [
        "check_availability",
        "book_reservation",
        "end_call",
    ]
    assert len(record.turn_latencies) >= 3
    print("turn latencies (ms):", [t["ms"] for t in record.turn_latencies])
    print("caller-measured latencies (s):", [t.latency for t in caller.turns])
