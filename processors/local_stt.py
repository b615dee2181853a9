"""Offline speech-to-text with pocketsphinx: no keys, no network, models from the wheel.

:class:`PocketsphinxSTTService` recognises US-English speech against a language model of
restaurant-reservation phrasings (see :mod:`processors.language_model`), so it hears booking
requests, dates, times, party sizes, yes/no answers and common Indian names well, and little
else. It needs VAD frames, as pipecat's user aggregator broadcasts them: an utterance starts at
``VADUserStartedSpeakingFrame`` (with a little audio from before it, since the VAD decides
late) and ends at ``VADUserStoppedSpeakingFrame``, when the final transcript is pushed at once,
marked ``finalized`` so the turn can end without waiting out the STT timeout.

All decoder calls run in one worker thread per service, in order, fed from a queue by one
task, so the event loop never waits on recognition and audio frames pass straight through.
While the caller is silent no decoding happens at all; the last two seconds of audio are kept
for the next utterance's start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pocketsphinx
from loguru import logger
from pipecat.audio.resamplers.base_audio_resampler import BaseAudioResampler
from pipecat.audio.utils import create_stream_resampler
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InterimTranscriptionFrame,
    StartFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessorSetup
from pipecat.services.settings import STTSettings
from pipecat.services.stt_service import STTService
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601

from frames.listening import ListeningForFrame
from processors.language_model import recogniser_model

DECODER_SAMPLE_RATE = 16000
"""The rate of the wheel's en-US acoustic model."""

POCKETSPHINX_TTFS_P99 = 0.3
"""Speech end to final transcript, p99, with VAD stop_secs 0.2: the VAD's 0.2 s plus the final
decode, which took 3 to 12 ms after the VAD stop on 2 cores (see the tests); rounded up."""

TELEPHONE_CMN = "45.2,3.1,-6.8,14.1,-4.8,-5.3,4.1,-14.0,-0.5,-3.7,-1.2,5.2,-6.0"
"""Initial cepstral mean for 8 kHz telephone audio (upsampled to 16 kHz and band-extended).

The decoder normalises features by a running cepstral mean that it updates only every few
seconds of speech and at the end of each utterance, so a call's first utterance is decoded
with the initial value. pocketsphinx's own (40,3,-1) suits no phone caller: with it, first
utterances came out 64 % wrong. This is the average of the means measured at the end of the
scenarios' calls (``bench.stt_wer``, through 8 kHz μ-law and :class:`BandExtender` at
:data:`BAND_EXTENSION_GAIN`) in the two simulated callers' voices: Flite's rms, made from
recordings of a person (40.6,-2.8,0.5,12.7,1.3,-4.0,4.7,-10.8,-4.5,-1.8,-0.1,5.6,-3.8), and
espeak-ng's formant voice (49.7,8.9,-14.1,15.6,-10.9,-6.6,3.5,-17.1,3.5,-5.6,-2.2,4.9,-8.2).
Decoding each scenario line and held-out line that opens a call as a call's first utterance,
each voice's own mean gave 5.4 % (Flite) and 16 % (espeak-ng) word errors, the other's 9.4 % and
28 %, and the average 5.6 % and 22 %; the demo's first line ("... tomorrow evening at eight")
was heard as "... that's it" under espeak-ng's mean in Flite's voice."""

WIDEBAND_CMN = "58.1,4.7,-5.0,18.3,-15.4,1.7,-2.7,-10.9,-1.2,-9.0,6.8,-4.2,-0.9"
"""Initial cepstral mean for true 16 kHz audio (WebRTC, a local microphone), measured alike."""

DEFAULT_DECODER_OPTIONS: Mapping[str, Any] = {
    # The language model's weight against the acoustics (pocketsphinx's default: 6.5). The
    # model is narrow and callers keep to it; 10 cut the word error rate on the scenario
    # lines over the phone from 34 % to 32 % and on held-out lines from 29 % to 24 %.
    "lw": 10.0,
    # The second, flat-lexicon pass adds ~40 ms per 3 s of speech at the end of each turn,
    # for no better accuracy on this small model.
    "fwdflat": False,
    "loglevel": "FATAL",
}

BAND_EXTENSION_GAIN = 1.0
"""How loud the band extension (:class:`BandExtender`) makes the 4-7 kHz band it invents."""

