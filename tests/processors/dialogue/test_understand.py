import datetime as dt
from typing import Any

import pytest

from processors.dialogue.understand import Intent, understand

# Thursday 3 December 2026 (18:00 in Kolkata): the caller's "today".
TODAY = dt.date(2026, 12, 3)
D = dt.date
T = dt.time

SLOTS: list[tuple[str, str | None, dict[str, Any]]] = [
    # party size
    ("for four", None, {"party_size": 4}),
    ("four people", None, {"party_size": 4}),
    ("a table for 2", None, {"party_size": 2}),
    ("table for twenty five", None, {"party_size": 25}),
    # "for two" and "for four" as a speech recogniser may hear them
    ("a table for to tomorrow at 1 pm", None, {"party_size": 2}),
    ("table for too people", None, {"party_size": 2}),
    ("a table for for on saturday", None, {"party_size": 4}),
    ("table for free today at eight pm", None, {"party_size": 3}),
    ("to people", "party", {"party_size": 2}),
    ("I want to book for four people", None, {"party_size": 4}),
    ("is there a table free today", None, {"party_size": None}),
    ("I'd like to go for to see it", None, {"party_size": None}),
    ("char log", None, {"party_size": 4}),
    ("hum paanch", None, {"party_size": 5}),
    ("hum paanch log hain", None, {"party_size": 5}),
    ("do log", None, {"party_size": 2}),
    ("6 people", None, {"party_size": 6}),
    ("a couple of us", None, {"party_size": 2}),
    ("just me", None, {"party_size": 1}),
    ("we are 3", None, {"party_size": 3}),
    ("हम पाँच लोग", None, {"party_size": 5}),
    ("5", "party", {"party_size": 5, "number": None}),
    # dates
    ("today", None, {"date": D(2026, 12, 3)}),
    ("tonight", None, {"date": D(2026, 12, 3)}),
    ("tomorrow", None, {"date": D(2026, 12, 4)}),
    ("day after tomorrow", None, {"date": D(2026, 12, 5)}),
    ("on Friday", None, {"date": D(2026, 12, 4)}),
    ("this Friday", None, {"date": D(2026, 12, 4)}),
    ("next Friday", None, {"date": D(2026, 12, 11)}),
    ("next Monday", None, {"date": D(2026, 12, 7)}),
    ("Thursday", None, {"date": D(2026, 12, 3)}),
    ("the 15th", None, {"date": D(2026, 12, 15)}),
    ("on the second", None, {"date": D(2027, 1, 2)}),
    ("15th December", None, {"date": D(2026, 12, 15)}),
    ("December 15", None, {"date": D(2026, 12, 15)}),
    ("the first of January", None, {"date": D(2027, 1, 1)}),
    ("aaj", None, {"date": D(2026, 12, 3)}),
    ("kal", None, {"date": D(2026, 12, 4)}),
    ("parson", None, {"date": D(2026, 12, 5)}),
    ("agle shukravaar", None, {"date": D(2026, 12, 11)}),
    ("शनिवार को", None, {"date": D(2026, 12, 5)}),
    ("15 tareekh", None, {"date": D(2026, 12, 15)}),
    ("20", "date", {"date": D(2026, 12, 20)}),
    # times
    ("seven pm", None, {"time": T(19, 0)}),
    ("7 pm", None, {"time": T(19, 0)}),
    ("7pm", None, {"time": T(19, 0)}),
    ("7 p.m.", None, {"time": T(19, 0)}),
    ("7:30", None, {"time": T(19, 30)}),
    ("19:30", None, {"time": T(19, 30)}),
    ("half past eight", None, {"time": T(20, 30)}),
    ("quarter past seven", None, {"time": T(19, 15)}),
    ("quarter to nine", None, {"time": T(20, 45)}),
    ("eight thirty", None, {"time": T(20, 30)}),
    ("noon", None, {"time": T(12, 0)}),
    ("at 1 in the afternoon", None, {"time": T(13, 0)}),
    ("11 in the morning", None, {"time": T(11, 0)}),
    ("eight o'clock", None, {"time": T(20, 0)}),
    ("saat baje", None, {"time": T(19, 0)}),
    ("shaam saat baje", None, {"time": T(19, 0)}),
    ("subah das baje", None, {"time": T(10, 0)}),
    ("sava saat", None, {"time": T(19, 15)}),
    ("saadhe saat", None, {"time": T(19, 30)}),
    ("dhai baje", None, {"time": T(14, 30)}),
    ("paune aath", None, {"time": T(19, 45)}),
    ("साढ़े सात बजे", None, {"time": T(19, 30)}),
    ("8", "time", {"time": T(20, 0), "number": None}),
    # several at once
    (
        "a table for four tomorrow at 7:30 pm",
        None,
        {"party_size": 4, "date": D(2026, 12, 4), "time": T(19, 30)},
    ),
    (
        "kal shaam saat baje char log",
        None,
        {"party_size": 4, "date": D(2026, 12, 4), "time": T(19, 0)},
    ),
    (
        "हम पाँच लोग कल शाम सात बजे",
        None,
        {"party_size": 5, "date": D(2026, 12, 4), "time": T(19, 0)},
    ),
    ("at 7 for 4 people", None, {"party_size": 4, "time": T(19, 0)}),
    ("friday at 7, no sorry, 8 pm", None, {"date": D(2026, 12, 4), "time": T(20, 0)}),
    # a word starting "th" after the number is not an ordinal suffix ("8th")
    ("tuesday at 8 then", None, {"date": D(2026, 12, 8), "time": T(20, 0), "number": None}),
    ("a table for 2 at 8 this evening", None, {"party_size": 2, "time": T(20, 0)}),
    ("book for 4 thursday", None, {"party_size": 4, "date": D(2026, 12, 3)}),
    ("at 8th", None, {"date": D(2026, 12, 8), "time": None}),
    # names
    ("my name is Priya", None, {"name": "Priya"}),
    ("it's under Rahul", None, {"name": "Rahul"}),
    ("under the name Rahul Verma", None, {"name": "Rahul Verma"}),
    ("naam Amit hai", None, {"name": "Amit"}),
    ("mera naam Amit Kumar hai", None, {"name": "Amit Kumar"}),
    ("this is Neha", None, {"name": "Neha"}),
    ("Amit ke naam se", None, {"name": "Amit"}),
    ("Priya", "name", {"name": "Priya"}),
    ("it's Priya Sharma", "name", {"name": "Priya Sharma"}),
    ("I am looking for a table", None, {"name": None}),
    ("this is for tomorrow", None, {"name": None}),
    ("yes", "name", {"name": None}),
    # codes and phone numbers
    ("my code is K 7 Q D", None, {"code": "K7QD"}),
    ("cancel booking K7QD", None, {"code": "K7QD"}),
    ("k seven q d", "code", {"code": "K7QD"}),
    ("ACEFHJ", "code", {"code": "ACEFHJ"}),
    ("98110 45213", None, {"phone": "+919811045213"}),
    ("my number is +91 98110 45213", None, {"phone": "+919811045213"}),
    ("nine eight one one zero four five two one three", "phone", {"phone": "+919811045213"}),
    # a digit the recogniser wrote as a word that sounds like it, between two digits
    ("it's nine h seven six five for three two one zero", "phone", {"phone": "+919876543210"}),
    ("nine eight one one oh four five to one three", None, {"phone": "+919811045213"}),
    ("a table for 2 to 3 people", None, {"phone": None, "party_size": 3}),
    # choices
    ("the first one", "choice", {"choice": 0}),
    ("second", "choice", {"choice": 1, "date": None}),
    ("the last one", None, {"choice": -1}),
    ("pehla wala", "choice", {"choice": 0}),
    # leftovers
    ("no, make it five", None, {"number": 5, "party_size": None}),
]


