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
from typing import Any, TypeVar

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

from processors.language_model import recogniser_model

DECODER_SAMPLE_RATE = 16000
"""The rate of the wheel's en-US acoustic model."""

POCKETSPHINX_TTFS_P99 = 0.3
"""Speech end to final transcript, p99, with VAD stop_secs 0.2: the VAD's 0.2 s plus the final
decode, which took 3 to 12 ms after the VAD stop on 2 cores (see the tests); rounded up."""

TELEPHONE_CMN = "51.7,24.2,-31.0,37.8,-24.9,-0.7,10.0,-27.6,12.2,-14.2,2.2,6.9,-13.9"
"""Initial cepstral mean for 8 kHz telephone audio (upsampled to 16 kHz, as Plivo's is).

The decoder normalises features by a running cepstral mean that it updates only every few
seconds of speech and at the end of each utterance, so a call's first utterance is decoded
with the initial value. pocketsphinx's
own (40,3,-1) suits neither channel: with it, first utterances over the phone came out 64 %
wrong, against 16 % with this one. Measured as the mean after six utterances in each of seven
espeak-ng voices through 8 kHz mu-law; the spread between voices was small, so it is mostly
the channel's."""

WIDEBAND_CMN = "58.1,4.7,-5.0,18.3,-15.4,1.7,-2.7,-10.9,-1.2,-9.0,6.8,-4.2,-0.9"
"""Initial cepstral mean for true 16 kHz audio (WebRTC, a local microphone), measured alike."""

DEFAULT_DECODER_OPTIONS: Mapping[str, Any] = {
    # The second, flat-lexicon pass adds ~40 ms per 3 s of speech at the end of each turn,
    # for no better accuracy on this small model.
    "fwdflat": False,
    "loglevel": "FATAL",
}

_T = TypeVar("_T")


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
        self._decoder_options = {
            **DEFAULT_DECODER_OPTIONS,
            "cmninit": cmn_init,
            **(decoder_options or {}),
        }

        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pocketsphinx")
        self._decoder: Any = None
        self._resampler: BaseAudioResampler | None = None
        self._commands: asyncio.Queue[bytes | _Begin | _Finish | _Stop] = asyncio.Queue()
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
        if self.sample_rate != DECODER_SAMPLE_RATE:
            self._resampler = create_stream_resampler()
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
        if self._resampler is not None:
            audio = await self._resampler.resample(audio, self.sample_rate, DECODER_SAMPLE_RATE)
        if not audio:
            pass  # the resampler holds the first few milliseconds back
        elif self._in_utterance:
            self._commands.put_nowait(audio)
        else:
            self._recent_audio += audio
            del self._recent_audio[: -DECODER_SAMPLE_RATE * 2 * 2]  # keep two seconds
        yield None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Start an utterance when the VAD hears speech; finish it when the VAD stops."""
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
        model = recogniser_model(self._business_phrases, self._extra_names)
        return pocketsphinx.Decoder(
            lm=model.lm_path,
            dict=model.dict_path,
            samprate=DECODER_SAMPLE_RATE,
            **self._decoder_options,
        )

    def _begin(self, pre_roll: bytes) -> None:
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
