"""Reading ``bots.yaml`` into a :class:`BusinessDirectory`, with errors a person can act on."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.config.business import SLUG_PATTERN, BotsFile
from bot.config.directory import BusinessDirectory
from bot.config.errors import ConfigError, describe_kind, model_keys, validation_problems

_KNOWN_KEYS = model_keys(BotsFile)


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice in one mapping is an error.

    Dates stay text, so pydantic reports an impossible date rather than PyYAML crashing on it.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:
                continue  # unhashable; the base class reports it
            if first is not key_node.start_mark:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given on line {first.line + 1}); "
                    "the later value would silently replace the earlier",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def _timestamp_as_text(loader: _StrictLoader, node: yaml.Node) -> str:
    return str(node.value)


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _read_yaml(text: str, where: str) -> object:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        constructing = isinstance(exc, yaml.constructor.ConstructorError)
        label = "YAML error" if constructing else "YAML syntax error"
        reason = exc.problem or "cannot be parsed"
        if exc.context:
            reason = f"{reason} ({exc.context})"
        raise ConfigError(f"{position}: {label}: {reason}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: YAML syntax error: {exc}") from None


def _labels(raw: object) -> dict[tuple[int | str, ...], str]:
    """Name each business in error paths by its slug where the slug is valid and unique."""
    if not isinstance(raw, list):
        return {}
    slugs = [entry.get("slug") if isinstance(entry, dict) else None for entry in raw]
    return {
        ("businesses", index): slug
        for index, slug in enumerate(slugs)
        if isinstance(slug, str) and SLUG_PATTERN.fullmatch(slug) and slugs.count(slug) == 1
    }


def read_config(path: str | Path) -> bytes:
    """Read a config file's bytes.

    Raises:
        ConfigError: If it is missing, a directory or unreadable.
    """
    where = str(path)
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found (set BOTS_PATH to the config file)") from None
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a directory, not a file") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read: {exc.strerror or exc}") from None


def _decode(content: str | bytes, where: str) -> str:
    if isinstance(content, str):
        return content
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text (bad byte at offset {exc.start})") from None


def parse_businesses(
    content: str | bytes, source: str | Path = "bots.yaml", *, loaded_at: dt.datetime | None = None
) -> BusinessDirectory:
    """Validate the content of a ``bots.yaml`` and build its directory.

    Args:
        content: The file's content, as text or as UTF-8 bytes.
        source: The file's path, used in messages and kept as the directory's ``source``.
        loaded_at: When it was read; defaults to now.

    Raises:
        ConfigError: Listing every problem found, one per line.
    """
    where = str(source)
    data = _read_yaml(_decode(content, where), where)
    if data is None:
        raise ConfigError(f"{where}: file is empty (expected a top-level 'businesses:' list)")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}: the top level must be a mapping with a 'businesses:' key, "
            f"got {describe_kind(data)}"
        )
    raw = data.get("businesses")
    if isinstance(raw, list) and not raw:
        raise ConfigError(f"{where}: businesses: no businesses listed (at least one is needed)")
    try:
        parsed = BotsFile.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, where, labels=_labels(raw), known_keys=_KNOWN_KEYS)
        raise ConfigError(problems) from None
    return BusinessDirectory(parsed.businesses, source=source, loaded_at=loaded_at)


def load_businesses(path: str | Path) -> BusinessDirectory:
    """Read and validate ``bots.yaml``.

    Args:
        path: The file to read.

    Returns:
        The directory of its businesses.

    Raises:
        ConfigError: If the file is missing or unreadable, is not YAML, or any business in it
            is invalid; the message lists every problem with file, key path and reason.
    """
    return parse_businesses(read_config(path), path)


def load_or_exit(path: str | Path) -> BusinessDirectory:
    """Load ``bots.yaml`` for a command-line entry point: on a bad file, say why and exit.

    Prints the problems to stderr and exits with status 2; never shows a traceback.
    """
    try:
        return load_businesses(path)
    except ConfigError as exc:
        print(f"error: invalid configuration\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None
