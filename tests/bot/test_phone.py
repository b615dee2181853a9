from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.phone import (
    PhoneNumberError,
    mask_phone,
    normalise_phone,
    normalise_written_phone,
    try_normalise_phone,
)


@pytest.mark.parametrize(
    "raw",
    [
        "+91 80 4718 2200",
        "+918047182200",
        "918047182200",
        "+91-80-4718-2200",
        "+91 (80) 4718.2200",
        "00918047182200",
        " +91 80 47182200 ",
        918047182200,
    ],
)
def test_normalise_phone_accepts_written_forms(raw: str | int) -> None:
    assert normalise_phone(raw) == "+918047182200"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("+91 80 CALL NOW", "not a phone number"),
        ("+91 123", "too short"),
        ("+1234567890123456", "too long"),
        ("08047182200", "country code"),
        ("", "empty"),
        ("+", "empty"),
        ("+९१८०४७१८२२००", "not a phone number"),  # Devanagari digits are not ASCII digits
        (True, "expected a phone number"),
        (None, "expected a phone number"),
    ],
)
def test_normalise_phone_rejects_with_reason(raw: object, reason: str) -> None:
    with pytest.raises(PhoneNumberError, match=reason):
        normalise_phone(raw)  # type: ignore[arg-type]


def test_normalise_phone_error_never_repeats_the_value() -> None:
    with pytest.raises(PhoneNumberError) as caught:
        normalise_phone("+91 98765 SECRET")
    assert "SECRET" not in str(caught.value)


def test_try_normalise_phone_returns_none_for_garbage() -> None:
    assert try_normalise_phone("anonymous") is None
    assert try_normalise_phone(None) is None
    assert try_normalise_phone("919876543210") == "+919876543210"


def test_mask_phone_keeps_country_code_and_last_four() -> None:
    assert mask_phone("+919876543210") == "+91******3210"
    assert mask_phone("919876543210") == "+91******3210"


def test_mask_phone_hides_a_value_that_is_not_a_number() -> None:
    assert mask_phone("call me maybe") == "***"
    assert mask_phone(None) == "***"


@given(st.from_regex(r"\A[1-9][0-9]{7,14}\Z"))
def test_normalise_phone_is_idempotent_and_masking_hides_the_middle(digits: str) -> None:
    number = normalise_phone(digits)
    assert number == f"+{digits}"
    assert normalise_phone(number) == number
    masked = mask_phone(number)
    assert len(masked) == len(number)
    assert masked.startswith(number[:3]) and masked.endswith(number[-4:])
    assert set(masked[3:-4]) == {"*"}


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("98765 43210", "+919876543210"),
        ("098765-43210", "+919876543210"),
        ("+91 98765 43210", "+919876543210"),
        ("+44 20 7946 0958", "+442079460958"),
        ("918047182200", "+918047182200"),
        ("011 4084 7730", "+911140847730"),
    ],
)
def test_a_typed_indian_mobile_gets_its_country_code(written: str, e164: str) -> None:
    assert normalise_written_phone(written) == e164


def test_a_typed_number_without_its_area_or_country_code_is_refused() -> None:
    assert normalise_written_phone("080 4718 2200") == "+918047182200"  # STD code 80
    with pytest.raises(PhoneNumberError, match="country code"):
        normalise_written_phone("04718 2200")
