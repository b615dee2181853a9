"""The speech and language services of a call, built from the business's engine choices."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import aiohttp
from loguru import logger
from openai import Timeout
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.services.deepgram.tts import DeepgramHttpTTSService
from pipecat.services.groq.llm import GroqLLMService
from pipecat.services.llm_service import LLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.transcriptions.language import Language
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from bot.config import Business, Settings
from bot.prompt import Caller
from processors.apology import Apology, ClipKey, Synthesise, apology_text
from processors.dialogue import DialogueFacts, DialogueLLMService, spoken_hours
from processors.engine_watchdog import EngineWatchdog, FailureReport
from processors.local_stt import PocketsphinxSTTService
from processors.local_tts import EspeakTTSService, synthesise
from processors.phone_vad import PhoneVADAnalyzer
from processors.smart_turn import SpeculativeSmartTurnAnalyzer
from processors.worded_turn_stop import WordedTurnStopStrategy

CALL_IN_RATE = 8_000
"""Rate of caller audio inside a phone call's pipeline: Plivo's own, so nothing is resampled.

The phone line carries nothing above 4 kHz, and upsampling costs time: soxr's streaming
resampler (the serializer's) releases its output in blocks of about 100 ms, so at 16 kHz the
VAD heard the end of speech late. Over the recorded test lines and all alignments of the VAD's
windows, its stop came ~80 ms after the last voiced frame plus its ``stop_secs`` at 16 kHz,
~40 ms at 8 kHz. Silero runs at 8 kHz natively, smart-turn resamples each segment to 16 kHz
itself in one piece, and Deepgram takes 8 kHz linear16."""
PIPELINE_IN_RATE = 16_000
"""Rate of microphone audio (``python -m bot mic``): wideband, what Silero, smart-turn and
Deepgram like best."""
PIPELINE_OUT_RATE = 8_000
"""Rate of bot audio: Plivo's own, so the serializer only μ-law encodes it."""

LLM_TIMEOUT = Timeout(2.0, connect=1.0)
"""Limits on every Groq attempt: connected within 1 s, and never 2 s without a byte, whether
waiting for the response to start or between streamed chunks. A reply that stalls mid-stream
then ends in pipecat's "LLM completion timeout" error instead of holding the turn forever."""
LLM_MAX_RETRIES = 1
"""Retries of a 5xx, 429, timeout or dropped connection (the OpenAI SDK's default is 2). One
retry, after its ~0.5 s back-off, fits the caller's budget; a second would not."""
LLM_FIRST_RESPONSE_SECS = 1.5
"""Re-issue a request once when its response has not started within this long (pipecat's
``retry_on_timeout``): a request stuck on a bad backend often answers at once when re-sent,
before the engine watchdog apologises at 2 s. The re-sent request is bounded by ``LLM_TIMEOUT``."""
DEEPGRAM_ENDPOINTING_MS = 500
"""Deepgram's own end-of-speech silence, set well past the VAD's (0.2 s, plus its lateness).

The VAD and smart-turn decide where a turn ends; at the VAD's stop pipecat sends ``Finalize``
and Deepgram's answer is the turn's last transcript, marked finalized, which lets the turn end
as soon as smart-turn agrees. With Deepgram's default endpointing (10 ms) a final can come on
its own just before the VAD's stop; the ``Finalize`` answer is then empty, the transcript in
hand is not marked finalized, and pipecat holds the turn until the STT's p99 latency (0.35 s
after the speech ended: ~0.15 s after the VAD's stop) in case more words are coming. Past
500 ms of silence Deepgram still finalizes on its own, for speech the VAD did not hear."""
SMART_TURN_STOP_SECS = 0.8
"""How long smart-turn waits, after the VAD's stop, for a caller it judged mid-sentence to go on
before it ends the turn anyway: a second of silence in all, with the VAD's 0.2 s.

pipecat's default is 3 s, meant for a caller pausing to think. But smart-turn also judges
finished lines unfinished: of the seven recorded test lines (8 kHz μ-law, synthetic voice) it
hears "I would like to book a table for four tomorrow at eight pm" and "Thank you, bye" as
unfinished however the audio is aligned, and each such verdict left the caller 3.2 s of dead
air after a finished sentence (now the words end such turns at once). A hesitation longer than
a second gets the bot talking; the caller who goes on talks over it, and barge-in hands the turn
back."""
TTS_CLIP_TIMEOUT = aiohttp.ClientTimeout(total=10)
"""How long the one-off synthesis of the apology clip may take."""


def stt_service(business: Business, settings: Settings, caller: Caller | None = None) -> STTService:
    """Deepgram streaming recognition in the business's language (``multi`` for Hinglish).

    The local recogniser (English only) when the business chose ``local`` or there is no key;
    its language model then also knows a returning caller's name. Either takes audio at the
    pipeline's input rate.
    """
    engine = business.engines.stt
    key = _key(settings.deepgram_api_key, "DEEPGRAM_API_KEY", engine.provider, "speech input")
    if key is None:
        return PocketsphinxSTTService(
            business_phrases=(business.name, *business.name.split()),
            extra_names=tuple((caller.name or "").split()) if caller else (),
        )
    language: Language | str = (
        engine.language if engine.language == "multi" else Language(engine.language)
    )
    return DeepgramSTTService(
        api_key=key,
        base_url=settings.deepgram_url,
        settings=DeepgramSTTService.Settings(
            model=f"{engine.model}-general" if engine.model == "nova-3" else engine.model,
            language=language,
            interim_results=True,
            punctuate=True,
            smart_format=True,
            endpointing=DEEPGRAM_ENDPOINTING_MS,
        ),
    )


def user_turn_strategies() -> UserTurnStrategies:
    """How a call's user turns start and end: pipecat's defaults, tuned for the phone.

    A turn starts when the VAD hears speech or a transcript arrives (barge-in included), and
    ends when smart-turn v3 judges it finished and the final transcript is in, when the final
    transcript's words plainly finish it (:mod:`processors.worded_turn_stop`), or after
    :data:`SMART_TURN_STOP_SECS` more of silence. The model is warmed up as the call starts and
    judges a turn while the VAD still listens (see :mod:`processors.smart_turn`).
    """
    analyzer = SpeculativeSmartTurnAnalyzer(params=SmartTurnParams(stop_secs=SMART_TURN_STOP_SECS))
    return UserTurnStrategies(stop=[WordedTurnStopStrategy(turn_analyzer=analyzer)])


def load_call_models() -> None:
    """Load the models all calls share (Silero, smart-turn) and warm them up, before any call.

    Otherwise the first call loads them (~70 ms, in a worker thread) and its first turn runs
    smart-turn's first, slow, inference.
    """
    PhoneVADAnalyzer()
    SpeculativeSmartTurnAnalyzer().set_sample_rate(CALL_IN_RATE)


def llm_service(
    business: Business,
    settings: Settings,
    system_prompt: str,
    facts: DialogueFacts,
    language: str,
    clock: Callable[[], dt.datetime],
) -> LLMService[Any]:
    """Groq chat completions with the call's system prompt.

    The local dialogue engine, which calls the same tools, when the business chose ``local`` or
    there is no key; it answers from ``facts`` in ``language`` at the time ``clock`` tells.
    """
    engine = business.engines.llm
    key = _key(settings.groq_api_key, "GROQ_API_KEY", engine.provider, "the language model")
    if key is None:
        return DialogueLLMService(facts, clock=clock, language=language)
    return BoundedGroqLLMService(
        api_key=key,
        base_url=settings.groq_url,
        settings=GroqLLMService.Settings(
            model=engine.model,
            system_instruction=system_prompt,
            temperature=engine.temperature,
        ),
        retry_on_timeout=True,
        retry_timeout_secs=LLM_FIRST_RESPONSE_SECS,
    )


class BoundedGroqLLMService(GroqLLMService):
    """Groq whose HTTP client has :data:`LLM_TIMEOUT` and :data:`LLM_MAX_RETRIES`.

    Pipecat builds the OpenAI client with no request timeout, so a stalled Groq request would
    hold the turn forever; the client is the only place such limits can be set.
    """

    def create_client(
        self,
        api_key: Any = None,
        base_url: Any = None,
        organization: Any = None,
        project: Any = None,
        default_headers: Any = None,
        **kwargs: Any,
    ) -> Any:
        """The client pipecat builds, with the call's timeout and retry limits."""
        client = super().create_client(
            api_key,
            base_url,
            organization=organization,
            project=project,
            default_headers=default_headers,
            **kwargs,
        )
        return client.with_options(timeout=LLM_TIMEOUT, max_retries=LLM_MAX_RETRIES)


def tts_service(
    business: Business, settings: Settings, session: aiohttp.ClientSession, language: str
) -> TTSService:
    """Deepgram Aura over HTTP, at Plivo's 8 kHz so no resampling happens on the way out.

    The local espeak-ng voice for ``language`` when the business chose ``local`` or there is
    no key.
    """
    engine = business.engines.tts
    key = _key(settings.deepgram_api_key, "DEEPGRAM_API_KEY", engine.provider, "speech output")
    if key is None:
        return EspeakTTSService(language=language, sample_rate=PIPELINE_OUT_RATE)
    return DeepgramHttpTTSService(
        api_key=key,
        aiohttp_session=session,
        base_url=settings.deepgram_tts_url or settings.deepgram_url,
        sample_rate=PIPELINE_OUT_RATE,
        settings=DeepgramHttpTTSService.Settings(voice=engine.voice),
    )


def tts_synthesiser(
    business: Business, settings: Settings, session: aiohttp.ClientSession, language: str
) -> Synthesise:
    """One-off synthesis with the business's TTS voice, as the call's TTS requests it.

    It is what makes the spoken apology clip, ahead of any need, so that the apology does not
    depend on the TTS being up when something fails.
    """
    engine = business.engines.tts
    key = _key(settings.deepgram_api_key, "DEEPGRAM_API_KEY", engine.provider, "speech output")
    if key is None:

        async def speak_locally(text: str) -> bytes:
            return await synthesise(text, language, sample_rate=PIPELINE_OUT_RATE)

        return speak_locally
    url = f"{settings.deepgram_tts_url or settings.deepgram_url}/v1/speak"
    params = {
        "model": engine.voice,
        "encoding": "linear16",
        "sample_rate": str(PIPELINE_OUT_RATE),
        "container": "none",
    }
    headers = {"Authorization": f"Token {key}"}

    async def speak_with_deepgram(text: str) -> bytes:
        async with session.post(
            url, params=params, headers=headers, json={"text": text}, timeout=TTS_CLIP_TIMEOUT
        ) as response:
            response.raise_for_status()
            return await response.read()

    return speak_with_deepgram


def engine_watchdog(
    business: Business,
    settings: Settings,
    session: aiohttp.ClientSession,
    language: str,
    report: FailureReport,
    call_id: str | None = None,
) -> EngineWatchdog:
    """The call's engine watchdog, apologising in ``language`` with the business's voice.

    Place it between the TTS and the output transport, and add its ``observer`` to the worker.
    """
    text = apology_text(language)
    voice = business.engines.tts.voice
    apology = Apology(
        text=text,
        sample_rate=PIPELINE_OUT_RATE,
        key=ClipKey(business.slug, language, voice, PIPELINE_OUT_RATE, text),
        synthesise=tts_synthesiser(business, settings, session, language),
    )
    return EngineWatchdog(apology, report=report, call_id=call_id)


def dialogue_facts(business: Business, caller: Caller, *, can_transfer: bool) -> DialogueFacts:
    """What the local dialogue engine answers from: the business's facts and the caller's."""
    weekly = business.booking_policy().weekly_hours
    host = re.match(r"\s*You are (\w+)", business.persona or "")
    rules = business.reservations
    return DialogueFacts(
        business_name=business.name,
        timezone=business.timezone,
        hours=spoken_hours(weekly),
        hours_hi=spoken_hours(weekly, "hi"),
        address=business.address,
        persona=host.group(1) if host else None,
        max_party_size=rules.max_party_size,
        min_party_size=rules.min_party_size,
        languages=tuple(business.languages),
        can_transfer=can_transfer,
        caller_number_known=caller.number_known,
        caller_name=caller.name,
    )


_NOTICES: set[tuple[str, str]] = set()


def _key(secret: object, variable: str, provider: str, role: str) -> str | None:
    """The production engine's key; ``None`` when the local engine should serve instead.

    A missing key is not an error: the embedded engine takes over, and the first call of each
    kind says so once, in one line.
    """
    if provider == "local":
        return None
    value = getattr(secret, "get_secret_value", lambda: None)()
    if value:
        return str(value)
    if (variable, role) not in _NOTICES:
        _NOTICES.add((variable, role))
        logger.warning("{} is not set: {} uses the embedded local engine", variable, role)
    return None
