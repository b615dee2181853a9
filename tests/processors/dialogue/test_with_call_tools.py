"""The dialogue service driving the real reservation tools against a real SQLite store."""

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.processors.aggregators.llm_context import LLMContext

from bot.config import load_businesses
from bot.tools import CallTools
from processors.dialogue import DialogueFacts, DialogueLLMService, spoken_hours
from store.booking import Bookings
from store.db import Database
from store.migrate import upgrade
from store.models import ReservationStatus
from tests.processors.dialogue.pipeline import Conversation, user

ROOT = Path(__file__).resolve().parents[3]
NOW = dt.datetime(2026, 12, 3, 12, 30, tzinfo=dt.UTC)  # Thursday 3 December, 18:00 in Delhi
CALLER = "+919876543210"


@pytest.fixture
async def tools(tmp_path: Path) -> AsyncIterator[CallTools]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'dialogue.db'}")
    await upgrade(db)
    business = load_businesses(ROOT / "bots.yaml").by_slug("himalayan-kitchen")
    assert business is not None
    yield CallTools(
        business=business,
        bookings=Bookings(db, clock=lambda: NOW),
        call_uuid="call-dialogue",
        caller_number=CALLER,
        clock=lambda: NOW,
    )
    await db.close()


def engine(tools: CallTools) -> tuple[DialogueLLMService, LLMContext]:
    """The service and context wired as ``bot/call.py`` would wire them."""
    business = tools.business
    facts = DialogueFacts(
        business_name=business.name,
        timezone=business.timezone,
        hours=spoken_hours(business.booking_policy().weekly_hours),
        address=business.address,
        max_party_size=business.reservations.max_party_size,
        min_party_size=business.reservations.min_party_size,
        languages=tuple(business.languages),
        can_transfer=tools.transfer is not None,
        caller_number_known=tools.caller_number is not None,
    )
    llm = DialogueLLMService(facts, clock=lambda: NOW, language="en")
    return llm, LLMContext(tools=ToolsSchema(standard_tools=tools.schemas()))


async def test_dialogue_books_and_cancels_through_the_real_tools(tools: CallTools) -> None:
    llm, context = engine(tools)
    codes: list[str] = []

    async def script(call: Conversation) -> None:
        # Monday is closed at Himalayan Kitchen: the store offers Tuesday instead.
        await call.say("A table for four on Monday at 7:30 pm", until="Would one of those work?")
        await call.say("the first one", until="May I have your name")
        await call.say("Priya", until="Shall I book it?")
        await call.say("yes", until="Your booking code is")
        booked = await tools.bookings.find_by_phone(
            "himalayan-kitchen", CALLER, upcoming_from=dt.datetime(2026, 12, 3)
        )
        codes.extend(r.code for r in booked)
        await call.say("I want to cancel my booking", until="Shall I cancel it?")
        await call.say("yes please", until="is cancelled")
        await call.worker.queue_frame(user("that's all, thank you"))

    await Conversation(llm, context).run(script)

    assert len(codes) == 1
    stored = await tools.bookings.find_by_code("himalayan-kitchen", codes[0])
    assert stored is not None
    assert (stored.customer_name, stored.party_size) == ("Priya", 4)
    assert stored.starts_at == dt.datetime(2026, 12, 8, 19, 30)
    assert stored.status == ReservationStatus.CANCELLED
    assert llm.manager.ended


async def test_dialogue_answers_hours_from_the_configuration(tools: CallTools) -> None:
    llm, context = engine(tools)
    said: list[str] = []

    async def script(call: Conversation) -> None:
        await call.say("what are your opening hours?", until="Would you like to book a table?")
        said.append(call.capture.text())
        await call.worker.queue_frame(user("no, bye"))

    await Conversation(llm, context).run(script)
    assert said == [
        "We're open Tuesday to Thursday, 12 noon to 3:30 pm and 7 pm to 11 pm; Friday, 12 noon "
        "to 3:30 pm and 7 pm to 12:30 am; Saturday, 12 noon to 4 pm and 7 pm to 12:30 am; "
        "Sunday, 12 noon to 4 pm and 7 pm to 11 pm; closed on Monday. Would you like to book a "
        "table?"
    ]
