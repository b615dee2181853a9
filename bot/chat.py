"""``python -m bot chat``: type as the caller and read the bot's replies.

The bot is the one that answers the phone (same prompt, tools and store), with typed lines
for speech: the local dialogue engine, or Groq when ``GROQ_API_KEY`` is set and the business
chose it. Lines come from standard input, so a script can pipe them in. The conversation ends
at end of input (Ctrl-D), on Ctrl-C, or when the bot says goodbye.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from typing import TextIO

from bot.config import Settings
from bot.console import (
    CallOptions,
    Transcript,
    UsageError,
    add_call_arguments,
    call_options,
    opened_store,
)
from bot.logs import configure_logging

INTERRUPTED = 130
"""Exit status after Ctrl-C, as shells report it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``chat`` command's options."""
    add_call_arguments(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Chat with the bot on standard input and output; returns the exit status."""
    try:
        options = call_options(args, settings)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if settings.log_level == "INFO":
        configure_logging("WARNING")  # the conversation, not the server's chatter
    try:
        return asyncio.run(chat(options, settings, sys.stdin, Transcript(sys.stdout)))
    except KeyboardInterrupt:
        return INTERRUPTED


async def chat(
    options: CallOptions, settings: Settings, lines: TextIO, transcript: Transcript
) -> int:
    """Hold one conversation: ``lines`` are the caller's, ``transcript`` shows it.

    Returns:
        0 when the input ends or the bot ends the call.
    """
    from bot.conversation import known_caller
    from bot.text_call import TextCall
    from store.booking import Bookings

    business = options.business
    interactive = lines.isatty()
    async with opened_store(options.database_url) as database:
        call_id = TextCall.new_id()
        caller = await known_caller(database, business, options.caller_number, call_id)
        async with TextCall(
            business,
            settings,
            Bookings(database),
            caller_number=options.caller_number,
            caller=caller,
            language=options.language,
            call_id=call_id,
            on_tool=transcript.tool,
        ) as call:
            transcript.note(f"{business.name}, answered by {call.engine}. Ctrl-D hangs up.")
            transcript.bot(call.greeting)
            reader = _LineReader(lines)
            while True:
                if interactive:
                    print("you> ", end="", file=transcript.out, flush=True)
                line = await reader.next()
                if line is None:
                    transcript.note("you hung up")
                    await call.hang_up()
                    break
                if not line.strip():
                    continue
                if not interactive:
                    transcript.caller(line.strip())
                reply = await call.say(line.strip())
                transcript.bot(reply.text)
                if reply.ended:
                    transcript.note("the bot ended the call")
                    break
            record = await call.close()
        transcript.note(f"call outcome: {record.outcome.value}")
    return 0


class _LineReader:
    """Lines of a text stream, read by a daemon thread.

    A pending read then never holds the process open: Ctrl-C while waiting for input exits
    at once.
    """

    def __init__(self, stream: TextIO) -> None:
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True, name="chat-input").start()

    async def next(self) -> str | None:
        """The next line, without its newline; ``None`` at end of input."""
        return await self._lines.get()

    def _read(self, stream: TextIO) -> None:
        try:
            for line in iter(stream.readline, ""):
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line.rstrip("\r\n"))
            self._loop.call_soon_threadsafe(self._lines.put_nowait, None)
        except (RuntimeError, ValueError):
            pass  # the loop closed (the call ended first) or the stream did
