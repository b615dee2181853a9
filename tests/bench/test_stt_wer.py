import io
import re
from pathlib import Path

from bench import stt_wer

ROOT = Path(__file__).resolve().parents[2]


def test_stt_wer_hears_one_scenario_and_prints_the_word_error_rate():
    out = io.StringIO()

    stt_wer.main(
        [
            "-k",
            "returning-caller",
            "--verbose",
            "--scenarios",
            str(ROOT / "scenarios"),
            "--bots",
            str(ROOT / "bots.yaml"),
        ],
        out,
    )

    report = out.getvalue()
    assert "-- returning-caller" in report
    # The reference has its numerals in words, as the caller's voice says them.
    assert "said  a table for two tomorrow at eight pm please" in report
    assert re.search(r"heard .*\btable\b", report)
    assert re.search(r"scenario lines: WER \d+\.\d% \(\d+ errors / \d+ words\)", report)
    assert re.search(r"decode mean \d+ ms", report)


def test_held_out_lines_are_not_scenario_lines():
    scenario_lines = {
        line
        for call in stt_wer.scenario_calls([ROOT / "scenarios"], ROOT / "bots.yaml")
        for line in call.lines
    }

    assert len(stt_wer.EXTRA_LINES) >= 20
    assert not scenario_lines & set(stt_wer.EXTRA_LINES)
