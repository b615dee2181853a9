from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from bot.config import Business, format_window, iso_weekday, parse_window
from store.policy import BookingPolicy, OpeningWindow

from .conftest import business_data


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def test_business_normalises_phone_numbers_to_e164() -> None:
    business = Business.model_validate(
        business_data(phone_numbers=["+91 11 4084 7730", "911140847731", 911140847732])
    )
    assert business.phone_numbers == ("+911140847730", "+911140847731", "+911140847732")


def test_business_normalises_staff_number_and_allows_none() -> None:
    assert Business.model_validate(business_data()).staff_number is None
    business = Business.model_validate(business_data(staff_number="+91 98110 45213"))
    assert business.staff_number == "+919811045213"


def test_business_rejects_a_phone_number_listed_twice() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        Business.model_validate(business_data(phone_numbers=["+911140847730", "911140847730"]))


def test_business_accepts_full_weekday_names_single_windows_and_closed_days() -> None:
    business = Business.model_validate(
        business_data(hours={"Monday": "12:00-15:00", "tuesday": None, "sun": []})
    )
    assert dict(business.hours) == {
        "mon": (OpeningWindow(_time("12:00"), _time("15:00")),),
        "tue": (),
        "sun": (),
    }


def test_business_sorts_windows_and_orders_days() -> None:
    business = Business.model_validate(
        business_data(hours={"sun": ["19:00-23:00", "12:00-15:00"], "mon": ["12:00-15:00"]})
    )
    assert list(business.hours) == ["mon", "sun"]
    assert [format_window(w) for w in business.hours["sun"]] == ["12:00-15:00", "19:00-23:00"]


def test_business_refuses_a_day_given_twice_under_two_names() -> None:
    with pytest.raises(ValidationError, match="mon is given twice"):
        Business.model_validate(
            business_data(hours={"mon": ["12:00-15:00"], "monday": ["18:00-20:00"]})
        )


def test_business_refuses_a_late_window_running_into_the_next_days_first_window() -> None:
    with pytest.raises(ValidationError, match="fri window '22:00-02:00' runs past midnight"):
        Business.model_validate(
            business_data(hours={"fri": ["22:00-02:00"], "sat": ["01:00-03:00"]})
        )


def test_business_allows_a_sunday_window_ending_before_mondays_opens() -> None:
    business = Business.model_validate(
        business_data(hours={"sun": ["20:00-01:00"], "mon": ["01:00-03:00"]})
    )
    assert business.hours["sun"][0].crosses_midnight


def test_business_refuses_a_sunday_window_running_into_monday() -> None:
    with pytest.raises(ValidationError, match="sun window '20:00-02:00' runs past midnight"):
        Business.model_validate(
            business_data(hours={"sun": ["20:00-02:00"], "mon": ["01:00-03:00"]})
        )


def test_business_same_day_windows_may_touch_but_not_overlap() -> None:
    business = Business.model_validate(business_data(hours={"mon": ["12:00-15:00", "15:00-18:00"]}))
    assert len(business.hours["mon"]) == 2


