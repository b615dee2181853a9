import asyncio
import time

from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.turns.user_start import TranscriptionUserTurnStartStrategy, VADUserTurnStartStrategy

from bot.services import SMART_TURN_STOP_SECS, user_turn_strategies
from processors.smart_turn import SpeculativeSmartTurnAnalyzer, WarmSmartTurnAnalyzer
from processors.worded_turn_stop import WordedTurnStopStrategy
from tests.fakes.audio import load_utterance


class CountingAnalyzer(WarmSmartTurnAnalyzer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.runs: list[int] = []

    def _predict_endpoint(self, audio_array):
        self.runs.append(len(audio_array))
        return super()._predict_endpoint(audio_array)


async def test_the_first_analyzer_in_a_process_runs_the_model_once_on_silence(monkeypatch):
    monkeypatch.setattr(WarmSmartTurnAnalyzer, "_warmed_up", False)
    first, second = CountingAnalyzer(), CountingAnalyzer()
    assert first.runs == []
    first.set_sample_rate(8000)
    second.set_sample_rate(8000)
    await settled(first)
    await settled(second)
    assert first.runs == [8000]  # one second of silence, in the model's own thread
    assert second.runs == []  # the session it shares is warm already
    await first.cleanup()
    await second.cleanup()


def test_every_call_s_analyzer_runs_on_the_process_s_one_session():
    first, second = WarmSmartTurnAnalyzer(), SpeculativeSmartTurnAnalyzer()
    assert first._session is second._session


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
    assert isinstance(stop, WordedTurnStopStrategy)
    analyzer = stop._turn_analyzer
    assert isinstance(analyzer, SpeculativeSmartTurnAnalyzer)
    assert analyzer.params.stop_secs == SMART_TURN_STOP_SECS < 1.0


class CountingSpeculator(CountingAnalyzer, SpeculativeSmartTurnAnalyzer):
    pass


async def settled(analyzer: WarmSmartTurnAnalyzer) -> None:
    """Wait until the model's thread has run everything submitted so far."""
    await asyncio.get_running_loop().run_in_executor(analyzer._model_executor, lambda: None)


def feed(analyzer: SpeculativeSmartTurnAnalyzer, pcm: bytes) -> None:
    """Give the analyzer audio in 20 ms chunks while the VAD still has the caller speaking."""
    for start in range(0, len(pcm), 320):
        analyzer.append_audio(pcm[start : start + 320], is_speech=True)


async def test_the_verdict_is_reached_in_the_silence_before_the_vad_stops():
    analyzer = CountingSpeculator()
    analyzer.set_sample_rate(8000)
    feed(analyzer, load_utterance("yes_right"))
    await settled(analyzer)
    warm_up_runs = len(analyzer.runs)
    feed(analyzer, bytes(1600))  # 0.1 s of quiet: the model runs before the VAD's 0.2 s
    await settled(analyzer)
    assert len(analyzer.runs) == warm_up_runs + 1
    feed(analyzer, bytes(1600))
    state, metrics = await analyzer.analyze_end_of_turn()  # the VAD stops: the guess answers
    assert state is EndOfTurnState.COMPLETE and metrics is not None
    assert len(analyzer.runs) == warm_up_runs + 1
    await analyzer.cleanup()


async def test_speech_after_the_guess_drops_it_and_the_whole_turn_is_judged():
    analyzer = CountingSpeculator()
    analyzer.set_sample_rate(8000)
    await settled(analyzer)
    warm_up_runs = len(analyzer.runs)
    line = load_utterance("name_ravi")
    feed(analyzer, line + bytes(1600))  # a pause long enough for a guess...
    await settled(analyzer)
    guessed = list(analyzer.runs)
    assert len(guessed) == warm_up_runs + 1
    feed(analyzer, line)  # ...but the caller goes on
    assert analyzer._speculation is None
    for _ in range(10):  # the VAD hears 0.2 s of silence and stops
        analyzer.append_audio(bytes(320), is_speech=False)
    state, metrics = await analyzer.analyze_end_of_turn()
    assert metrics is not None
    assert len(analyzer.runs) == len(guessed) + 1  # judged again, on both parts
    assert analyzer.runs[-1] > guessed[-1]
    await analyzer.cleanup()


async def test_short_gaps_between_words_are_not_guessed_on():
    analyzer = CountingSpeculator()
    analyzer.set_sample_rate(8000)
    await settled(analyzer)
    before = len(analyzer.runs)
    line = load_utterance("name_ravi")
    feed(analyzer, line + bytes(640) + line)  # 40 ms gap
    await settled(analyzer)
    assert len(analyzer.runs) == before
    await analyzer.cleanup()
