"""What the dialogue engine knows about the business and the call, as plain values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DialogueFacts:
    """The facts the dialogue engine answers from; built by the bot from its configuration.

    Attributes:
        business_name: The restaurant's name, as said in the farewell.
        timezone: IANA timezone of the restaurant: "today" and "kal" are local dates there.
        hours: The opening hours as one spoken English phrase ("Tuesday to Sunday, 12 noon to
            3:30 pm and 7 to 11 pm"); empty when unknown.
        hours_hi: The same in Hindi; the English phrase is used when empty.
        address: The street address, if any.
        persona: The host's name ("Tara"), said when a caller asks who is speaking.
        max_party_size: The largest party the bot may book.
        min_party_size: The smallest party the bot may book.
        languages: The languages the bot speaks, ``"en"`` and/or ``"hi"``; the first is the
            default.
        can_transfer: Whether ``transfer_to_staff`` exists (the business has a staff number).
        caller_number_known: Whether the network gave the caller's number (bookings and
            look-ups use it); when not, the engine asks for a contact number.
        caller_name: The caller's name from an earlier call, offered in the read-back.
    """

    business_name: str
    timezone: str = "Asia/Kolkata"
    hours: str = ""
    hours_hi: str = ""
    address: str | None = None
    persona: str | None = None
    max_party_size: int = 12
    min_party_size: int = 1
    languages: tuple[str, ...] = ("en",)
    can_transfer: bool = False
    caller_number_known: bool = True
    caller_name: str | None = None
