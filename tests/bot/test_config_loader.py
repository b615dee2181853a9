from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import (
    BusinessDirectory,
    ConfigError,
    load_businesses,
    load_or_exit,
    parse_businesses,
)
from store.policy import OpeningWindow

SHIPPED = Path(__file__).resolve().parents[2] / "bots.yaml"
HK = "businesses[himalayan-kitchen]"

Mutation = Callable[[dict[str, Any]], None]


def _first(change: Callable[[dict[str, Any]], None]) -> Mutation:
    return lambda data: change(data["businesses"][0])


def _second(change: Callable[[dict[str, Any]], None]) -> Mutation:
    return lambda data: change(data["businesses"][1])


def _rules(**values: Any) -> Mutation:
    return _first(lambda b: b["reservations"].update(values))


YAML_SYNTAX_ERROR = """\
businesses:
  - slug: himalayan-kitchen
    name: "Himalayan Kitchen
    phone_numbers: ["+911140847730"]
"""

DUPLICATE_YAML_KEY = """\
businesses:
  - slug: himalayan-kitchen
    name: Himalayan Kitchen
    hours:
      mon: ["12:00-15:00"]
      mon: ["18:00-22:00"]
"""

# (id, mutation of the valid config | raw file text | None for no file, expected fragments)
BROKEN: list[tuple[str, Mutation | str | None, list[str]]] = [
    (
        "time-25",
        _first(lambda b: b["hours"].update(tue=["25:00-26:00"])),
        [f"{HK}.hours.tue[0]", "invalid time '25:00'"],
    ),
    (
        "malformed-window",
        _first(lambda b: b["hours"].update(tue=["12:00-15:30", "7pm-11pm"])),
        [f"{HK}.hours.tue[1]", "malformed window '7pm-11pm'"],
    ),
    (
        "unknown-weekday",
        _first(lambda b: b["hours"].update(funday=["12:00-15:00"])),
        [f"{HK}.hours.funday: unknown weekday 'funday' (expected mon..sun)"],
    ),
    (
        "overlapping-windows",
        _first(lambda b: b["hours"].update(tue=["12:00-15:30", "15:00-17:00"])),
        [f"{HK}.hours.tue", "'12:00-15:30' and '15:00-17:00' overlap"],
    ),
    (
        "late-window-into-next-day",
        _first(
            lambda b: b["hours"].update(sat=["12:00-16:00", "19:00-03:00"], sun=["02:00-04:00"])
        ),
        [f"{HK}.hours", "sat window '19:00-03:00' runs past midnight into sun"],
    ),
    (
        "weekday-twice",
        _first(lambda b: b["hours"].update(friday=["09:00-10:00"])),
        [f"{HK}.hours", "fri is given twice"],
    ),
    (
        "never-open",
        _first(lambda b: b.update(hours={"mon": [], "tue": None})),
        [f"{HK}.hours", "business is never open"],
    ),
    (
        "duplicate-phone-across-businesses",
        _second(lambda b: b.update(phone_numbers=["911140847730"])),
        [
            "businesses[1].phone_numbers[0]",
            "+91******7730",
            "used by both 'himalayan-kitchen' and 'dakshin-dosa-house'",
        ],
    ),
    (
        "duplicate-slug",
        _second(lambda b: b.update(slug="himalayan-kitchen")),
        [
            "businesses[1].slug",
            "duplicate slug 'himalayan-kitchen'",
            "businesses[0] ('Himalayan Kitchen') and businesses[1] ('Dakshin Dosa House')",
        ],
    ),
    (
        "invalid-slug",
        _first(lambda b: b.update(slug="Himalayan Kitchen")),
        ["businesses[0].slug", "lowercase letters and digits"],
    ),
    (
        "party-over-capacity",
        _rules(max_party_size=60),
        [f"{HK}.reservations.max_party_size", "party limits that contradict capacity"],
    ),
    (
        "min-party-over-max",
        _rules(min_party_size=13),
        [f"{HK}.reservations.min_party_size", "min_party_size 13 is more than max_party_size 12"],
    ),
    (
        "slot-7",
        _rules(slot_minutes=7),
        [f"{HK}.reservations.slot_minutes", "does not divide a day (1440 minutes)"],
    ),
    (
        "dining-0",
        _rules(dining_minutes=0),
        [f"{HK}.reservations.dining_minutes", "greater than or equal to 15"],
    ),
    (
        "dining-400",
        _rules(dining_minutes=400),
        [f"{HK}.reservations.dining_minutes", "less than or equal to 360"],
    ),
    (
        "horizon-0",
        _rules(horizon_days=0),
        [f"{HK}.reservations.horizon_days", "greater than or equal to 1"],
    ),
    (
        "capacity-missing",
        _first(lambda b: b["reservations"].pop("seat_capacity")),
        [f"{HK}.reservations.seat_capacity", "required key missing"],
    ),
    (
        "unknown-timezone",
        _first(lambda b: b.update(timezone="Asia/Bangalore")),
        [f"{HK}.timezone", "unknown timezone 'Asia/Bangalore'"],
    ),
    (
        "unknown-language",
        _first(lambda b: b.update(languages=["hi", "ta"])),
        [f"{HK}.languages[1]", "unknown value 'ta' (expected 'en' or 'hi')"],
    ),
    (
        "no-language",
        _first(lambda b: b.update(languages=[])),
        [f"{HK}.languages", "must not be empty"],
    ),
    (
        "greeting-missing-for-language",
        _first(lambda b: b["greeting"].pop("en")),
        [f"{HK}.greeting", "no greeting for language 'en'"],
    ),
    (
        "unknown-engine-provider",
        _first(lambda b: b.update(engines={"stt": {"provider": "whisper"}})),
        [f"{HK}.engines.stt.provider", "unknown value 'whisper' (expected 'deepgram' or 'local')"],
    ),
    (
        "unknown-stt-language",
        _first(lambda b: b.update(engines={"stt": {"language": "ta-IN"}})),
        [f"{HK}.engines.stt.language", "unknown value 'ta-IN'"],
    ),
    (
        "unknown-top-level-key",
        lambda data: data.update(defaults={"timezone": "Asia/Kolkata"}),
        ["bots.yaml: defaults: unknown key"],
    ),
    (
        "unknown-business-key",
        _first(lambda b: b.update(colour="saffron")),
        [f"{HK}.colour: unknown key"],
    ),
    (
        "misspelt-business-key",
        _first(lambda b: b.update(adress="Hauz Khas")),
        [f"{HK}.adress: unknown key (did you mean 'address'?)"],
    ),
    ("yaml-syntax-error", YAML_SYNTAX_ERROR, ["bots.yaml:4:", "YAML syntax error"]),
    ("yaml-duplicate-key", DUPLICATE_YAML_KEY, ["bots.yaml:6:7:", "duplicate key 'mon'"]),
    ("empty-file", "", ["bots.yaml: file is empty"]),
    ("only-comments", "# nothing yet\n", ["bots.yaml: file is empty"]),
    ("missing-file", None, ["bots.yaml: file not found"]),
    ("top-level-list", "- slug: x\n", ["top level must be a mapping", "got a list"]),
    ("businesses-missing", "other: 1\n", ["businesses: required key missing"]),
    ("businesses-empty", "businesses: []\n", ["businesses: no businesses listed"]),
    (
        "businesses-not-a-list",
        lambda data: data.update(businesses={"slug": "himalayan-kitchen"}),
        ["bots.yaml: businesses: expected a list, got a mapping"],
    ),
    (
        "business-not-a-mapping",
        "businesses:\n  - himalayan-kitchen\n",
        ["businesses[0]: expected a mapping of keys to values, got text"],
    ),
    (
        "phone-with-letters",
        _first(lambda b: b.update(phone_numbers=["+91 11 CALL NOW"])),
        [f"{HK}.phone_numbers[0]", "not a phone number"],
    ),
    (
        "phone-too-short",
        _first(lambda b: b.update(phone_numbers=["+91 4084"])),
        [f"{HK}.phone_numbers[0]", "phone number too short"],
    ),
    (
        "no-phone-numbers",
        _first(lambda b: b.update(phone_numbers=[])),
        [f"{HK}.phone_numbers", "must not be empty"],
    ),
    (
        "staff-number-invalid",
        _first(lambda b: b.update(staff_number="ask for Tara")),
        [f"{HK}.staff_number", "not a phone number"],
    ),
    (
        "staff-number-is-own-number",
        _first(lambda b: b.update(staff_number="911140847730")),
        [f"{HK}.staff_number", "one of the business's own phone_numbers"],
    ),
    (
        "reprompt-not-before-hangup",
        _first(lambda b: b.update(silence={"reprompt_secs": 20, "hangup_secs": 20})),
        [f"{HK}.silence", "reprompt_secs (20) must be less than hangup_secs (20)"],
    ),
    (
        "invalid-closed-date",
        _first(lambda b: b.update(closed_dates=["2025-10-20", "2025-02-30"])),
        [f"{HK}.closed_dates[1]", "invalid date '2025-02-30'"],
    ),
    (
        "temperature-too-high",
        _first(lambda b: b.update(engines={"llm": {"temperature": 5}})),
        [f"{HK}.engines.llm.temperature", "less than or equal to 2"],
    ),
]


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [pytest.param(case[1], case[2], id=case[0]) for case in BROKEN],
)
def test_load_businesses_reports_path_and_reason(
    broken: Mutation | str | None,
    fragments: list[str],
    config_data: dict[str, Any],
    write_config: Callable[[Any], Path],
    tmp_path: Path,
) -> None:
    if broken is None:
        path = tmp_path / "bots.yaml"
    elif isinstance(broken, str):
        path = write_config(broken)
    else:
        broken(config_data)
        path = write_config(config_data)
    with pytest.raises(ConfigError) as caught:
        load_businesses(path)
    message = str(caught.value)
    assert caught.value.code == "config_invalid"
    assert all(line.startswith(str(path)) for line in message.splitlines()), message
    for fragment in fragments:
        assert fragment in message.replace(str(tmp_path) + "/", ""), message