@pytest.mark.parametrize(("text", "expecting", "expected"), SLOTS)
def test_understand_reads_slots(text: str, expecting: Any, expected: dict[str, Any]) -> None:
    utterance = understand(text, TODAY, expecting)
    assert {key: getattr(utterance, key) for key in expected} == expected


INTENTS: list[tuple[str, set[Intent]]] = [
    ("I'd like to book a table", {Intent.BOOK}),
    ("can I reserve a table for tonight", {Intent.BOOK}),
    ("mujhe table book karni hai", {Intent.BOOK}),
    ("do you have a table free on Friday", {Intent.BOOK, Intent.CHECK}),
    ("is there availability tomorrow", {Intent.CHECK}),
    ("jagah hai kya", {Intent.CHECK}),
    ("can you check my booking", {Intent.FIND}),
    ("I want to find my reservation", {Intent.FIND}),
    ("meri booking dekh lijiye", {Intent.FIND}),
    ("I want to cancel my booking", {Intent.CANCEL}),
    ("booking cancel karni hai", {Intent.CANCEL}),
    ("what time do you open", {Intent.HOURS}),
    ("aap kab khulte hain", {Intent.HOURS}),
    ("where are you located", {Intent.ADDRESS}),
    ("bye", {Intent.GOODBYE}),
    ("that's all", {Intent.GOODBYE}),
    ("nahi bas", {Intent.GOODBYE, Intent.NO}),
    ("dhanyavaad", {Intent.GOODBYE}),
    ("धन्यवाद", {Intent.GOODBYE}),
    ("no, thank you", {Intent.GOODBYE, Intent.NO, Intent.THANKS}),
    ("can I speak to a person", {Intent.TRANSFER}),
    ("manager se baat karwa dijiye", {Intent.TRANSFER}),
    ("yes", {Intent.YES}),
    ("yeah", {Intent.YES}),
    ("correct", {Intent.YES}),
    ("haan", {Intent.YES}),
    ("ji", {Intent.YES}),
    ("theek hai", {Intent.YES}),
    ("हाँ जी", {Intent.YES}),
    ("no", {Intent.NO}),
    ("nahi", {Intent.NO}),
    ("galat", {Intent.NO}),
    ("नहीं", {Intent.NO}),
    ("sorry, can you repeat that", {Intent.REPEAT}),
    ("actually 8 pm", {Intent.CORRECTION}),
    ("hello", {Intent.GREETING}),
    ("who is this?", {Intent.WHO}),
    ("aap kaun bol rahi hain", {Intent.WHO}),
]


