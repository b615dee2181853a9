"""``python -m bot scenarios``: the shipped scenarios pass, bad files and wrong checks are named."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any, cast, get_args

import pytest

from bot.config import Settings, load_businesses
from bot.scenario_checks import (
    ScenarioRun,
    StoredReservation,
    ToolCall,
    TurnRun,
    evaluate,
    tool_matches,
)
from bot.scenario_spec import (
    OutcomeName,
    ScenarioError,
    ScenarioSpec,
    ToolCheck,
    ToolName,
    load_scenarios,
    parse_scenario,
)
from bot.scenarios import add_arguments, run, run_scenario, run_scenarios
from bot.tools import CallTools
from processors.call_recorder import Outcome
from tests.bot.test_cli import ROOT

SETTINGS = Settings(
    _env_file=None, bots_path=ROOT / "bots.yaml", groq_api_key=None, log_level="WARNING"
)
DIRECTORY = load_businesses(SETTINGS.bots_path)
SHIPPED = load_scenarios([ROOT / "scenarios"], DIRECTORY)

BOOKING = """\
name: {name}
business: dakshin-dosa-house
caller: "+91 98450 00001"
now: "2026-03-10 18:30"
turns:
  - say: a table for 2 tomorrow at 8 pm
  - say: Ravi
  - say: "yes"
