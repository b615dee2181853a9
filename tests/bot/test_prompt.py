import datetime as dt
from pathlib import Path

from bot.config import load_businesses
from bot.prompt import Caller, system_prompt

ROOT = Path(__file__).resolve().parents[2]


def business():
    found = load_businesses(ROOT / "bots.yaml").by_slug("himalayan-kitchen")
    assert found is not None
    return found


def test_prompt_has_local_time_hours_rules_and_tools_guidance():
    now = dt.datetime(2026, 12, 1, 13, 45, tzinfo=dt.UTC)  # 19:15 in Kolkata
    prompt = system_prompt(business(), Caller(), now)
    assert "Tuesday 01 December 2026, 19:15 (Asia/Kolkata)" in prompt
    assert "Monday closed" in prompt and "Friday 12:00-15:30, 19:00-00:30" in prompt
    assert "parties of 1 to 12" in prompt and "up to 30 days ahead" in prompt
    assert "confirmed_by_caller" in prompt and "transfer_to_staff" in prompt
    assert "number is withheld" in prompt


def test_prompt_greets_returning_caller():
    prompt = system_prompt(
        business(),
        Caller(name="Ravi", language="hi", usual_party_size=4, number_known=True),
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    assert "this is Ravi" in prompt and "usually book for 4" in prompt
    assert "spoke Hindi last time" in prompt and "do not ask for it" in prompt
