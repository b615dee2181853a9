"""The speech and language services of a call, built from the business's engine choices."""

from __future__ import annotations

from typing import Any

import aiohttp
from openai import Timeout
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.services.deepgram.tts import DeepgramHttpTTSService
from pipecat.services.groq.llm import GroqLLMService
from pipecat.services.llm_service import LLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.transcriptions.language import Language

from bot.config import Business, Settings
from processors.apology import Apology, ClipKey, Synthesise, apology_text
from processors.engine_watchdog import EngineWatchdog, FailureReport
from store.errors import VartalaapError

PIPELINE_IN_RATE = 16_000
"""Rate of caller audio inside the pipeline: what Silero, smart-turn and Deepgram like best."""
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
TTS_CLIP_TIMEOUT = aiohttp.ClientTimeout(total=10)
"""How long the one-off synthesis of the apology clip may take."""


class EngineUnavailableError(VartalaapError):
    """A business's engine cannot be built (no key, or not supported here)."""

    code = "engine_unavailable"
    status = 503


def stt_service(business: Business, settings: Settings) -> STTService:
    """Deepgram streaming recognition in the business's language (``multi`` for Hinglish)."""
    engine = business.engines.stt
    key = _key(settings.deepgram_api_key, "DEEPGRAM_API_KEY", engine.provider)
    language: Language | str = (
        engine.language if engine.language == "multi" else Language(engine.language)
    )
    return DeepgramSTTService(
        api_key=key,
        base_url=settings.deepgram_url,
        sample_rate=PIPELINE_IN_RATE,
        settings=DeepgramSTTService.Settings(
            model=f"{engine.model}-general" if engine.model == "nova-3" else engine.model,
            language=language,
            interim_results=True,
            punctuate=True,
            smart_format=True,
        ),
    )


def llm_service(business: Business, settings: Settings, system_prompt: str) -> LLMService[Any]:
    """Groq chat completions with the call's system prompt."""
    engine = business.engines.llm
    key = _key(settings.groq_api_key, "GROQ_API_KEY", engine.provider)
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
    business: Business, settings: Settings, session: aiohttp.ClientSession
) -> TTSService:
    """Deepgram Aura over HTTP, at Plivo's 8 kHz so no resampling happens on the way out."""
    engine = business.engines.tts
    key = _key(settings.deepgram_api_key, "DEEPGRAM_API_KEY", engine.provider)
    return DeepgramHttpTTSService(
        api_key=key,
        aiohttp_session=session,
        base_url=settings.deepgram_tts_url or settings.deepgram_url,
        sample_rate=PIPELINE_OUT_RATE,
        settings=DeepgramHttpTTSService.Settings(voice=engine.voice),
    )


def tts_synthesiser(
    business: Business, settings: Settings, session: aiohttp.ClientSession
) -> Synthesise:
    """One-off synthesis with the business's TTS voice, as the call's TTS requests it.

    It is what makes the spoken apology clip, ahead of any need, so that the apology does not
    depend on the TTS being up when something fails.
    """
    engine = business.engines.tts
    key = _key(settings.deepgram_api_key, "DEEPGRAM_API_KEY", engine.provider)
    url = f"{settings.deepgram_tts_url or settings.deepgram_url}/v1/speak"
    params = {
        "model": engine.voice,
        "encoding": "linear16",
        "sample_rate": str(PIPELINE_OUT_RATE),
        "container": "none",
    }
    headers = {"Authorization": f"Token {key}"}

    async def synthesise(text: str) -> bytes:
        async with session.post(
            url, params=params, headers=headers, json={"text": text}, timeout=TTS_CLIP_TIMEOUT
        ) as response:
            response.raise_for_status()
            return await response.read()

    return synthesise


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
        synthesise=tts_synthesiser(business, settings, session),
    )
    return EngineWatchdog(apology, report=report, call_id=call_id)


def _key(secret: object, variable: str, provider: str) -> str:
    if provider == "local":
        # TODO(engines): the embedded engines arrive with the local-run work (issue 5).
        raise EngineUnavailableError(f"the local {provider} engine is not available yet")
    value = getattr(secret, "get_secret_value", lambda: None)()
    if not value:
        raise EngineUnavailableError(f"{variable} is not set")
    return str(value)
