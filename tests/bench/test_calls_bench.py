import json
from pathlib import Path

import pytest

from tests.bot.test_cli import ROOT, run_bot


@pytest.mark.slow
def test_bench_calls_reports_a_level_and_writes_json(tmp_path: Path):
    figures = tmp_path / "calls.json"
    result = run_bot(
        "bench",
        "calls",
        "--sweep",
        "1,2",
        "--turns",
        "2",
        "--json",
        str(figures),
        cwd=ROOT,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| server | calls | turn p50 / p95 / p99 ms")
    assert [row.split("|")[2].strip() for row in rows[1:]] == ["1", "2"]
    assert all(row.split("|")[1].strip() == "vartalaap" for row in rows[1:])
    assert "Largest load meeting the targets" in result.stdout
    reports = json.loads(figures.read_text())
    assert [r["calls"] for r in reports] == [1, 2]
    for report in reports:
        assert report["failed_calls"] == 0, report["errors"]
        assert report["answered_turns"] >= 2 * report["calls"]
        assert report["greeting_ms"]["p95"] is not None
        assert report["server_cpu_percent"] > 0 and report["server_rss_mb"] > 50
        assert report["client_cpu_percent"] > 0


def test_the_fake_stt_hears_the_line_whose_recording_matches_the_audio():
    from bench.calls import transcript_of
    from tests.fakes.audio import UTTERANCES, load_utterance

    padded = bytes(1600) + load_utterance("book_table") + bytes(3200)  # the VAD's margins
    assert transcript_of(7, padded) == UTTERANCES["book_table"]
    assert transcript_of(0, load_utterance("hello")) == UTTERANCES["hello"]


def test_bench_calls_refuses_a_bad_sweep(tmp_path: Path):
    result = run_bot("bench", "calls", "--sweep", "1,ten", cwd=tmp_path)
    assert result.returncode == 2
    assert "--sweep: not a positive number of calls: 'ten'" in result.stderr


def test_peer_ratios_compare_each_level_run_against_both():
    from bench.calls import RunReport, ratios

    def report(server: str, p50: float, underruns: int) -> RunReport:
        figures: dict[str, float | None] = {"p50": p50, "p95": p50 * 1.5, "p99": p50 * 1.5}
        return RunReport(
            calls=10,
            seconds=30.0,
            turn_ms=figures,
            fallback_turns=0,
            answered_turns=30,
            greeting_ms=figures,
            underruns=underruns,
            failed_calls=0,
            server_cpu_percent=50.0,
            server_rss_mb=400.0,
            server_rss_mb_per_call=20.0,
            server=server,
        )

    (line,) = ratios([report("vartalaap", 1000.0, 0), report("peer", 2200.0, 433)])
    assert line.startswith("peer / vartalaap at 10 calls: turn p50 2.2x, p95 2.2x")
    assert "underruns 433 vs 0" in line
    assert ratios([report("vartalaap", 1000.0, 0)]) == []
