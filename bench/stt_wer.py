"""Word error rate of the offline recogniser on the scenarios' caller lines, in seconds.

Usage: ``python -m bench.stt_wer [--business SLUG] [-k SUBSTR] [--extra] [--caller-voice ENGINE]
[--verbose]``.

Every English line a scenario says in audio mode is heard as in that mode, without the server:
synthesised in the simulated caller's voice at 8 kHz (:mod:`bot.simulated_caller.voice`; choose
the engine with ``--caller-voice``), sent through G.711 μ-law and back (the
phone line), brought to 16 kHz by the service's own input stage
(:class:`processors.local_stt.DecoderInput`: resampling, band extension) and decoded by a
decoder set up as :class:`processors.local_stt.PocketsphinxSTTService` sets it up, with the
language model of the scenario's business. One decoder per scenario, fed its lines in order
(with the silence a VAD leaves around speech), so each line after the first is decoded with
the cepstral mean the call so far has adapted, as in a call.

The reference is the line with its numerals in words, as espeak-ng reads them ("7 pm for 2":
"seven pm for two"), compared with :func:`processors.language_model.word_errors` as the audio
mode compares it. ``--extra`` adds held-out lines in phrasings the scenarios do not use, and
reports their rate apart, so that tuning to the scenario lines shows up as overfitting.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.config import load_businesses
from bot.scenario_spec import load_scenarios
from bot.simulated_caller.audio import ulaw_decode, ulaw_encode
from bot.simulated_caller.voice import ENGINES, caller_speech, caller_voice
from processors.language_model import recogniser_model, word_errors, words_of
from processors.local_stt import (
    DECODER_SAMPLE_RATE,
    DecoderInput,
    decoder_options_for,
    load_decoder,
    recognise,
)

LINE_RATE = 8000
"""Plivo's rate."""
LEADING_SILENCE_SECS = 0.6
"""Silence before the speech: the service's pre-roll reaches this far before the VAD start."""
TRAILING_SILENCE_SECS = 0.3
"""Silence after the speech: the VAD's ``stop_secs`` (0.2 s) and its lateness."""
EXTRA_BUSINESS = "himalayan-kitchen"
"""The business whose model hears the held-out lines."""

EXTRA_LINES: tuple[str, ...] = (
    "hi, I want to book a table for 5 this friday at 7:30 pm",
    "can I get a table for three people on wednesday evening",
    "we'd like to come on sunday for lunch",
    "is there space for 8 people tomorrow night at 9",
    "do you have anything at quarter past eight",
    "make it half past seven instead",
    "it will be just the two of us",
    "there are four of us",
    "seven of us, on the 22nd of march",
    "the name is Priya Nair",
    "my name is Arjun Mehta",
    "it's under Kavya",
    "yes, that's perfect",
    "no, that's not right",
    "sorry, can you say that again",
    "I'd like to cancel my booking, the code is B 7 Q 2 L 9",
    "my booking code is 3 F K 8 W D",
    "can you change my booking to saturday",
    "what time do you close on sunday",
    "are you open on monday",
    "okay, thank you so much, goodbye",
    "is 8 pm on saturday available for 4?",
    "a table for 6 next thursday at 1 pm please",
    "can we make it 9 o'clock",
    "tomorrow at 8 in the evening",
    "no, I think that's all",
)
"""Held-out lines: phrasings of real callers that no scenario uses (keep them so)."""


@dataclass(frozen=True)
class Call:
    """The lines one simulated call says, in order, to one business."""

    name: str
    business: str
    phrases: tuple[str, ...]
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Heard:
    """One line: what was said, what the recogniser heard, and how long decoding took."""

    call: str
    said: str
    heard: str
    errors: int
    words: int
    decode_secs: float
    audio_secs: float


def scenario_calls(
    paths: Sequence[Path], bots_path: Path, business: str | None = None, keyword: str = ""
) -> list[Call]:
    """The scenarios that run in audio mode, as calls (English lines only)."""
    directory = load_businesses(bots_path)
    calls = []
    for scenario in load_scenarios(paths, directory):
        spec = scenario.spec
        if "audio" not in spec.run_modes or keyword not in scenario.name:
            continue
        if business is not None and scenario.business.slug != business:
            continue
        lines = tuple(t.say for t in spec.turns if t.say is not None and t.language != "hi")
        if lines:
            calls.append(Call(scenario.name, scenario.business.slug, _phrases(scenario), lines))
    return calls


def extra_calls(bots_path: Path) -> list[Call]:
    """The held-out lines as one call to :data:`EXTRA_BUSINESS`."""
    business = load_businesses(bots_path).by_slug(EXTRA_BUSINESS)
    assert business is not None, EXTRA_BUSINESS
    phrases = (business.name, *business.name.split())
    return [Call("held-out lines", EXTRA_BUSINESS, phrases, EXTRA_LINES)]


