import asyncio
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_turn_latency_bench_prints_percentiles_and_breakdown(tmp_path: Path):
    out = tmp_path / "turns.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.turn_latency",
        "--calls",
        "1",
        "--warmup-calls",
        "0",
        "--out",
        str(out),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    report = stdout.decode()

    assert process.returncode == 0, stderr.decode()[-2000:]
    # One row per caller turn, then the percentiles of the headline figure and the breakdown.
    rows = [line for line in report.splitlines() if re.match(r"\s+1\s+\d\s+\w+", line)]
    assert len(rows) == 5
    figure = r"p50\s+[\d.]+\s+p95\s+[\d.]+\s+max\s+[\d.]+"
    assert re.search(r"last voiced frame -> first playAudio\s+" + figure, report)
    assert re.search(r"less VAD stop_secs\s+" + figure, report)
    assert re.search(r"stream start -> greeting playAudio\s+" + figure, report)
    assert "VAD stop_secs: 0.2 s" in report
    for stage in ("vad", "stt", "decide", "reply", "out", "llm_ttfb", "tts_ttfb", "smart_turn"):
        assert re.search(rf"^\s+{stage}\s+{figure}", report, re.MULTILINE), stage

    saved = json.loads(out.read_text())
    summary = saved["summary"]
    assert summary["turns"] == 5 and len(saved["turns"]) == 5
    timed = summary["beyond_stop_ms"]
    assert timed["n"] == 5 - summary["answered_early"]
    assert timed["p50"] <= timed["p95"] <= timed["max"]
    assert summary["latency_ms"]["p50"] - timed["p50"] == pytest.approx(200, abs=1)
    assert summary["greeting_ms"]["n"] == 1 and summary["greeting_ms"]["p50"] > 0
