"""The shipped English scenarios in audio mode, as the issue measures them.

Each caller line is synthesised in the espeak-ng caller voice and said over the simulated
Plivo line (signed webhook, token, websocket, 8 kHz μ-law at real-time pace) to the real
server, where pocketsphinx hears it and the dialogue engine answers. Several calls run at
once: they mostly wait on the bot's real-time speech.

pocketsphinx on espeak-ng speech mishears about a quarter of the words, so not every
scenario passes (11-13 of 27 on 2026-12-04, word error rate 23-25 %); the floor below is that
less a margin for calls that time differently under load, and it rises as recognition does.
"""

import asyncio

import pytest

from bot.scenarios import pass_rates, run_scenarios
from tests.bot.test_scenarios import SETTINGS, SHIPPED

pytestmark = pytest.mark.slow

JOBS = 6
"""Calls at once: the run is bound by the bot's speech, not by the 2 cores."""
MIN_PASS_RATE = 0.30
MAX_WORD_ERROR_RATE = 0.30


@pytest.mark.timeout(600)
def test_english_scenarios_pass_in_audio_mode():
    english = [scenario for scenario in SHIPPED if "audio" in scenario.spec.run_modes]
    assert len(english) >= 25

    results = asyncio.run(run_scenarios(english, ["audio"], SETTINGS, jobs=JOBS))

    for result in results:
        print(f"{'PASS' if result.passed else 'FAIL'} {result.scenario.name}", *result.problems[:1])
    rates = pass_rates(results, ["audio"])["audio"]
    print(f"audio: {rates['passed']}/{rates['total']}, WER {rates['word_error_rate']:.1%}")
    assert rates["pass_rate"] >= MIN_PASS_RATE
    assert rates["word_error_rate"] <= MAX_WORD_ERROR_RATE