expect:
{expect}
"""


def write(folder: Path, name: str, expect: str = "  outcome: booked") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(BOOKING.format(name=name, expect=expect), encoding="utf-8")
    return path


def command(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    status = run(parser.parse_args([str(arg) for arg in argv]), SETTINGS)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("scenario", SHIPPED, ids=[scenario.name for scenario in SHIPPED])
def test_shipped_scenario_passes_in_text_mode(scenario):
    result = asyncio.run(run_scenario(scenario, "text", SETTINGS))
    conversation = "\n".join(result.run.transcript()) if result.run else ""
    assert result.passed, "\n".join([*result.problems, conversation])


def test_shipped_scenarios_cover_both_businesses_and_languages():
    assert len(SHIPPED) >= 25
    assert {scenario.business.slug for scenario in SHIPPED} == set(DIRECTORY.slugs)
    hindi = [scenario for scenario in SHIPPED if scenario.name.startswith(("hindi", "hinglish"))]
    assert len(hindi) >= 5
    assert all(scenario.spec.run_modes == ("text",) for scenario in hindi)
    english = [scenario for scenario in SHIPPED if scenario not in hindi]
    assert all(scenario.spec.run_modes == ("text", "audio") for scenario in english)


def test_the_spec_knows_every_tool_and_outcome():
    business = DIRECTORY.by_slug("himalayan-kitchen")
    assert business is not None
    tools = CallTools(business, cast(Any, None), "id")
    tools.transfer = lambda: asyncio.sleep(0, True)
    assert set(get_args(ToolName)) == {schema.name for schema in tools.schemas()}
    assert set(get_args(OutcomeName)) == {outcome.value for outcome in Outcome}


def test_times_dates_and_yes_stay_text():
    spec = parse_scenario(
        BOOKING.format(
            name="plain",
            expect="  tools: [{name: check_availability, args: {time: 20:00, date: 2026-03-11}}]",
        ).replace('"yes"', "yes"),
        "plain.yaml",
    )
    assert spec.turns[2].say == "yes"
    assert spec.expect.tools[0].args == {"time": "20:00", "date": "2026-03-11"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("  - say: Ravi\n", "  - say: Ravi\n    expect: {sayz: [Ravi]}\n"),
            "turns[1].expect.sayz: unknown key (did you mean 'says'?)",
        ),
        (("  - say: Ravi\n", "  - silence: long\n"), "turns[1].silence: Input should be a valid"),
        (("dakshin-dosa-house", "nowhere"), "business: unknown business 'nowhere'"),
        (('"2026-03-10 18:30"', "10/03/2026"), "now: expected 'YYYY-MM-DD HH:MM'"),
        (("  - say: Ravi\n", "  - say: Ravi\n    hang_up: true\n"), "turns[1]: give exactly one"),
        (("  outcome: booked", "  outcome: booked\n  outcome: enquiry"), ":11:3: YAML error"),
        (("  outcome: booked", "  outcome: done"), "expect.outcome: unknown value 'done'"),
        (("  outcome: booked", "  {}"), "the scenario checks nothing"),
    ],
)
def test_an_invalid_file_is_named_with_its_key_and_exits_2(tmp_path, capsys, change, message):
    path = write(tmp_path, "broken")
    path.write_text(path.read_text().replace(*change))

    status, out, err = command(capsys, path)

    assert status == 2
    assert f"{path}:" in err and message in err
    assert out == ""


def test_every_invalid_file_is_listed_at_once(tmp_path):
    write(tmp_path, "one", "  outcome: nope")
    write(tmp_path, "two", "  reservations: {}")
    write(tmp_path, "three")  # valid
    with pytest.raises(ScenarioError) as raised:
        load_scenarios([tmp_path], DIRECTORY)
    assert [problem.split(":")[0] for problem in raised.value.problems] == [
        str(tmp_path / "one.yaml"),
        str(tmp_path / "two.yaml"),
    ]
    assert "expect.reservations: give count, include or both" in str(raised.value)


def test_a_wrong_expectation_fails_and_names_the_check(tmp_path, capsys):
    write(tmp_path, "right")
    write(tmp_path, "wrong-outcome", "  outcome: cancelled")

    status, out, _ = command(capsys, tmp_path)

    assert status == 1
    assert "PASS  text  right  (3 turns, p95 " in out
    assert "FAIL  text  wrong-outcome: expect.outcome: expected cancelled, got booked" in out
    assert "text: 1/2 passed (50.0 %)" in out


def test_json_output_has_each_result_and_the_pass_rate(tmp_path, capsys):
    write(tmp_path, "right")
    write(tmp_path, "wrong-count", "  reservations: {count: 2}")

    status, out, _ = command(capsys, tmp_path, "--json")

    document = json.loads(out)
    assert status == 1
    assert document["summary"] == {"text": {"passed": 1, "total": 2, "pass_rate": 0.5}}
    assert document["passed"] is False
    right, wrong = sorted(document["results"], key=lambda result: result["name"])
    assert (right["name"], right["status"], right["outcome"]) == ("right", "pass", "booked")
    assert right["wer"] is None and right["latency_ms"]["p95"] is not None
    assert [call["name"] for call in right["tool_calls"]] == [
        "check_availability",
        "book_reservation",
    ]
    assert wrong["status"] == "fail"
    assert wrong["failures"][0].startswith("expect.reservations.count: expected 2, got 1: Ravi")

    assert command(capsys, tmp_path, "--json", "--min-pass-rate", "50")[0] == 0


def test_a_seed_the_store_refuses_is_reported_not_raised(tmp_path, capsys):
    path = write(tmp_path, "closed-seed")
    text = path.read_text().replace(
        "turns:", 'seed:\n  - {name: A, party_size: 2, date: 2026-03-16, time: "20:00"}\nturns:'
    )
    path.write_text(text)

    status, out, _ = command(capsys, path)

    assert status == 1
    assert "FAIL  text  closed-seed: could not run: " in out
    assert "seed[0]: the restaurant does not seat guests at 2026-03-16 20:00" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{dir}", "-k", "no-such-scenario"], "no scenario matches"),
        (["{dir}", "--business", "nowhere"], "--business: no business 'nowhere'"),
        (["{dir}/missing.yaml"], "missing.yaml: no such file or directory"),
        (["{dir}", "--min-pass-rate", "120"], "--min-pass-rate must be between 0 and 100"),
    ],
)
def test_unusable_options_exit_2(tmp_path, capsys, argv, message):
    write(tmp_path, "right")
    status, out, err = command(capsys, *[arg.format(dir=tmp_path) for arg in argv])
    assert status == 2
    assert message in err
    assert out == ""


# The checks on a hand-made run: each kind of check can fail, and says what it expected.
RUN = ScenarioRun(
    mode="text",
    engine="test",
    greeting="Hello, Dakshin Dosa House.",
    turns=[
        TurnRun(0, "say", "a table for 2 tomorrow at 8 pm", reply="Good news. Your name?"),
        TurnRun(1, "say", "Ravi", reply="Shall I book it?", latency_ms=900.0),
        TurnRun(2, "say", "yes", reply="Booked.", latency_ms=5.0, ended=True),
    ],
    tool_calls=[
        ToolCall("check_availability", {"date": "2026-03-11", "party_size": 2}, {}, 0),
        ToolCall("book_reservation", {"party_size": 2, "name": "Ravi"}, {"status": "booked"}, 2),
    ],
    outcome="booked",
    ended_by_bot=True,
)
STORED = [
    StoredReservation("ABC123", "Ravi", None, 2, dt.date(2026, 3, 11), dt.time(20), "confirmed")
]


def spec(expect: str, turn_expect: str = "") -> ScenarioSpec:
    text = BOOKING.format(name="hand-made", expect=expect or "  outcome: booked")
    if turn_expect:
        text = text.replace("  - say: Ravi\n", f"  - say: Ravi\n    expect: {turn_expect}\n")
    return parse_scenario(text, "hand-made.yaml")


def test_a_run_that_meets_every_expectation_passes():
    expectations = spec(
        "  greeting: [dakshin]\n"
        "  tools: [check_availability, {name: book_reservation, args: {name: ravi}}]\n"
        "  not_tools: [cancel_reservation]\n"
        "  reservations: {count: 1, include: [{name: Ravi, date: 2026-03-11, time: 20:00}]}\n"
        "  outcome: booked\n  ended_by_bot: true\n  max_latency_ms: 1000",
        "{says: [book it], no_tools: true}",
    )
    assert evaluate(expectations, RUN, STORED) == []


@pytest.mark.parametrize(
    ("expect", "turn_expect", "failure"),
    [
        ("  greeting: [Welcome back]", "", "expect.greeting: expected 'Welcome back'"),
        ("", "{says: [booked]}", "turn 2 (say 'Ravi'): says: expected 'booked', the bot said"),
        ("", "{says_any: [yy, zz]}", "turn 2 (say 'Ravi'): says_any: expected 'yy' or 'zz'"),
        ("", "{not_says: [BOOK IT]}", "turn 2 (say 'Ravi'): not_says: expected no 'BOOK IT'"),
        ("", "{tools: [book_reservation]}", "turn 2 (say 'Ravi'): tools[0]: expected book_"),
        ("", "{ends_call: true}", "turn 2 (say 'Ravi'): ends_call: expected true, the call went"),
        ("", "{max_latency_ms: 500}", "turn 2 (say 'Ravi'): max_latency_ms: 900 ms is over the"),
        ("  max_latency_ms: 100", "", "turn 2 (say 'Ravi'): max_latency_ms: 900 ms is over the"),
        (
            "  tools: [book_reservation, check_availability]",
            "",
            "expect.tools[1]: check_availability() was called, but before",
        ),
        (
            "  tools: [{name: book_reservation, args: {party_size: 3}}]",
            "",
            "expect.tools[0]: expected book_reservation(party_size=3), got book_reservation(",
        ),
        (
            "  tools: [{name: book_reservation, result: {status: not_booked}}]",
            "",
            "-> {status: 'not_booked'}, got book_reservation(party_size=2, name='Ravi') -> status",
        ),
        ("  not_tools: [book_reservation]", "", "expect.not_tools[0]: book_reservation() was"),
        ("  reservations: {count: 0}", "", "expect.reservations.count: expected 0, got 1: Ravi"),
        (
            "  reservations: {include: [{name: Ravi, status: cancelled}]}",
            "",
            "expect.reservations.include[0]: no reservation like {name: Ravi, status: cancelled}",
        ),
        ("  outcome: enquiry", "", "expect.outcome: expected enquiry, got booked"),
        ("  ended_by_bot: false", "", "expect.ended_by_bot: expected false, but the bot ended"),
    ],
)
def test_each_check_fails_with_what_it_expected(expect, turn_expect, failure):
    failures = evaluate(spec(expect, turn_expect), RUN, STORED)
    assert len(failures) == 1, failures
    assert failure in failures[0]


def test_turns_after_the_bot_hung_up_fail_the_scenario():
    cut = ScenarioRun(
        "text",
        "test",
        "Hello",
        [TurnRun(0, "say", "bye", ended=True), TurnRun(1, "say", "Ravi", played=False)],
        outcome="enquiry",
    )
    spec_text = BOOKING.format(name="cut", expect="  outcome: enquiry").replace(
        '  - say: "yes"\n', ""
    )
    failures = evaluate(parse_scenario(spec_text, "cut.yaml"), cut, [])
    assert failures == ["turn 2 (say 'Ravi'): not played: the call ended at turn 1"]


def test_scenarios_run_side_by_side_and_report_in_order():
    chosen = [s for s in SHIPPED if s.name in {"hours-question", "plain-booking-saturday"}]
    heard: list[str] = []

    results = asyncio.run(
        run_scenarios(chosen, ["text"], SETTINGS, lambda r: heard.append(r.scenario.name), jobs=2)
    )

    assert [r.scenario.name for r in results] == heard == [s.name for s in chosen]
    assert all(result.passed for result in results)


def test_jobs_below_one_is_a_usage_error(tmp_path, capsys):
    status, _, err = command(capsys, write(tmp_path, "one"), "--jobs", "0")
    assert status == 2 and "--jobs must be at least 1" in err


def test_the_bot_hangs_up_only_once_the_silence_adds_up_to_hangup_secs(tmp_path):
    # Dakshin Dosa House: re-prompt after 7 s, goodbye at 18 s of silence in all, as on the
    # phone (bot.call), not 7 s after the re-prompt.
    path = tmp_path / "quiet.yaml"
    path.write_text(
        "name: quiet\nbusiness: dakshin-dosa-house\nnow: '2026-03-10 18:30'\nturns:\n"
        "  - silence: 8\n    expect: {says: [Are you still there], ends_call: false}\n"
        "  - silence: 8\n    expect: {ends_call: false}\n"
        "  - silence: 2\n    expect: {says: [Goodbye], ends_call: true}\n"
        "expect: {outcome: abandoned}\n"
    )
    (scenario,) = load_scenarios([path], DIRECTORY)
    result = asyncio.run(run_scenario(scenario, "text", SETTINGS))
    assert result.passed, result.problems


def test_a_lookup_of_a_misheard_code_matches_as_the_code_it_found():
    check = ToolCheck(name="find_reservation", args={"code": "HX7K3P"}, result={"found": 1})
    found = {"code": "HX7K3P", "name": "Deepa"}
    near = ToolCall(
        "find_reservation",
        {"code": "HH7K3T"},
        {"found": 1, "reservations": [found], "heard_code": "HH7K3T"},
        1,
    )
    exact_miss = ToolCall("find_reservation", {"code": "HH7K3T"}, {"found": 0}, 1)
    other = ToolCall(
        "find_reservation",
        {"code": "TN4M9X"},
        {"found": 1, "reservations": [{"code": "TN4M9W"}], "heard_code": "TN4M9X"},
        1,
    )

    assert tool_matches(check, near)
    assert near.resolved_arguments == {"code": "HX7K3P"}
    assert not tool_matches(check, exact_miss)
    assert not tool_matches(check, other)


def test_a_caller_voice_that_is_not_installed_is_a_usage_error(tmp_path, capsys, monkeypatch):
    from bot.simulated_caller import voice

    monkeypatch.setattr(voice, "flite_program", lambda: None)
    scenario = write(tmp_path, "one")
    status, _, err = command(capsys, scenario, "--mode", "audio", "--caller-voice", "flite")
    assert status == 2 and "--caller-voice: Flite is not installed" in err


def test_audio_mode_speaks_with_the_caller_voice_asked_for(monkeypatch):
    import bot.scenarios

    voices: list[str] = []

    async def fake_audio(scenario, settings, url, caller_voice="auto"):
        voices.append(caller_voice)
        raise RuntimeError("not played")

    monkeypatch.setitem(bot.scenarios.MODES, "audio", fake_audio)
    english = next(s for s in SHIPPED if "audio" in s.spec.run_modes)
    result = asyncio.run(run_scenario(english, "audio", SETTINGS, "espeak"))
    assert voices == ["espeak"] and result.error == "RuntimeError: not played"