_BAND_TAPS = 63
_EXCITATION_FROM_HZ = 2000
_EXTENSION_FROM_HZ = 4200

_T = TypeVar("_T")


def _fir_highpass(cutoff_hz: float, taps: int = _BAND_TAPS) -> Any:
    """A linear-phase high-pass FIR filter at the decoder's rate (Hamming-windowed sinc)."""
    n = np.arange(taps) - (taps - 1) / 2
    fraction = 2 * cutoff_hz / DECODER_SAMPLE_RATE
    lowpass = np.sinc(fraction * n) * fraction * np.hamming(taps)
    highpass = -lowpass
    highpass[(taps - 1) // 2] += 1.0
    return highpass


class BandExtender:
    """Invents the 4-7 kHz band that an 8 kHz phone line cut off, for the wideband model.

    The en-US acoustic model was trained on 16 kHz speech; over the phone its filters above
    4 kHz hear nothing, so fricatives lose what tells them apart: "yes" came out as "yeah",
    "six" and "seven" as anything. Noise-excited bandwidth extension puts them back: the
    2-4 kHz band (strong in an "s", weak in vowels) times white noise, high-passed above
    4.2 kHz, is added to the speech. On the scenario lines over 8 kHz μ-law it cut the word
    error rate from about 32 % to 24-26 % (see ``bench.stt_wer``). Streaming and stateful: one per
    audio stream, fed 16 kHz PCM16 in order; it delays the audio by 62 samples (4 ms).

    Args:
        gain: How loud the invented band is.
        seed: Seeds the noise, so the same audio always gives the same output.
    """

    def __init__(self, gain: float = BAND_EXTENSION_GAIN, seed: int = 0) -> None:
        self._gain = gain
        self._excitation_filter = _fir_highpass(_EXCITATION_FROM_HZ)
        self._extension_filter = _fir_highpass(_EXTENSION_FROM_HZ)
        self._input = np.zeros(_BAND_TAPS - 1)
        self._excitation = np.zeros(_BAND_TAPS - 1)
        self._noise = np.random.default_rng(seed)

    def process(self, pcm: bytes) -> bytes:
        """The next piece of the extended stream, as long as ``pcm`` (16 kHz PCM16)."""
        x = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
        if x.size == 0:
            return b""
        history = np.concatenate([self._input, x])
        self._input = history[-(_BAND_TAPS - 1) :]
        band = np.convolve(history, self._excitation_filter, mode="valid")
        excitation = np.concatenate([self._excitation, band * self._noise.standard_normal(x.size)])
        self._excitation = excitation[-(_BAND_TAPS - 1) :]
        extension = np.convolve(excitation, self._extension_filter, mode="valid")
        # Both filters delay by half their length: the speech is delayed alike to line up.
        out = history[: x.size] + self._gain * extension
        return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()


class DecoderInput:
    """Audio on its way to the decoder: resampled to 16 kHz, band-extended if it was narrow.

    One per audio stream (a call), fed in order; used by the service and by ``bench.stt_wer``.

    Args:
        sample_rate: The rate of the audio given to :meth:`convert`.
        band_extension: Gain of the :class:`BandExtender`, or 0 for none (wideband audio).
    """

    def __init__(self, sample_rate: int, band_extension: float = BAND_EXTENSION_GAIN) -> None:
        self.sample_rate = sample_rate
        self._resampler: BaseAudioResampler | None = None
        if sample_rate != DECODER_SAMPLE_RATE:
            self._resampler = create_stream_resampler()
        self._extender = BandExtender(band_extension) if band_extension > 0 else None

    async def convert(self, audio: bytes) -> bytes:
        """The next piece of the stream at the decoder's rate (possibly shorter at first)."""
        if self._resampler is not None:
            audio = await self._resampler.resample(audio, self.sample_rate, DECODER_SAMPLE_RATE)
        if self._extender is not None and audio:
            audio = self._extender.process(audio)
        return audio


def decoder_options_for(
    cmn_init: str = TELEPHONE_CMN, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``pocketsphinx.Config`` options of a decoder: the defaults, the CMN, then overrides.

    Args:
        cmn_init: The initial cepstral mean (:data:`TELEPHONE_CMN` or :data:`WIDEBAND_CMN`).
        overrides: Options that replace the defaults (e.g. ``{"lw": 8.0}``).
    """
    return {**DEFAULT_DECODER_OPTIONS, "cmninit": cmn_init, **(overrides or {})}


def load_decoder(
    business_phrases: Sequence[str] = (),
    extra_names: Sequence[str] = (),
    options: Mapping[str, Any] | None = None,
) -> Any:
    """A ``pocketsphinx.Decoder`` on the business's language model, as a call uses.

    Builds (or reuses) the model; blocking, so a pipeline calls it off the event loop.

    Args:
        business_phrases: The business's own words (see :func:`recogniser_model`).
        extra_names: Caller names to recognise besides the built-in ones.
        options: The decoder's options; None means :func:`decoder_options_for` ``()``, the
            telephone set-up.
    """
    model = recogniser_model(business_phrases, extra_names)
    return pocketsphinx.Decoder(
        lm=model.lm_path,
        dict=model.dict_path,
        samprate=DECODER_SAMPLE_RATE,
        **(decoder_options_for() if options is None else options),
    )


def recognise(decoder: Any, pcm: bytes, pre_roll: bytes = b"", chunk_bytes: int = 640) -> str:
    """One utterance's final transcript, fed as the service feeds it (16 kHz PCM16).

    Args:
        decoder: From :func:`load_decoder`; its cepstral mean carries over utterances, as in
            a call.
        pcm: The utterance's audio at :data:`DECODER_SAMPLE_RATE`.
        pre_roll: Audio from before the VAD noticed speech, fed first in one piece.
        chunk_bytes: The size of the pieces the rest is fed in (20 ms by default).
    """
    decoder.start_utt()
    if pre_roll:
        decoder.process_raw(pre_roll)
    for start in range(0, len(pcm), chunk_bytes):
        decoder.process_raw(pcm[start : start + chunk_bytes])
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr.strip() if hypothesis is not None else ""


@dataclass(frozen=True)
class _Listen:
    """Load the language model of the topic the bot asked about, for the next utterance."""

    topic: str | None


@dataclass(frozen=True)
class _Begin:
    """Start an utterance with the audio from just before the VAD noticed speech."""

    pre_roll: bytes


@dataclass(frozen=True)
class _Finish:
    """End the utterance and push its final transcript."""

    requested_at: float


@dataclass(frozen=True)
class _Stop:
    """End the decoding task (after the commands queued before it)."""


class PocketsphinxSTTService(STTService):
    """Streaming speech recognition with pocketsphinx, tuned to table reservations.

    Pushes ``InterimTranscriptionFrame`` every ``interim_interval_secs`` while the caller
    speaks and one ``TranscriptionFrame`` (``finalized=True``) when the VAD says they stopped.
    English only: pocketsphinx ships no Hindi model.

    Args:
        business_phrases: The business's own words as phrases callers say (its name, dishes,
            area), added to the language model.
        extra_names: Caller names to recognise besides the built-in common Indian names.
        interim_interval_secs: How often to push an interim transcript while speech lasts.
        pre_roll_secs: Audio fed from before the VAD's start, beyond its ``start_secs``. The
            VAD runs after the STT and hears a soft onset ("yes please") late: with 0.3 s
            the demo's "yes please" came out as "anita"; 0.6 s keeps the first word.
        cmn_init: The initial cepstral mean: :data:`TELEPHONE_CMN` for phone calls,
            :data:`WIDEBAND_CMN` for true 16 kHz audio.
        band_extension: The gain of the :class:`BandExtender` that restores the band above
            4 kHz to phone audio; 0 for none. None means :data:`BAND_EXTENSION_GAIN` with
            :data:`TELEPHONE_CMN`, else none.
        decoder_options: pocketsphinx ``Config`` options that override
            :data:`DEFAULT_DECODER_OPTIONS` (e.g. ``{"lw": 8.0}``).
        sample_rate: Input rate; None means the pipeline's. Resampled to 16 kHz if it differs.
        ttfs_p99_latency: Speech end to final transcript, p99, for turn strategies.
        **kwargs: Passed to ``STTService``.
    """

    def __init__(
        self,
        *,
        business_phrases: Sequence[str] = (),
        extra_names: Sequence[str] = (),
        interim_interval_secs: float = 0.25,
        pre_roll_secs: float = 0.6,
        cmn_init: str = TELEPHONE_CMN,
        band_extension: float | None = None,
        decoder_options: Mapping[str, Any] | None = None,
        sample_rate: int | None = None,
        ttfs_p99_latency: float | None = POCKETSPHINX_TTFS_P99,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            sample_rate=sample_rate,
            ttfs_p99_latency=ttfs_p99_latency,
            settings=STTSettings(model="pocketsphinx-en-us", language=Language.EN_US),
            **kwargs,
        )
        self._business_phrases = tuple(business_phrases)
        self._extra_names = tuple(extra_names)
        self._interim_interval_secs = interim_interval_secs
        self._pre_roll_secs = pre_roll_secs
        self._decoder_options = decoder_options_for(cmn_init, decoder_options)
        if band_extension is None:
            band_extension = BAND_EXTENSION_GAIN if cmn_init == TELEPHONE_CMN else 0.0
        self._band_extension = band_extension

        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pocketsphinx")
        self._decoder: Any = None
        self._general_lm_path = ""
        self._input: DecoderInput | None = None
        self._commands: asyncio.Queue[bytes | _Listen | _Begin | _Finish | _Stop] = asyncio.Queue()
        self._topic: str | None = None  # worker thread: the model the next utterance uses
        self._topics: set[str] = set()  # worker thread: the topics' models the decoder has
        self._decode_task: asyncio.Task[None] | None = None
        self._recent_audio = bytearray()  # the last two seconds, while not in an utterance
        self._in_utterance = False
        self._last_interim_at = 0.0
        self._last_interim_text = ""

    def can_generate_metrics(self) -> bool:
        """Report TTFB (speech end to final transcript) like the cloud STT services."""
        return True

    async def setup(self, setup: FrameProcessorSetup) -> None:  # type: ignore[override]
        """Build (or reuse) the language model and load a decoder, off the event loop."""
        await super().setup(setup)
        started = time.perf_counter()
        self._decoder = await self._in_worker(self._load_decoder)
        logger.debug(f"{self}: decoder ready in {time.perf_counter() - started:.3f}s")

    async def start(self, frame: StartFrame) -> None:
        """Start the task that feeds the decoder."""
        await super().start(frame)
        if self._decode_task is None:
            self._decode_task = self.create_task(self._decode_commands(), name="pocketsphinx")

    async def stop(self, frame: EndFrame) -> None:
        """Finish the utterance in progress, so its transcript is not lost, then stop."""
        if self._in_utterance:
            await self._finish_utterance()
        if self._decode_task is not None:
            self._commands.put_nowait(_Stop())
            await self._decode_task
            self._decode_task = None
        await super().stop(frame)

    async def cancel(self, frame: CancelFrame) -> None:
        """Drop queued audio and stop decoding now."""
        await self._cancel_decode_task()
        await super().cancel(frame)

    async def cleanup(self) -> None:
        """Stop the task and release the worker thread."""
        await super().cleanup()
        await self._cancel_decode_task()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        """Queue ``audio`` for the decoder while the caller speaks, else keep it for later.

        Transcripts are pushed by the decoding task, so nothing is yielded here.
        """
        if self._input is None or self._input.sample_rate != self.sample_rate:
            self._input = DecoderInput(self.sample_rate, self._band_extension)
        audio = await self._input.convert(audio)
        if not audio:
            pass  # the resampler holds the first few milliseconds back
        elif self._in_utterance:
            self._commands.put_nowait(audio)
        else:
            self._recent_audio += audio
            del self._recent_audio[: -DECODER_SAMPLE_RATE * 2 * 2]  # keep two seconds
        yield None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Start an utterance when the VAD hears speech; finish it when the VAD stops.

        A :class:`~frames.listening.ListeningForFrame` from the dialogue switches the language
        model for the next utterance to its topic's (see
        :data:`processors.language_model.TOPICS`), loaded while the bot still speaks.
        """
        if isinstance(frame, ListeningForFrame):  # the hint ends here
            self._commands.put_nowait(_Listen(frame.topic))
            return
        await super().process_frame(frame, direction)

        if isinstance(frame, VADUserStartedSpeakingFrame):
            await self._begin_utterance(frame)
        elif isinstance(frame, VADUserStoppedSpeakingFrame) and self._in_utterance:
            await self._finish_utterance()

    async def _begin_utterance(self, frame: VADUserStartedSpeakingFrame) -> None:
        if self._in_utterance or self.is_muted:
            return
        pre_roll_bytes = int((frame.start_secs + self._pre_roll_secs) * DECODER_SAMPLE_RATE) * 2
        self._commands.put_nowait(_Begin(bytes(self._recent_audio[-pre_roll_bytes:])))
        self._recent_audio.clear()
        self._in_utterance = True

    async def _finish_utterance(self) -> None:
        self._in_utterance = False
        self._commands.put_nowait(_Finish(time.perf_counter()))

    async def _decode_commands(self) -> None:
        """Apply queued commands to the decoder in order, pushing transcripts as they come."""
        while not isinstance(command := await self._commands.get(), _Stop):
            try:
                if isinstance(command, bytes):
                    await self._feed(command)
                elif isinstance(command, _Listen):
                    await self._in_worker(self._listen, command.topic)
                elif isinstance(command, _Begin):
                    await self._in_worker(self._begin, command.pre_roll)
                    self._last_interim_at = time.monotonic()
                    self._last_interim_text = ""
                elif isinstance(command, _Finish):
                    await self._finish(command)
            except Exception as e:  # the decoder raises more than RuntimeError
                await self.push_error(f"{self}: recognition failed: {e}", exception=e)

    async def _feed(self, audio: bytes) -> None:
        want_text = time.monotonic() - self._last_interim_at >= self._interim_interval_secs
        text = await self._in_worker(self._process, audio, want_text)
        if not want_text:
            return
        self._last_interim_at = time.monotonic()
        if text and text != self._last_interim_text:
            self._last_interim_text = text
            await self.push_frame(
                InterimTranscriptionFrame(
                    text, self._user_id, time_now_iso8601(), language=Language.EN_US
                )
            )

    async def _finish(self, command: _Finish) -> None:
        text = await self._in_worker(self._end)
        await self.emit_stt_usage_metrics()
        elapsed_ms = (time.perf_counter() - command.requested_at) * 1000
        logger.debug(f"{self}: final transcript {elapsed_ms:.1f} ms after the end of speech")
        if not text:
            await self.cancel_ttfb_metrics()
            return
        await self.push_frame(
            TranscriptionFrame(
                text,
                self._user_id,
                time_now_iso8601(),
                language=Language.EN_US,
                finalized=True,
            )
        )

    # The methods below run in the worker thread only.

    def _load_decoder(self) -> Any:
        self._general_lm_path = recogniser_model(self._business_phrases, self._extra_names).lm_path
        return load_decoder(self._business_phrases, self._extra_names, self._decoder_options)

    def _listen(self, topic: str | None) -> None:
        model = recogniser_model(self._business_phrases, self._extra_names, topic)
        name = "_default" if model.lm_path == self._general_lm_path else Path(model.lm_path).stem
        if name not in self._topics and name != "_default":
            self._decoder.add_lm_file(name, model.lm_path)
            self._topics.add(name)
        self._topic = name

    def _begin(self, pre_roll: bytes) -> None:
        if self._topic is not None and self._decoder.current_search() != self._topic:
            self._decoder.activate_search(self._topic)
        self._decoder.start_utt()
        if pre_roll:
            self._decoder.process_raw(pre_roll)

    def _process(self, audio: bytes, want_text: bool) -> str:
        self._decoder.process_raw(audio)
        return self._hypothesis() if want_text else ""

    def _end(self) -> str:
        self._decoder.end_utt()
        return self._hypothesis()

    def _hypothesis(self) -> str:
        hypothesis = self._decoder.hyp()
        return hypothesis.hypstr.strip() if hypothesis is not None else ""

    async def _in_worker(self, function: Callable[..., _T], *args: Any) -> _T:
        """Run ``function`` in this service's one decoder thread, after earlier calls."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    async def _cancel_decode_task(self) -> None:
        if self._decode_task is not None:
            await self.cancel_task(self._decode_task)
            self._decode_task = None