def test_load_businesses_table_covers_at_least_twenty_cases() -> None:
    assert len(BROKEN) >= 20


def test_load_businesses_lists_every_problem_one_per_line(
    config_data: dict[str, Any], write_config: Callable[[Any], Path]
) -> None:
    first = config_data["businesses"][0]
    first["hours"]["funday"] = ["12:00-15:00"]
    first["reservations"]["slot_minutes"] = 7
    config_data["businesses"][1]["timezone"] = "Mars/Olympus"
    with pytest.raises(ConfigError) as caught:
        load_businesses(write_config(config_data))
    problems = caught.value.problems
    assert len(problems) == 3
    assert str(caught.value).splitlines() == list(problems)
    assert any(".hours.funday:" in p for p in problems)
    assert any("businesses[dakshin-dosa-house].timezone:" in p for p in problems)


def test_load_businesses_names_a_business_by_index_when_its_slug_is_unusable(
    config_data: dict[str, Any], write_config: Callable[[Any], Path]
) -> None:
    config_data["businesses"][0]["slug"] = "Bad Slug"
    config_data["businesses"][0]["timezone"] = "Nowhere/City"
    with pytest.raises(ConfigError, match=re.escape("businesses[0].timezone")):
        load_businesses(write_config(config_data))


def test_load_businesses_yaml_error_names_line_and_column(
    write_config: Callable[[Any], Path],
) -> None:
    path = write_config("businesses:\n  - slug: a\n   name: b\n")
    with pytest.raises(ConfigError) as caught:
        load_businesses(path)
    assert re.match(rf"{re.escape(str(path))}:3:\d+: YAML syntax error: ", str(caught.value))


