"""An immutable directory of the configured businesses, looked up by slug or phone number."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from bot.config.business import Business
from bot.config.errors import ConfigError
from bot.phone import mask_phone, try_normalise_phone


@dataclass(frozen=True, slots=True)
class DirectoryDiff:
    """What changed between two directories, by slug.

    Attributes:
        added: Slugs only in the newer directory.
        removed: Slugs only in the older directory.
        changed: Slugs in both whose configuration differs.
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        """Whether anything changed at all."""
        return bool(self.added or self.removed or self.changed)


class BusinessDirectory:
    """The businesses of one loaded ``bots.yaml``; immutable once built.

    Iterating yields the businesses in file order.
    """

    __slots__ = ("_businesses", "_by_number", "_by_slug", "_loaded_at", "_source")

    _source: Path
    _loaded_at: dt.datetime
    _businesses: tuple[Business, ...]
    _by_slug: Mapping[str, Business]
    _by_number: Mapping[str, Business]

    def __init__(
        self,
        businesses: Iterable[Business],
        *,
        source: str | Path = "bots.yaml",
        loaded_at: dt.datetime | None = None,
    ) -> None:
        """Index the businesses.

        Raises:
            ConfigError: If two businesses share a slug or a phone number; every clash is
                listed, naming both businesses.
        """
        items = tuple(businesses)
        where = str(source)
        slugs = [business.slug for business in items]
        label = [
            f"'{slug}' (businesses[{index}])" if slugs.count(slug) > 1 else f"'{slug}'"
            for index, slug in enumerate(slugs)
        ]
        by_slug: dict[str, tuple[int, Business]] = {}
        by_number: dict[str, tuple[int, Business]] = {}
        problems: list[str] = []
        for index, business in enumerate(items):
            first = by_slug.setdefault(business.slug, (index, business))
            if first[0] != index:
                problems.append(
                    f"{where}: businesses[{index}].slug: duplicate slug '{business.slug}', used "
                    f"by both businesses[{first[0]}] ('{first[1].name}') and "
                    f"businesses[{index}] ('{business.name}')"
                )
            for position, number in enumerate(business.phone_numbers):
                owner = by_number.setdefault(number, (index, business))
                if owner[0] != index:
                    problems.append(
                        f"{where}: businesses[{index}].phone_numbers[{position}]: phone number "
                        f"{mask_phone(number)} is used by both {label[owner[0]]} and "
                        f"{label[index]}"
                    )
        if problems:
            raise ConfigError(problems)
        _set = object.__setattr__
        _set(self, "_businesses", items)
        _set(self, "_by_slug", MappingProxyType({s: b for s, (_, b) in by_slug.items()}))
        _set(self, "_by_number", MappingProxyType({n: b for n, (_, b) in by_number.items()}))
        _set(self, "_source", Path(source))
        _set(self, "_loaded_at", loaded_at or dt.datetime.now(dt.UTC))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        """Refuse every change: a directory is replaced whole, never edited."""
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        """Refuse every change: a directory is replaced whole, never edited."""
        raise AttributeError(f"{type(self).__name__} is immutable")

    @property
    def source(self) -> Path:
        """The file the businesses were read from."""
        return self._source

    @property
    def loaded_at(self) -> dt.datetime:
        """When the businesses were read (UTC)."""
        return self._loaded_at

    def by_slug(self, slug: str) -> Business | None:
        """The business with this slug, or ``None``."""
        return self._by_slug.get(slug)

    def by_number(self, raw_number: str | int | None) -> Business | None:
        """The business a call to this number reaches, or ``None``.

        Args:
            raw_number: The number in any form, e.g. Plivo's ``To`` (``918047182200``); a value
                that is not a phone number finds nothing rather than raising.
        """
        number = try_normalise_phone(raw_number)
        return None if number is None else self._by_number.get(number)

    @property
    def slugs(self) -> tuple[str, ...]:
        """The slugs, in file order."""
        return tuple(business.slug for business in self._businesses)

    def __iter__(self) -> Iterator[Business]:
        """The businesses in file order."""
        return iter(self._businesses)

    def __len__(self) -> int:
        """How many businesses there are."""
        return len(self._businesses)

    def __contains__(self, slug: object) -> bool:
        """Whether a business has this slug."""
        return slug in self._by_slug

    def __repr__(self) -> str:
        """Name the source and the slugs (never phone numbers)."""
        return f"BusinessDirectory(source={str(self.source)!r}, slugs={list(self.slugs)!r})"

    def diff(self, previous: BusinessDirectory | None) -> DirectoryDiff:
        """What changed from ``previous`` to this directory."""
        before = {} if previous is None else dict(previous._by_slug)
        after = self._by_slug
        return DirectoryDiff(
            added=tuple(slug for slug in after if slug not in before),
            removed=tuple(slug for slug in before if slug not in after),
            changed=tuple(slug for slug in after if slug in before and before[slug] != after[slug]),
        )
