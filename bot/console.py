"""What the interactive local commands (``chat``, ``mic``) share.

Their common options (business, language, caller's number, database), the choice of the
business, the store opened and migrated as the server does it, and the conversation printed
on a terminal: the caller's lines, the bot's, and each tool call with its result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from bot.config import Business, Settings, load_or_exit
from bot.phone import PhoneNumberError, normalise_written_phone

if TYPE_CHECKING:
    from store.db import Database

DIM, RESET = "\033[2m", "\033[0m"


class UsageError(Exception):
    """A command-line value the command cannot use; the message says which and why."""


def add_call_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a local conversation: whom it calls, as whom, against which store."""
    parser.add_argument(
        "--business", metavar="SLUG", help="the business to call (default: the first in bots.yaml)"
    )
    parser.add_argument(
        "--language",
        choices=("en", "hi"),
        help="the language the bot starts in (default: the business's first)",
    )
    parser.add_argument(
        "--phone",
        metavar="NUMBER",
        help="the caller's phone number, for look-ups and bookings (default: withheld)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="SQLAlchemy URL of the store (default: DATABASE_URL, the server's)",
    )


@dataclass(frozen=True)
class CallOptions:
    """The checked options of a local conversation."""

    business: Business
    language: str | None
    caller_number: str | None
    database_url: str


def call_options(args: argparse.Namespace, settings: Settings) -> CallOptions:
    """Check the options; an unusable one raises :class:`UsageError` naming it.

    A ``bots.yaml`` that does not load ends the process with status 2 and the problems.
    """
    directory = load_or_exit(settings.bots_path)
    slug = args.business or directory.slugs[0]
    business = directory.by_slug(slug)
    if business is None:
        known = ", ".join(directory.slugs)
        raise UsageError(f"--business: no business {slug!r} in {settings.bots_path} ({known})")
    if args.language is not None and args.language not in business.languages:
        spoken = ", ".join(business.languages)
        raise UsageError(f"--language: {business.name} speaks {spoken}, not {args.language}")
    number = None
    if args.phone:
        try:
            number = normalise_written_phone(args.phone)
        except PhoneNumberError as exc:
            raise UsageError(f"--phone: {exc}") from None
    return CallOptions(business, args.language, number, args.database or settings.database_url)


@asynccontextmanager
async def opened_store(url: str) -> AsyncIterator[Database]:
    """The database at ``url``, its schema brought up to date as the server does on start."""
    from store.db import Database
    from store.migrate import upgrade

    database = Database(url)
    try:
        await upgrade(database)
        yield database
    finally:
        await database.close()


class Transcript:
    """Prints a conversation: ``bot>`` and ``you>`` lines, tool calls dimmed or marked.

    Args:
        out: Where to print.
        colour: Dim the tool lines with ANSI codes (on a terminal); otherwise they start with
            ``  [tool]``.
        since: A ``time.monotonic()`` instant: when given, each line starts with the seconds
            since then.
        caller_label: How the caller's lines are labelled.
    """

    def __init__(
        self,
        out: TextIO = sys.stdout,
        *,
        colour: bool | None = None,
        since: float | None = None,
        caller_label: str = "you",
    ) -> None:
        self.out = out
        self.colour = out.isatty() if colour is None else colour
        self.since = since
        self.caller_label = caller_label

    def bot(self, text: str) -> None:
        """The bot said ``text``."""
        if text:
            self._print(f"bot> {text}")

    def caller(self, text: str) -> None:
        """The caller said ``text``."""
        self._print(f"{self.caller_label}> {text}")

    def note(self, text: str) -> None:
        """A remark about the call (it ended, the engine in use...)."""
        self._print(f"({text})")

    def tool(self, name: str, data: dict[str, Any]) -> None:
        """A tool call and its result (a :data:`bot.tools.ToolEvent` hook)."""
        if "arguments" in data:
            arguments = ", ".join(f"{k}={_short(v)}" for k, v in data["arguments"].items())
            line = f"{name}({arguments}) -> {_short(data.get('result'))}"
        else:
            line = f"{name}: {_short(data)}"
        self._print(f"{DIM}  {line}{RESET}" if self.colour else f"  [tool] {line}")

    def _print(self, line: str) -> None:
        if self.since is not None:
            line = f"{time.monotonic() - self.since:6.2f}s  {line}"
        print(line, file=self.out, flush=True)


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
