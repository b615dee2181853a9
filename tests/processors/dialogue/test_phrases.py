import datetime as dt
import string

import pytest

from processors.dialogue.hours import spoken_hours
from processors.dialogue.phrases import (
    PHRASES,
    phrase,
    spoken_code,
    spoken_date,
    spoken_option,
    spoken_slot,
    spoken_time,
)
from processors.dialogue.replies import parse_slot, tool_result
from store.policy import OpeningWindow

T = dt.time
TODAY = dt.date(2026, 12, 3)


@pytest.mark.parametrize(
    ("moment", "english", "hindi"),
    [
        (T(19, 30), "7:30 pm", "shaam 7:30 baje"),
        (T(20, 0), "8 pm", "raat 8 baje"),
        (T(12, 0), "12 noon", "dopahar 12 baje"),
        (T(0, 0), "midnight", "raat 12 baje"),
        (T(0, 30), "12:30 am", "raat 12:30 baje"),
        (T(9, 15), "9:15 am", "subah 9:15 baje"),
        (T(14, 30), "2:30 pm", "dopahar 2:30 baje"),
    ],
)
def test_spoken_time_in_both_languages(moment: dt.time, english: str, hindi: str) -> None:
    assert (spoken_time(moment, "en"), spoken_time(moment, "hi")) == (english, hindi)


def test_spoken_dates_slots_options_and_codes() -> None:
    friday = dt.date(2026, 12, 4)
    assert spoken_date(friday, "en") == "Friday 4 December"
    assert spoken_date(friday, "hi") == "shukravaar, 4 December"
    assert (
        spoken_slot(4, friday, T(19, 30), "en") == "a table for 4 on Friday 4 December at 7:30 pm"
    )
    assert spoken_option(friday, T(20, 0), TODAY, "en") == "8 pm tomorrow"
    assert spoken_option(dt.date(2026, 12, 5), T(19, 0), TODAY, "en") == "7 pm on Saturday"
    assert spoken_option(dt.date(2026, 12, 12), T(19, 0), TODAY, "en") == (
        "7 pm on Saturday 12 December"
    )
    assert spoken_option(friday, T(20, 0), TODAY, "hi") == "kal raat 8 baje"
    assert spoken_code("k7qd") == "K, 7, Q, D"
    assert spoken_code("K 7 Q D") == "K, 7, Q, D"


def test_every_phrase_has_both_languages_with_the_same_blanks() -> None:
    for key, (english, hindi) in PHRASES.items():
        blanks = _blanks(english)
        assert blanks == _blanks(hindi), key
        phrase(key, "hi", **dict.fromkeys(blanks, "x"))


def _blanks(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_spoken_hours_groups_days_with_the_same_hours() -> None:
    lunch, dinner = OpeningWindow(T(12, 0), T(15, 30)), OpeningWindow(T(19, 0), T(23, 0))
    late = OpeningWindow(T(19, 0), T(0, 30))
    weekly = {2: (lunch, dinner), 3: (lunch, dinner), 4: (lunch, dinner), 5: (lunch, late)}
    weekly |= {6: (lunch, late), 7: (lunch, dinner)}
    assert spoken_hours(weekly) == (
        "Tuesday to Thursday, 12 noon to 3:30 pm and 7 pm to 11 pm; Friday and Saturday, "
        "12 noon to 3:30 pm and 7 pm to 12:30 am; Sunday, 12 noon to 3:30 pm and 7 pm to 11 pm; "
        "closed on Monday"
    )
    assert spoken_hours({1: (lunch,)}, "hi") == (
        "somvaar, dopahar 12 baje se dopahar 3:30 baje tak; mangalvaar se ravivaar ko band"
    )
    assert spoken_hours({}) == "closed on Monday to Sunday"


def test_tool_results_are_read_from_whatever_the_context_holds() -> None:
    assert tool_result('{"available": true}') == {"available": True}
    assert tool_result("CANCELLED") == {"status": "interrupted"}
    assert tool_result("COMPLETED") == {"status": "completed"}
    assert tool_result("The function failed")["status"] == "error"
    assert tool_result("[1, 2]")["status"] == "error"
    assert tool_result({"status": "booked"}) == {"status": "booked"}
    assert parse_slot("2026-12-05 20:00 (Saturday)") == (dt.date(2026, 12, 5), T(20, 0))
    assert parse_slot("someday") is None
    assert parse_slot("2026-13-45 25:00") is None
