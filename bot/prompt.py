"""The system prompt of a call: who the bot is, the business's facts and rules, and the caller."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.config import Business
from bot.config.hours import format_window

LANGUAGE_NAMES = {"en": "English", "hi": "Hindi"}
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Caller:
    """What is known about the person calling before they speak.

    Attributes:
        name: Their name, from an earlier call.
        language: The language they used last time.
        usual_party_size: How many they usually book for.
        number_known: Whether the network gave their number (bookings use it).
    """

    name: str | None = None
    language: str | None = None
    usual_party_size: int | None = None
    number_known: bool = False


def system_prompt(business: Business, caller: Caller, now: dt.datetime) -> str:
    """The instructions for the LLM for one call.

    Args:
        business: The business the call reached.
        caller: What is known about the caller.
        now: The current instant (aware); shown in the business's timezone.
    """
    local = now.astimezone(business.zone)
    rules = business.reservations
    languages = " or ".join(LANGUAGE_NAMES.get(code, code) for code in business.languages)
    lines = [
        business.persona or f"You answer the phone for {business.name}, a restaurant.",
        "",
        f"Restaurant: {business.name}."
        + (f" Address: {business.address}." if business.address else ""),
        f"Now: {local:%A %d %B %Y, %H:%M} ({business.timezone}).",
        "Opening hours: " + _hours(business) + ".",
    ]
    upcoming = sorted(day for day in business.closed_dates if day >= local.date())[:5]
    if upcoming:
        lines.append("Closed on: " + ", ".join(f"{day:%A %d %B %Y}" for day in upcoming) + ".")
    lines += [
        f"Bookings: parties of {rules.min_party_size} to {rules.max_party_size}, at least "
        f"{rules.min_notice_minutes} minutes ahead, up to {rules.horizon_days} days ahead, "
        f"every {rules.slot_minutes} minutes; a table is held {rules.dining_minutes} minutes.",
        "",
        "How to work:",
        f"- Speak {languages}; answer in the language the caller uses, mixing Hindi and English "
        "as they do. Keep every reply to one or two short spoken sentences. No lists, no "
        "emoji, no markdown: everything you write is read aloud on a phone line.",
        "- To book: get the date, time, party size and a name. Check availability first. Then "
        "read the details back in one sentence and ask for a yes. Only after the caller says yes, "
        "call book_reservation with confirmed_by_caller true. Then tell them the booking code, "
        "spelled out character by character.",
        "- If a time is not available, offer the alternatives the tool gives, nearest first.",
        "- Dates go to tools as YYYY-MM-DD and times as 24-hour HH:MM, in the restaurant's "
        "timezone; work out 'tomorrow', 'kal', 'Friday' from today's date above.",
        "- To find or cancel a booking, ask for the booking code, or look it up by the number "
        "they are calling from. Confirm which booking before cancelling.",
        "- Never invent availability, codes or facts; use the tools. If a tool reports an error, "
        "apologise briefly and offer another way.",
        "- When the caller is done, call end_call with a short goodbye in their language.",
    ]
    if business.staff_number:
        lines.append(
            "- For parties above the limit, events, complaints, or when asked for a person, "
            "call transfer_to_staff."
        )
    lines += ["", _caller_line(caller, business)]
    return "\n".join(lines)


def _hours(business: Business) -> str:
    parts = []
    for iso, name in enumerate(WEEKDAY_NAMES, start=1):
        windows = business.booking_policy().weekly_hours.get(iso, ())
        spans = ", ".join(format_window(window) for window in windows)
        parts.append(f"{name} {spans or 'closed'}")
    return "; ".join(parts)


def _caller_line(caller: Caller, business: Business) -> str:
    facts = []
    if caller.name:
        facts.append(f"this is {caller.name}, who has called before; greet them by name")
    if caller.usual_party_size:
        facts.append(f"they usually book for {caller.usual_party_size}")
    if caller.language:
        facts.append(f"they spoke {LANGUAGE_NAMES.get(caller.language, caller.language)} last time")
    if caller.number_known:
        facts.append("their phone number is known, so do not ask for it")
    else:
        facts.append("their number is withheld; ask for a contact number when booking")
    return "About the caller: " + "; ".join(facts) + "."
