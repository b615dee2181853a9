"""One business's block in ``bots.yaml``: identity, hours, booking rules, engines, timeouts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.hours import WeeklyHours, iso_weekday
from bot.phone import normalise_phone
from store.policy import BookingPolicy

Language = Literal["en", "hi"]
"""A language the bot speaks: English or Hindi."""

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""What a slug looks like (match it whole): ``himalayan-kitchen``."""
_T = TypeVar("_T")


def _slug(value: str) -> str:
    if not SLUG_PATTERN.fullmatch(value) or len(value) > 64:
        raise ValueError(
            "slug must be lowercase letters and digits joined by single hyphens, at most 64 "
            "characters, e.g. 'himalayan-kitchen'"
        )
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r} (expected an IANA name such as 'Asia/Kolkata')"
        ) from None
    return value


def _iso_date(value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"invalid date {value!r} (expected YYYY-MM-DD, e.g. 2025-10-20)")


def _unique(values: tuple[_T, ...]) -> tuple[_T, ...]:
    for index, value in enumerate(values):
        if value in values[:index]:
            raise ValueError(f"{value!r} is listed twice")
    return values


def _optional_phone(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return normalise_phone(value)  # type: ignore[arg-type]


def _freeze(value: Mapping[Language, str]) -> Mapping[Language, str]:
    return MappingProxyType(dict(value))


Slug = Annotated[str, AfterValidator(_slug)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
PhoneNumber = Annotated[str, BeforeValidator(normalise_phone)]
"""A phone number, normalised to E.164 (``+918047182200``)."""
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
Greetings = Annotated[Mapping[Language, Text], AfterValidator(_freeze), PlainSerializer(dict)]


class ConfigModel(BaseModel):
    """Base of every ``bots.yaml`` model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Reservations(ConfigModel):
    """The booking rules: slot grid, table time, capacity, party sizes, notice, horizon."""

    slot_minutes: int = Field(30, ge=1, le=1440)
    dining_minutes: int = Field(90, ge=15, le=360)
    seat_capacity: int = Field(ge=1, le=10_000)
    max_party_size: int = Field(ge=1)
    min_party_size: int = Field(1, ge=1)
    min_notice_minutes: int = Field(60, ge=0, le=7 * 24 * 60)
    horizon_days: int = Field(30, ge=1, le=365)
    last_seating_minutes: int = Field(60, ge=0, le=24 * 60)
    alternatives: int = Field(3, ge=0, le=10)

    @field_validator("slot_minutes")
    @classmethod
    def _divides_day(cls, value: int) -> int:
        if 1440 % value:
            raise ValueError(f"{value} does not divide a day (1440 minutes) evenly; try 15 or 30")
        return value

    @field_validator("max_party_size")
    @classmethod
    def _fits_capacity(cls, value: int, info: ValidationInfo) -> int:
        capacity = info.data.get("seat_capacity")
        if capacity is not None and value > capacity:
            raise ValueError(
                f"party limits that contradict capacity: max_party_size {value} is more than "
                f"seat_capacity {capacity}"
            )
        return value

    @field_validator("min_party_size")
    @classmethod
    def _below_max(cls, value: int, info: ValidationInfo) -> int:
        largest = info.data.get("max_party_size")
        if largest is not None and value > largest:
            raise ValueError(
                f"party limits contradict each other: min_party_size {value} is more than "
                f"max_party_size {largest}"
            )
        return value


class SttEngine(ConfigModel):
    """Speech-to-text engine."""

    provider: Literal["deepgram", "local"] = "deepgram"
    model: str = "nova-3"
    language: Literal["en-IN", "en", "hi", "multi"] = "multi"


class LlmEngine(ConfigModel):
    """Language model that runs the conversation."""

    provider: Literal["groq", "local"] = "groq"
    model: str = "llama-3.3-70b-versatile"
    temperature: float = Field(0.3, ge=0.0, le=2.0)


class TtsEngine(ConfigModel):
    """Text-to-speech engine."""

    provider: Literal["deepgram", "local"] = "deepgram"
    voice: str = "aura-2-thalia-en"
    language: Language = "en"


class Engines(ConfigModel):
    """The three engines of a call's pipeline."""

    stt: SttEngine = SttEngine()
    llm: LlmEngine = LlmEngine()
    tts: TtsEngine = TtsEngine()


class Silence(ConfigModel):
    """How long the bot waits on a silent caller, and how long any call may last."""

    reprompt_secs: float = Field(8.0, gt=0, le=120)
    hangup_secs: float = Field(20.0, gt=0, le=600)
    max_call_secs: float = Field(600.0, ge=30, le=3600)

    @model_validator(mode="after")
    def _ordered(self) -> Silence:
        if self.reprompt_secs >= self.hangup_secs:
            raise ValueError(
                f"reprompt_secs ({self.reprompt_secs:g}) must be less than hangup_secs "
                f"({self.hangup_secs:g}): the bot asks again before it gives up"
            )
        if self.hangup_secs >= self.max_call_secs:
            raise ValueError(
                f"hangup_secs ({self.hangup_secs:g}) must be less than max_call_secs "
                f"({self.max_call_secs:g})"
            )
        return self


class Business(ConfigModel):
    """One business the bot answers for, as configured in ``bots.yaml``.

    Instances are immutable: a call holds the one it started with across any reload.
    """

    slug: Slug
    name: Text
    phone_numbers: Annotated[tuple[PhoneNumber, ...], Field(min_length=1), AfterValidator(_unique)]
    timezone: Annotated[str, AfterValidator(_timezone)] = "Asia/Kolkata"
    languages: Annotated[tuple[Language, ...], Field(min_length=1), AfterValidator(_unique)] = (
        "en",
    )
    greeting: Greetings
    persona: Text | None = None
    address: Text | None = None
    hours: WeeklyHours
    closed_dates: frozenset[IsoDate] = frozenset()
    reservations: Reservations
    engines: Engines = Engines()
    staff_number: Annotated[str | None, BeforeValidator(_optional_phone)] = None
    silence: Silence = Silence()

    @field_validator("greeting")
    @classmethod
    def _greets_every_language(
        cls, value: Mapping[Language, str], info: ValidationInfo
    ) -> Mapping[Language, str]:
        missing = [lang for lang in info.data.get("languages", ()) if lang not in value]
        if missing:
            listed = ", ".join(repr(lang) for lang in missing)
            raise ValueError(f"no greeting for language {listed} (every language needs one)")
        return value

    @field_validator("staff_number")
    @classmethod
    def _not_own_number(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value in info.data.get("phone_numbers", ()):
            raise ValueError("staff_number is one of the business's own phone_numbers")
        return value

    @property
    def default_language(self) -> Language:
        """The language a call starts in: the first one listed."""
        return self.languages[0]

    @property
    def zone(self) -> ZoneInfo:
        """The business's timezone."""
        return ZoneInfo(self.timezone)

    def greeting_for(self, language: str | None = None) -> str:
        """The greeting in ``language``, or in the default language if it has none."""
        if language in self.greeting:
            return self.greeting[language]  # type: ignore[index]
        return self.greeting[self.default_language]

    def booking_policy(self) -> BookingPolicy:
        """The store's view of this business's booking rules, built once per business."""
        return self._policy

    @cached_property
    def _policy(self) -> BookingPolicy:
        rules = self.reservations
        return BookingPolicy(
            business_id=self.slug,
            timezone=self.timezone,
            weekly_hours={iso_weekday(day): windows for day, windows in self.hours.items()},
            closed_dates=frozenset(self.closed_dates),
            slot_minutes=rules.slot_minutes,
            dining_minutes=rules.dining_minutes,
            seat_capacity=rules.seat_capacity,
            max_party_size=rules.max_party_size,
            min_party_size=rules.min_party_size,
            min_notice_minutes=rules.min_notice_minutes,
            horizon_days=rules.horizon_days,
            last_seating_minutes=rules.last_seating_minutes,
            alternatives=rules.alternatives,
        )


class BotsFile(ConfigModel):
    """The whole of ``bots.yaml``: a list of businesses under ``businesses:``."""

    businesses: Annotated[tuple[Business, ...], Field(min_length=1)]
