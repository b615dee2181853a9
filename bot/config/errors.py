"""``ConfigError`` and the turning of pydantic's errors into lines a person can act on."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from store.errors import VartalaapError

_MAPPING_TYPES = {"dict_type", "model_type", "model_attributes_type", "dataclass_type"}
_LIST_TYPES = {"list_type", "tuple_type", "set_type", "frozen_set_type", "iterable_type"}
_PREFIXES = ("Value error, ", "Assertion failed, ")


class ConfigError(VartalaapError):
    """Configuration (``bots.yaml`` or the environment) that cannot be used.

    The message has one line per problem, each naming the file (or ``environment``), the key
    path and the reason, e.g. ``bots.yaml: businesses[0].hours.funday: unknown weekday``.

    Attributes:
        problems: The problems, one line each.
    """

    code = "config_invalid"

    def __init__(self, problems: str | Iterable[str]) -> None:
        """Create the error from one problem line or several."""
        lines = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__("\n".join(lines))
        self.problems: tuple[str, ...] = lines


def describe_kind(value: object) -> str:
    """Name a value's kind the way a YAML or ``.env`` author thinks of it."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple | set | frozenset):
        return "a list"
    return type(value).__name__


def format_loc(loc: Iterable[int | str], labels: Mapping[tuple[int | str, ...], str]) -> str:
    """Write a pydantic ``loc`` as a key path: ``businesses[0].hours.mon[1]``.

    Args:
        loc: The error's location.
        labels: Replacement text for a list index, keyed by the location up to and including
            it; e.g. ``{("businesses", 0): "himalayan-kitchen"}`` gives
            ``businesses[himalayan-kitchen]``.
    """
    path = ""
    prefix: tuple[int | str, ...] = ()
    for part in loc:
        prefix = (*prefix, part)
        if isinstance(part, int):
            path += f"[{labels.get(prefix, part)}]"
        elif part == "[key]" or ("[" in part and part.endswith("]")):
            continue  # pydantic's internal markers: dict keys, union members
        else:
            path += f".{part}" if path else part
    return path


def explain(error: ErrorDetails, known_keys: Iterable[str] = ()) -> str:
    """The reason of one pydantic error, reworded for a person editing a config file."""
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        key = str(error["loc"][-1]) if error["loc"] else ""
        close = difflib.get_close_matches(key, list(known_keys), n=1, cutoff=0.75)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key{hint}"
    if kind == "missing":
        return "required key missing"
    if kind in _MAPPING_TYPES:
        return f"expected a mapping of keys to values, got {describe_kind(value)}"
    if kind in _LIST_TYPES:
        return f"expected a list, got {describe_kind(value)}"
    if kind == "too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        return "must not be empty"
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        shown = repr(value) if isinstance(value, str | int | float) else describe_kind(value)
        return f"unknown value {shown[:40]} (expected {expected})"
    message = error["msg"]
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    return message


def validation_problems(
    error: ValidationError,
    where: str,
    *,
    labels: Mapping[tuple[int | str, ...], str] | None = None,
    known_keys: Iterable[str] = (),
    name_loc: Callable[[tuple[int | str, ...]], str] | None = None,
) -> list[str]:
    """Turn every error in a pydantic ``ValidationError`` into a ``where: path: reason`` line.

    The input values are never repeated (they may be secrets), except in the reason of a
    value that matched none of a fixed set of choices.

    Args:
        error: The validation error.
        where: What was validated: a file name or ``environment``.
        labels: See :func:`format_loc`.
        known_keys: Key names to suggest for a misspelt key.
        name_loc: Writes a location instead of :func:`format_loc`.
    """
    keys = tuple(known_keys)
    details = error.errors(include_url=False)
    locs = [tuple(detail["loc"]) for detail in details]
    lines: list[str] = []
    for detail, loc in zip(details, locs, strict=True):
        if detail["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in locs
        ):
            continue  # "too few items" only because its items were invalid: say that instead
        path = name_loc(loc) if name_loc else format_loc(loc, labels or {})
        reason = explain(detail, keys)
        line = f"{where}: {path}: {reason}" if path else f"{where}: {reason}"
        if line not in lines:
            lines.append(line)
    return lines


def model_keys(model: Any) -> set[str]:
    """Every field name of a pydantic model and of the models nested in it."""
    names: set[str] = set()
    pending = [model]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for name, field in getattr(current, "model_fields", {}).items():
            names.add(name)
            pending.extend(_nested_models(field.annotation))
    return names


def _nested_models(annotation: Any) -> list[Any]:
    found: list[Any] = []
    if hasattr(annotation, "model_fields"):
        found.append(annotation)
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_nested_models(arg))
    return found