def _phrases(scenario: Any) -> tuple[str, ...]:
    """The business phrases a call's recogniser gets (as ``bot.services.stt_service``)."""
    name = scenario.business.name
    return (name, *name.split())


async def phone_line(text: str, engine: str = "auto") -> bytes:
    """``text`` in the caller's voice as it comes off the phone line: 8 kHz PCM16."""
    pcm = await caller_speech(text, "en", LINE_RATE, engine=engine)
    lead = bytes(round(LEADING_SILENCE_SECS * LINE_RATE) * 2)
    tail = bytes(round(TRAILING_SILENCE_SECS * LINE_RATE) * 2)
    return ulaw_decode(ulaw_encode(lead + pcm + tail))


async def hear_call(
    call: Call, options: Mapping[str, Any] | None = None, engine: str = "auto"
) -> list[Heard]:
    """Decode the call's lines in order with one fresh decoder, as one phone call would."""
    decoder = load_decoder(call.phrases, (), options or decoder_options_for())
    line_input = DecoderInput(LINE_RATE)  # one stream per call, as in the service
    heard = []
    for line in call.lines:
        audio = await line_input.convert(await phone_line(line, engine))
        started = time.perf_counter()
        text = recognise(decoder, audio)
        elapsed = time.perf_counter() - started
        heard.append(
            Heard(
                call=call.name,
                said=line,
                heard=text,
                errors=word_errors(line, text),
                words=len(words_of(line)),
                decode_secs=elapsed,
                audio_secs=len(audio) / 2 / DECODER_SAMPLE_RATE,
            )
        )
    return heard


def word_error_rate(heard: Sequence[Heard]) -> float:
    """Errors over reference words (0 for no words)."""
    words = sum(h.words for h in heard)
    return sum(h.errors for h in heard) / words if words else 0.0


def report(label: str, heard: Sequence[Heard], out: TextIO, *, verbose: bool = False) -> None:
    """Print each line (or, unless ``verbose``, each misheard one), then the totals."""
    print(f"\n== {label}", file=out)
    call = None
    for h in heard:
        if not verbose and h.errors == 0:
            continue
        if h.call != call:
            call = h.call
            print(f"-- {call}", file=out)
        print(f"  said  {' '.join(words_of(h.said))}", file=out)
        print(f"  heard {h.heard}", file=out)
        print(f"  errors {h.errors}/{h.words}, decoded in {h.decode_secs * 1000:.0f} ms", file=out)
    decode_ms = [h.decode_secs * 1000 for h in heard]
    per_audio_sec = sum(h.decode_secs for h in heard) / max(sum(h.audio_secs for h in heard), 1e-9)
    exact = sum(h.errors == 0 for h in heard)
    print(
        f"{label}: WER {word_error_rate(heard):.1%} "
        f"({sum(h.errors for h in heard)} errors / {sum(h.words for h in heard)} words), "
        f"{exact}/{len(heard)} lines exact; decode mean {statistics.fmean(decode_ms):.0f} ms, "
        f"max {max(decode_ms):.0f} ms per line ({per_audio_sec:.2f} s per s of audio)",
        file=out,
    )


async def run(args: argparse.Namespace, out: TextIO) -> dict[str, float]:
    """Hear the chosen lines and print the report; returns each set's word error rate."""
    calls = scenario_calls([args.scenarios], args.bots, args.business, args.keyword)
    started = time.perf_counter()
    for call in calls:
        recogniser_model(call.phrases)
    build_secs = time.perf_counter() - started
    voice = caller_voice("en", args.caller_voice)
    print(f"{len(calls)} calls, models built in {build_secs:.3f} s; caller voice {voice}", file=out)

    rates = {}
    heard = [h for call in calls for h in await hear_call(call, engine=args.caller_voice)]
    if heard:
        report("scenario lines", heard, out, verbose=args.verbose)
        rates["scenarios"] = word_error_rate(heard)
    if args.extra:
        held_out = [
            h
            for call in extra_calls(args.bots)
            for h in await hear_call(call, engine=args.caller_voice)
        ]
        report("held-out lines", held_out, out, verbose=args.verbose)
        rates["held_out"] = word_error_rate(held_out)
    return rates


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.stt_wer", description=__doc__)
    parser.add_argument("--business", help="only the scenarios of this business (its slug)")
    parser.add_argument("-k", dest="keyword", default="", help="only scenarios named with this")
    parser.add_argument("--extra", action="store_true", help="also the held-out lines")
    parser.add_argument(
        "--caller-voice",
        choices=ENGINES,
        default="auto",
        help="the caller's speech engine (default: Flite when installed, else espeak-ng)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="print every line")
    parser.add_argument("--scenarios", type=Path, default=Path("scenarios"))
    parser.add_argument("--bots", type=Path, default=Path("bots.yaml"))
    args = parser.parse_args(argv)
    asyncio.run(run(args, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