def test_load_businesses_error_is_not_chained_to_pydantic(
    config_data: dict[str, Any], write_config: Callable[[Any], Path]
) -> None:
    config_data["businesses"][0]["reservations"]["max_party_size"] = 100
    with pytest.raises(ConfigError) as caught:
        load_businesses(write_config(config_data))
    assert caught.value.__suppress_context__
    assert caught.value.__cause__ is None


def test_load_businesses_loads_the_shipped_file() -> None:
    directory = load_businesses(SHIPPED)
    assert len(directory) >= 2
    kitchen = directory.by_slug("himalayan-kitchen")
    assert kitchen is not None
    assert set(kitchen.languages) == {"en", "hi"}
    for business in directory:
        policy = business.booking_policy()
        assert policy.business_id == business.slug
        assert any(policy.weekly_hours.values())
        for language in business.languages:
            assert business.greeting[language].strip()
    assert any(
        window.crosses_midnight
        for business in directory
        for windows in business.booking_policy().weekly_hours.values()
        for window in windows
    )


def test_load_businesses_reads_unquoted_yaml_dates_and_numbers(
    write_config: Callable[[Any], Path],
) -> None:
    text = """\
businesses:
  - slug: chai-point
    name: Chai Point
    phone_numbers: [+918047182200, 918047182201]
    greeting: {en: Hello}
    hours: {mon: "08:00-20:00"}
    closed_dates: [2025-10-20]
    reservations: {seat_capacity: 10, max_party_size: 4}
"""
    business = load_businesses(write_config(text)).by_slug("chai-point")
    assert business is not None
    assert business.phone_numbers == ("+918047182200", "+918047182201")
    assert business.closed_dates == frozenset({dt.date(2025, 10, 20)})
    assert business.hours["mon"] == (OpeningWindow(dt.time(8), dt.time(20)),)


