"""``python -m bot mic``: talk to the bot with this machine's microphone and speakers.

The pipeline is a phone call's with pipecat's local audio transport for the phone line:
``microphone → STT → user context (Silero VAD, smart-turn) → LLM with tools → TTS →
speakers → assistant context``, with the business's engines (the embedded ones without keys)
and the same tools and store. It needs PyAudio (the optional ``mic`` extra, built on PortAudio)
and an input and an output device; without them it says what is missing and exits with
status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from typing import Any

from bot.config import Settings
from bot.console import (
    CallOptions,
    Transcript,
    UsageError,
    add_call_arguments,
    call_options,
    opened_store,
)

NO_AUDIO = 1
"""Exit status when PyAudio or an audio device is missing."""
INSTALL_HINT = (
    "install the extra with: pip install -e '.[mic]' (PyAudio builds on PortAudio: "
    "apt-get install portaudio19-dev, or brew install portaudio)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``mic`` command's options."""
    add_call_arguments(parser)
    parser.add_argument(
        "--input-device",
        type=int,
        metavar="INDEX",
        help="PortAudio input device (default: the system's)",
    )
    parser.add_argument(
        "--output-device",
        type=int,
        metavar="INDEX",
        help="PortAudio output device (default: the system's)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Talk to the bot until it says goodbye or Ctrl-C; returns the exit status."""
    try:
        options = call_options(args, settings)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = audio_problem(args.input_device, args.output_device)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return NO_AUDIO
    try:
        asyncio.run(talk(options, settings, args.input_device, args.output_device, Transcript()))
    except KeyboardInterrupt:
        pass
    return 0


def audio_problem(input_device: int | None = None, output_device: int | None = None) -> str | None:
    """What stops local audio, in one line with the way out; ``None`` when nothing does."""
    try:
        pyaudio = importlib.import_module("pyaudio")
    except ImportError:
        return f"talking to the bot needs PyAudio, which is not installed; {INSTALL_HINT}"
    try:
        audio = pyaudio.PyAudio()
    except Exception as exc:  # PortAudio's own failures are plain Exceptions or OSErrors
        return f"PortAudio could not start ({exc}); {INSTALL_HINT}"
    try:
        missing = [
            what
            for what, index, default, channels in (
                ("microphone (audio input)", input_device, "input", "maxInputChannels"),
                ("speaker (audio output)", output_device, "output", "maxOutputChannels"),
            )
            if not _has_device(audio, index, default, channels)
        ]
    finally:
        audio.terminate()
    if not missing:
        return None
    chosen = input_device is not None or output_device is not None
    where = "the device chosen" if chosen else "this machine's default"
    return (
        f"no {' and no '.join(missing)} device: {where} is missing; connect one, or pick "
        "another with --input-device/--output-device"
    )


def _has_device(audio: Any, index: int | None, default: str, channels: str) -> bool:
    try:
        if index is None:
            info = getattr(audio, f"get_default_{default}_device_info")()
        else:
            info = audio.get_device_info_by_index(index)
    except (OSError, ValueError):
        return False
    return int(info.get(channels) or 0) > 0


async def talk(
    options: CallOptions,
    settings: Settings,
    input_device: int | None,
    output_device: int | None,
    transcript: Transcript,
) -> None:
    """One spoken conversation on the local audio devices, printed as it goes."""
    import aiohttp
    from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
    from pipecat.frames.frames import TTSSpeakFrame
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import (
        LLMContextAggregatorPair,
        LLMUserAggregatorParams,
    )
    from pipecat.transports.local.audio import LocalAudioTransport, LocalAudioTransportParams
    from pipecat.workers.runner import WorkerRunner

    from bot.conversation import call_language, conversation_llm, greeting, known_caller
    from bot.local_phone import conversation_observer
    from bot.services import PIPELINE_IN_RATE, PIPELINE_OUT_RATE, stt_service, tts_service
    from bot.text_call import TextCall
    from bot.tools import CallTools
    from processors.phone_vad import PhoneVADAnalyzer
    from store.booking import Bookings

    business = options.business
    call_id = TextCall.new_id().replace("text-", "mic-")
    async with opened_store(options.database_url) as database, aiohttp.ClientSession() as http:
        caller = await known_caller(database, business, options.caller_number, call_id)
        language = options.language or call_language(business, caller)
        tools = CallTools(
            business=business,
            bookings=Bookings(database),
            call_uuid=call_id,
            caller_number=options.caller_number,
            on_event=transcript.tool,
        )
        transport = LocalAudioTransport(
            LocalAudioTransportParams(
                audio_in_enabled=True,
                audio_out_enabled=True,
                input_device_index=input_device,
                output_device_index=output_device,
            )
        )
        context = LLMContext(tools=ToolsSchema(standard_tools=tools.schemas()))
        user_aggregator, assistant_aggregator = LLMContextAggregatorPair(
            context, user_params=LLMUserAggregatorParams(vad_analyzer=PhoneVADAnalyzer())
        )
        llm = conversation_llm(
            business, settings, caller, can_transfer=False, language=language, clock=tools.clock
        )
        pipeline = Pipeline(
            [
                transport.input(),
                stt_service(business, settings, caller),
                user_aggregator,
                llm,
                tts_service(business, settings, http, language),
                transport.output(),
                assistant_aggregator,
            ]
        )
        worker = PipelineWorker(
            pipeline,
            params=PipelineParams(
                audio_in_sample_rate=PIPELINE_IN_RATE, audio_out_sample_rate=PIPELINE_OUT_RATE
            ),
            enable_rtvi=False,
            idle_timeout_secs=None,
            observers=[conversation_observer(heard=transcript.caller, said=transcript.bot)],
        )
        transcript.note(f"{business.name} is listening. Speak; Ctrl-C hangs up.")
        await worker.queue_frame(TTSSpeakFrame(greeting(business, caller, language)))
        runner = WorkerRunner(handle_sigint=True)
        await runner.add_workers(worker)
        await runner.run()
        await tools.drain()
        transcript.note("call ended")