def test_parse_window_reads_midnight_crossing_and_24_00() -> None:
    late = parse_window("19:00-01:00")
    assert late == OpeningWindow(_time("19:00"), _time("01:00"))
    assert late.crosses_midnight
    assert parse_window("18:00-24:00") == OpeningWindow(_time("18:00"), _time("00:00"))
    assert parse_window("9:30 – 11:00") == OpeningWindow(_time("09:30"), _time("11:00"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("25:00-26:00", "invalid time '25:00'"),
        ("12:60-13:00", "invalid time '12:60'"),
        ("24:00-02:00", "invalid time '24:00'"),
        ("7pm-11pm", "malformed window '7pm-11pm'"),
        ("12:00", "malformed window"),
        ("12-15", "malformed window"),
    ],
)
def test_parse_window_rejects_bad_text(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_window(text)


def test_parse_window_rejects_a_yaml_number() -> None:
    with pytest.raises(ValueError, match="quote it in YAML"):
        parse_window(720)


def test_business_defaults_engines_silence_and_language() -> None:
    business = Business.model_validate(business_data(languages=["en"], greeting={"en": "Hi"}))
    assert business.default_language == "en"
    assert business.timezone == "Asia/Kolkata"
    assert business.engines.stt.provider == "deepgram"
    assert business.engines.stt.model == "nova-3"
    assert business.engines.llm.model == "llama-3.3-70b-versatile"
    assert business.engines.tts.voice == "aura-2-thalia-en"
    assert business.silence.reprompt_secs == 8
    assert business.silence.hangup_secs == 20
    assert business.silence.max_call_secs == 600
    assert business.reservations.slot_minutes == 30
    assert business.reservations.min_party_size == 1


def test_business_greeting_for_falls_back_to_the_default_language() -> None:
    business = Business.model_validate(business_data())
    assert business.default_language == "hi"
    assert business.greeting_for("en") == "Hello, Himalayan Kitchen."
    assert business.greeting_for("ta") == business.greeting["hi"]
    assert business.greeting_for() == business.greeting["hi"]


def test_business_is_immutable() -> None:
    business = Business.model_validate(business_data())
    with pytest.raises(ValidationError):
        business.name = "Other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        business.hours["mon"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        business.greeting["en"] = "changed"  # type: ignore[index]
    with pytest.raises(AttributeError):
        business.phone_numbers.append("+911111111111")  # type: ignore[attr-defined]


def test_business_dump_round_trips_with_windows_as_text() -> None:
    business = Business.model_validate(business_data())
    dumped = business.model_dump(mode="json")
    assert dumped["hours"]["fri"] == ["12:00-15:30", "19:00-00:30"]
    assert Business.model_validate(dumped) == business


def test_iso_weekday_numbers_monday_one_to_sunday_seven() -> None:
    assert iso_weekday("mon") == 1
    assert iso_weekday("sun") == 7


def test_business_booking_policy_converts_every_rule() -> None:
    business = Business.model_validate(
        business_data(
            hours={
                "mon": ["12:00-15:30"],
                "fri": ["19:00-00:30", "12:00-15:30"],
                "sunday": ["18:00-24:00"],
            },
            closed_dates=["2025-10-20", "2026-03-04"],
            reservations={
                "slot_minutes": 15,
                "dining_minutes": 75,
                "seat_capacity": 40,
                "max_party_size": 10,
                "min_party_size": 2,
                "min_notice_minutes": 45,
                "horizon_days": 21,
                "last_seating_minutes": 30,
                "alternatives": 4,
            },
        )
    )
    policy = business.booking_policy()
    assert isinstance(policy, BookingPolicy)
    assert policy.business_id == "himalayan-kitchen"
    assert policy.timezone == "Asia/Kolkata"
    assert policy.weekly_hours == {
        1: (OpeningWindow(_time("12:00"), _time("15:30")),),
        5: (
            OpeningWindow(_time("12:00"), _time("15:30")),
            OpeningWindow(_time("19:00"), _time("00:30")),
        ),
        7: (OpeningWindow(_time("18:00"), _time("00:00")),),
    }
    late = policy.weekly_hours[5][1]
    assert late.crosses_midnight
    assert late.span_on(dt.date(2025, 10, 24)) == (
        dt.datetime(2025, 10, 24, 19, 0),
        dt.datetime(2025, 10, 25, 0, 30),
    )
    assert policy.weekly_hours[7][0].span_on(dt.date(2025, 10, 26))[1] == dt.datetime(
        2025, 10, 27, 0, 0
    )
    assert policy.closed_dates == frozenset({dt.date(2025, 10, 20), dt.date(2026, 3, 4)})
    assert (policy.slot_minutes, policy.dining_minutes) == (15, 75)
    assert (policy.seat_capacity, policy.max_party_size) == (40, 10)
    assert (policy.min_notice_minutes, policy.horizon_days) == (45, 21)
    assert (policy.last_seating_minutes, policy.alternatives) == (30, 4)


def test_business_booking_policy_has_no_entry_for_closed_days() -> None:
    policy = Business.model_validate(business_data(hours={"tue": ["12:00-15:00"]})).booking_policy()
    assert set(policy.weekly_hours) == {2}