def test_load_businesses_accepts_a_byte_order_mark(
    config_data: dict[str, Any], write_config: Callable[[Any], Path]
) -> None:
    path = write_config(config_data)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(load_businesses(path)) == 2


def test_load_businesses_rejects_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bots.yaml"
    path.write_bytes(b"businesses:\n  - name: Caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_businesses(path)


def test_load_businesses_rejects_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_businesses(tmp_path)


def test_directory_finds_businesses_by_slug_and_any_number_form(
    config_data: dict[str, Any], write_config: Callable[[Any], Path]
) -> None:
    directory = load_businesses(write_config(config_data))
    assert directory.slugs == ("himalayan-kitchen", "dakshin-dosa-house")
    assert [b.slug for b in directory] == list(directory.slugs)
    assert "himalayan-kitchen" in directory
    dosa = directory.by_slug("dakshin-dosa-house")
    assert dosa is not None
    for raw in ("918047182200", "+91 80 4718 2200", "+918047182201", 918047182201):
        assert directory.by_number(raw) is dosa
    assert directory.by_number("+919999999999") is None
    assert directory.by_number("anonymous") is None
    assert directory.by_number(None) is None
    assert directory.by_slug("nope") is None


def test_directory_records_source_and_load_time(
    config_data: dict[str, Any], write_config: Callable[[Any], Path]
) -> None:
    before = dt.datetime.now(dt.UTC)
    path = write_config(config_data)
    directory = load_businesses(path)
    assert directory.source == path
    assert before <= directory.loaded_at <= dt.datetime.now(dt.UTC)
    assert "+91" not in repr(directory)


def test_directory_is_immutable(
    config_data: dict[str, Any], write_config: Callable[[Any], Path]
) -> None:
    directory = load_businesses(write_config(config_data))
    with pytest.raises(AttributeError):
        directory.source = Path("other.yaml")  # type: ignore[misc]
    with pytest.raises(AttributeError):
        directory._by_slug = {}
    with pytest.raises(TypeError):
        directory._by_slug["x"] = None  # type: ignore[index]


def test_directory_built_directly_refuses_duplicate_slugs(config_data: dict[str, Any]) -> None:
    directory = parse_businesses(yaml.safe_dump(config_data), "inline.yaml")
    kitchen = directory.by_slug("himalayan-kitchen")
    assert kitchen is not None
    with pytest.raises(ConfigError, match=r"inline.yaml: businesses\[1\].slug: duplicate slug"):
        BusinessDirectory([kitchen, kitchen], source="inline.yaml")


def test_load_or_exit_returns_the_directory_for_a_good_file() -> None:
    assert load_or_exit(SHIPPED).by_slug("himalayan-kitchen") is not None


def test_load_or_exit_prints_the_problem_and_exits_2(
    write_config: Callable[[Any], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config("businesses: []\n")
    with pytest.raises(SystemExit) as caught:
        load_or_exit(path)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"{path}: businesses: no businesses listed" in err
    assert "Traceback" not in err


def test_load_or_exit_shows_no_traceback_in_a_real_process(
    write_config: Callable[[Any], Path],
) -> None:
    path = write_config("businesses:\n  - slug: x\n    name: [\n")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.config import load_or_exit; load_or_exit(sys.argv[1])",
            str(path),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "YAML syntax error" in result.stderr
    assert "Traceback" not in result.stderr
