import asyncio
import time

from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.turns.user_start import TranscriptionUserTurnStartStrategy, VADUserTurnStartStrategy
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy

from bot.services import SMART_TURN_STOP_SECS, user_turn_strategies
from processors.smart_turn import WarmSmartTurnAnalyzer
from tests.fakes.audio import load_utterance


class CountingAnalyzer(WarmSmartTurnAnalyzer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.runs: list[int] = []

    def _predict_endpoint(self, audio_array):
        self.runs.append(len(audio_array))
        return super()._predict_endpoint(audio_array)


async def test_the_model_runs_once_on_silence_when_the_rate_is_set():
    analyzer = CountingAnalyzer()
    assert analyzer.runs == []
    analyzer.set_sample_rate(8000)
    await asyncio.get_running_loop().run_in_executor(analyzer._model_executor, lambda: None)
    assert analyzer.runs == [8000]  # one second of silence, in the model's own thread
    await analyzer.cleanup()


async def test_a_warmed_up_analyzer_judges_a_turn_as_before():
    analyzer = WarmSmartTurnAnalyzer()
    analyzer.set_sample_rate(8000)
    pcm = load_utterance("yes_right") + bytes(3200)  # and 0.2 s of silence
    for start in range(0, len(pcm), 320):
        analyzer.append_audio(pcm[start : start + 320], is_speech=start < len(pcm) - 3200)
    began = time.perf_counter()
    state, metrics = await analyzer.analyze_end_of_turn()
    assert state is EndOfTurnState.COMPLETE and metrics is not None
    assert time.perf_counter() - began < 2.0
    await analyzer.cleanup()


def test_turns_end_by_smart_turn_with_a_short_fallback_and_start_as_pipecat_s_do():
    strategies = user_turn_strategies()
    assert [type(s) for s in strategies.start or []] == [
        VADUserTurnStartStrategy,
        TranscriptionUserTurnStartStrategy,
    ]
    (stop,) = strategies.stop or []
    assert isinstance(stop, TurnAnalyzerUserTurnStopStrategy)
    analyzer = stop._turn_analyzer
    assert isinstance(analyzer, WarmSmartTurnAnalyzer)
    assert analyzer.params.stop_secs == SMART_TURN_STOP_SECS < 1.0
