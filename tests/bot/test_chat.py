"""``python -m bot chat``: typed conversations with the bot, on the local dialogue engine."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from pathlib import Path

from bot.chat import chat
from bot.config import Settings, load_businesses
from bot.console import CallOptions, Transcript
from tests.bot.test_cli import ROOT, run_bot


def open_weekday() -> str:
    """A weekday three or four days ahead on which both shipped businesses open at 8 pm."""
    day = dt.date.today() + dt.timedelta(days=3)
    if day.weekday() == 0:  # Mondays are closed
        day += dt.timedelta(days=1)
    return day.strftime("%A").lower()


def booking_lines() -> str:
    return (
        f"I'd like a table for 4 on {open_weekday()} at 8 pm\n"
        "my name is Ravi\n"
        "yes please\n"
        "thank you, bye\n"
    )


def reservations(database: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT customer_name, party_size, lower(status) FROM reservations"
        ).fetchall()
    return [tuple(row) for row in rows]


async def test_a_typed_booking_reaches_the_store_and_the_transcript(tmp_path: Path):
    settings = Settings(_env_file=None, bots_path=ROOT / "bots.yaml", groq_api_key=None)
    business = load_businesses(settings.bots_path).by_slug("dakshin-dosa-house")
    assert business is not None
    database = tmp_path / "chat.db"
    options = CallOptions(business, "en", "+919876543210", f"sqlite+aiosqlite:///{database}")
    out = io.StringIO()

    status = await chat(options, settings, io.StringIO(booking_lines()), Transcript(out))

    assert status == 0
    text = out.getvalue()
    assert "bot> " + business.greeting_for("en") in text
    assert "[tool] check_availability(" in text
    assert "[tool] book_reservation(" in text and "party_size=4" in text
    assert "(the bot ended the call)" in text
    assert "(call outcome: booked)" in text
    assert reservations(database) == [("Ravi", 4, "confirmed")]


def test_chat_command_reads_piped_lines(tmp_path: Path):
    database = tmp_path / "chat.db"
    result = run_bot(
        "chat",
        "--business",
        "himalayan-kitchen",
        "--language",
        "en",
        "--phone",
        "98765 43210",
        "--database",
        f"sqlite+aiosqlite:///{database}",
        cwd=tmp_path,
        BOTS_PATH=str(ROOT / "bots.yaml"),
        GROQ_API_KEY="",
        input=booking_lines(),
    )
    assert result.returncode == 0, result.stderr
    assert "you> my name is Ravi" in result.stdout
    assert "Your table is booked" in result.stdout
    assert reservations(database) == [("Ravi", 4, "confirmed")]


def test_end_of_input_hangs_up_without_booking(tmp_path: Path):
    database = tmp_path / "chat.db"
    result = run_bot(
        "chat",
        "--database",
        f"sqlite+aiosqlite:///{database}",
        cwd=tmp_path,
        BOTS_PATH=str(ROOT / "bots.yaml"),
        GROQ_API_KEY="",
        input="what are your timings?\n",
    )
    assert result.returncode == 0, result.stderr
    assert "(you hung up)" in result.stdout
    assert reservations(database) == []


def test_unknown_business_and_bad_phone_are_named(tmp_path: Path):
    bots = str(ROOT / "bots.yaml")
    unknown = run_bot("chat", "--business", "nowhere", cwd=tmp_path, input="", BOTS_PATH=bots)
    assert unknown.returncode == 2
    assert "--business: no business 'nowhere'" in unknown.stderr
    assert "dakshin-dosa-house" in unknown.stderr

    bad_phone = run_bot("chat", "--phone", "12", cwd=tmp_path, input="", BOTS_PATH=bots)
    assert bad_phone.returncode == 2
    assert "--phone:" in bad_phone.stderr

    unknown_language = run_bot("chat", "--language", "ta", cwd=tmp_path, input="", BOTS_PATH=bots)
    assert unknown_language.returncode == 2
    assert "--language: invalid choice: 'ta'" in unknown_language.stderr
