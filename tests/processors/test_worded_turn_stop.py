import asyncio
from types import SimpleNamespace
from typing import cast

import pytest
from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer, EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.frames.frames import (
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.utils.asyncio.task_manager import TaskManager

from processors.worded_turn_stop import WordedTurnStopStrategy, words_finish_the_turn


@pytest.mark.parametrize(
    "text",
    [
        "Thank you, bye",
        "I would like to book a table for four tomorrow at eight pm.",
        "My name is Ravi",
        "Yes, that's right",
        "no thank you",
        "kal shaam saat baje chaar log",
        "हाँ, ठीक है जी",
        "Can you book it for me?",
    ],
)
def test_finished_sentences_finish_the_turn(text):
    assert words_finish_the_turn(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "...",
        "Hello,",
        "No.",
        "yes please",
        "I would like to book a table for",
        "I would like",
        "tomorrow at",
        "for four people and",
        "so um",
        "Uh,",
        "a table for four, ",
        "I was thinking...",
        "kal shaam ko",
        "chaar log aur",
        "कल शाम को",
        "मुझे एक",
    ],
)
def test_sentences_left_hanging_do_not(text):
    assert not words_finish_the_turn(text)


class Undecided:
    """A turn analyzer that always hears the caller as mid-sentence."""

    params = SmartTurnParams(stop_secs=3.0)

    def set_sample_rate(self, sample_rate):
        pass

    def append_audio(self, buffer, is_speech):
        return EndOfTurnState.INCOMPLETE

    async def analyze_end_of_turn(self):
        return EndOfTurnState.INCOMPLETE, None

    def update_vad_start_secs(self, secs):
        pass

    def clear(self):
        pass

    async def cleanup(self):
        pass


async def turn_ends(*frames) -> bool:
    """Whether the strategy ends the turn after these frames, within 0.5 s."""
    strategy = WordedTurnStopStrategy(turn_analyzer=cast(BaseTurnAnalyzer, Undecided()))
    setup = SimpleNamespace(
        task_manager=TaskManager(loop=asyncio.get_running_loop()), audio_in_sample_rate=8000
    )
    await strategy.setup(cast(FrameProcessorSetup, setup))
    stopped = asyncio.Event()

    @strategy.event_handler("on_user_turn_stopped")
    async def on_stopped(_strategy, _params):
        stopped.set()

    for frame in (VADUserStartedSpeakingFrame(start_secs=0.2), *frames):
        await strategy.process_frame(frame)
    try:
        async with asyncio.timeout(0.5):
            await stopped.wait()
        return True
    except TimeoutError:
        return False
    finally:
        await strategy.cleanup()


def final(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text, "caller", "2026-12-04T18:00:00Z", finalized=True)


async def test_a_finished_sentence_ends_the_turn_though_the_analyzer_would_wait():
    assert await turn_ends(VADUserStoppedSpeakingFrame(stop_secs=0.2), final("Thank you, bye"))


async def test_the_transcript_may_come_before_the_vad_stops():
    assert await turn_ends(final("Thank you, bye"), VADUserStoppedSpeakingFrame(stop_secs=0.2))


async def test_words_left_hanging_leave_the_analyzer_s_verdict_standing():
    assert not await turn_ends(
        VADUserStoppedSpeakingFrame(stop_secs=0.2), final("I would like a table for")
    )


async def test_nothing_ends_while_the_vad_still_hears_speech():
    assert not await turn_ends(final("Thank you, bye"))


async def test_words_still_coming_in_do_not_end_the_turn():
    assert not await turn_ends(
        final("Thank you"),
        InterimTranscriptionFrame("bye and", "caller", "2026-12-04T18:00:00Z"),
        VADUserStoppedSpeakingFrame(stop_secs=0.2),
    )