@pytest.mark.parametrize(("text", "expected"), INTENTS)
def test_understand_reads_intents(text: str, expected: set[Intent]) -> None:
    assert expected <= understand(text, TODAY).intents


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("cancel my booking", Intent.BOOK),
        ("yes", Intent.NO),
        ("no", Intent.YES),
        ("what time would you like", Intent.HOURS),
        ("Priya ji", Intent.YES),
        ("book a table for my family", Intent.FIND),
    ],
)
def test_understand_does_not_read_intents_that_are_not_there(text: str, intent: Intent) -> None:
    assert intent not in understand(text, TODAY).intents


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("a table for four tomorrow please", "en"),
        ("kal ke liye table book karni hai", "hi"),
        ("char log", "hi"),
        ("हम पाँच लोग", "hi"),
        ("haan", "hi"),
        ("7 pm", None),
        ("Priya", None),
        ("ok", None),
    ],
)
def test_understand_tells_the_language(text: str, language: str | None) -> None:
    assert understand(text, TODAY).language == language


def test_understand_takes_the_last_mention_as_the_correction() -> None:
    utterance = understand("saturday, no wait, sunday at 8 for 3, actually 4 people", TODAY)
    assert (utterance.date, utterance.time, utterance.party_size) == (D(2026, 12, 6), T(20, 0), 4)


def test_understand_keeps_the_original_text() -> None:
    assert understand("  Table for TWO  ", TODAY).text == "  Table for TWO  "


def test_understand_survives_empty_and_odd_input() -> None:
    for text in ["", "   ", "!!!", "😀", "_", ":", "+", "- -", "99999999999999999999", "ॐ"]:
        understand(text, TODAY)
