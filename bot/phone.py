"""Phone numbers: normalise whatever a config file or a Plivo webhook gives to E.164, and mask."""

from __future__ import annotations

import hashlib
import re

MIN_DIGITS = 8
"""Fewest digits (country code included) accepted as a phone number."""

MAX_DIGITS = 15
"""Most digits E.164 allows, country code included."""

_SEPARATORS = re.compile(r"[\s\-().]")


class PhoneNumberError(ValueError):
    """A value that cannot be read as an international phone number.

    The message never repeats the rejected value, so it is safe to log.
    """


def normalise_phone(raw: str | int) -> str:
    """Turn a phone number as written by a person or sent by Plivo into E.164.

    Accepts ``+91 80 4718 2200``, ``+91-80-4718-2200``, ``+918047182200``, ``918047182200``
    (Plivo's ``To``/``From`` form: digits with the country code, no ``+``), ``00918047182200``
    and an integer (YAML reads ``918047182200`` and even ``+918047182200`` as a number).

    Args:
        raw: The number as given.

    Returns:
        The number as ``+`` followed by 8 to 15 digits, e.g. ``+918047182200``.

    Raises:
        PhoneNumberError: If ``raw`` has letters or other symbols, too few or too many digits,
            or no country code (a leading ``0`` trunk prefix).
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise PhoneNumberError(f"expected a phone number as text, got {type(raw).__name__}")
    text = _SEPARATORS.sub("", str(raw))
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    else:
        digits = text
    if not digits:
        raise PhoneNumberError("phone number is empty")
    if not digits.isascii() or not digits.isdigit():
        raise PhoneNumberError(
            "not a phone number: only digits, spaces, hyphens, brackets and a leading '+' "
            "are allowed"
        )
    if digits.startswith("0"):
        raise PhoneNumberError(
            "phone number must start with its country code (e.g. +91), not a trunk prefix 0"
        )
    if len(digits) < MIN_DIGITS:
        raise PhoneNumberError(
            f"phone number too short: need at least {MIN_DIGITS} digits including the country code"
        )
    if len(digits) > MAX_DIGITS:
        raise PhoneNumberError(f"phone number too long: E.164 allows at most {MAX_DIGITS} digits")
    return f"+{digits}"


_INDIAN_NATIONAL = re.compile(r"([6-9]\d{9})|0([1-9]\d{9})")


def normalise_written_phone(raw: str | int) -> str:
    """Like :func:`normalise_phone`, for a number a person typed in India.

    A bare ten-digit mobile number (``98765 43210``) or any ten-digit national number with
    its trunk prefix (``098765 43210``, ``011 4084 7730``) gets the ``+91`` a person leaves
    out; anything else must carry its country code.

    Raises:
        PhoneNumberError: As :func:`normalise_phone` does.
    """
    if isinstance(raw, str):
        national = _INDIAN_NATIONAL.fullmatch(_SEPARATORS.sub("", raw))
        if national is not None:
            return f"+91{national.group(1) or national.group(2)}"
    return normalise_phone(raw)


def try_normalise_phone(raw: str | int | None) -> str | None:
    """Like :func:`normalise_phone`, but ``None`` instead of an error for a bad or absent value."""
    if raw is None:
        return None
    try:
        return normalise_phone(raw)
    except PhoneNumberError:
        return None


def mask_phone(number: str | int | None) -> str:
    """Hide all but the country code's first two digits and the last four, for logs.

    ``mask_phone("+919876543210")`` is ``"+91******3210"``. A value that is not a phone
    number is masked whole, so nothing a caller sent reaches a log unmasked.

    Args:
        number: A phone number in any form :func:`normalise_phone` accepts.

    Returns:
        The masked number.
    """
    normalised = try_normalise_phone(number)
    if normalised is None:
        return "***"
    digits = normalised[1:]
    hidden = len(digits) - 6
    return f"+{digits[:2]}{'*' * hidden}{digits[-4:]}"


def phone_hash(number: str) -> str:
    """A stable lookup key for a caller's number that does not reveal it at a glance.

    Used where a record must be found again by number without storing it (call logs, caller
    preferences). Computed from the E.164 form, so any spelling of a number gives one key.
    """
    # TODO(privacy): a keyed hash (HMAC with a deployment secret) would resist brute force over
    # the ~10^10 Indian mobile numbers; it needs a key-rotation story first.
    return hashlib.sha256(f"vartalaap:{normalise_phone(number)}".encode()).hexdigest()
