"""The live business configuration: reload on demand, on file change, or on SIGHUP."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from bot.config.directory import BusinessDirectory, DirectoryDiff
from bot.config.errors import ConfigError
from bot.config.loader import parse_businesses, read_config


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """The outcome of one reload.

    Attributes:
        applied: Whether the new file was taken into use.
        reason: Why it was refused (every problem, one per line); ``None`` when applied.
        diff: What changed, by slug; empty when refused.
    """

    applied: bool
    reason: str | None = None
    diff: DirectoryDiff = DirectoryDiff()

    @property
    def refused(self) -> bool:
        """Whether the old configuration was kept because the new one is invalid."""
        return not self.applied

    @property
    def added(self) -> tuple[str, ...]:
        """Slugs of businesses that are new."""
        return self.diff.added

    @property
    def removed(self) -> tuple[str, ...]:
        """Slugs of businesses that are gone."""
        return self.diff.removed

    @property
    def changed(self) -> tuple[str, ...]:
        """Slugs of businesses whose configuration changed."""
        return self.diff.changed


@dataclass(frozen=True, slots=True)
class _Fingerprint:
    mtime_ns: int
    size: int
    digest: str


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint(path: Path) -> _Fingerprint | None:
    """The file's mtime, size and content hash; ``None`` while it is missing (mid-save)."""
    try:
        stat = path.stat()
        digest = _digest(path.read_bytes())
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return None
    return _Fingerprint(stat.st_mtime_ns, stat.st_size, digest)


class BusinessRegistry:
    """Holds the current :class:`BusinessDirectory` and swaps it when ``bots.yaml`` changes.

    A call takes its :class:`~bot.config.business.Business` from :attr:`current` when it
    starts and keeps that object; businesses are immutable, so a reload never changes a
    call in progress.
    """

    def __init__(self, path: str | Path, directory: BusinessDirectory | None = None) -> None:
        """Load ``path`` (unless an already loaded ``directory`` of it is given).

        Raises:
            ConfigError: If the file cannot be loaded; at start-up there is nothing to keep.
        """
        self.path = Path(path)
        self._lock = threading.Lock()
        if directory is None:
            data = read_config(self.path)
            directory = parse_businesses(data, self.path)
            self._attempted: str | None = _digest(data)
        else:
            fingerprint = _fingerprint(self.path)
            self._attempted = fingerprint.digest if fingerprint else None
        self._current = directory

    @property
    def current(self) -> BusinessDirectory:
        """The directory in force now."""
        return self._current

    def reload(self) -> ReloadResult:
        """Read the file again; take it into use only if it is entirely valid.

        Returns:
            Whether it was applied and, if not, why; a refused file leaves the current
            directory in force and is logged as a warning.
        """
        with self._lock:
            try:
                data = read_config(self.path)
                self._attempted = _digest(data)
                fresh = parse_businesses(data, self.path)
            except ConfigError as exc:
                logger.warning(
                    "Configuration reload refused, keeping the current one:\n{}", exc.message
                )
                return ReloadResult(applied=False, reason=exc.message)
            diff = fresh.diff(self._current)
            self._current = fresh
        if diff:
            logger.info(
                "Configuration reloaded from {}: added {}, removed {}, changed {}",
                self.path,
                list(diff.added),
                list(diff.removed),
                list(diff.changed),
            )
        else:
            logger.info("Configuration reloaded from {}: no business changed", self.path)
        return ReloadResult(applied=True, diff=diff)

    async def watch(self, interval: float, *, settle: float | None = None) -> None:
        """Poll the file every ``interval`` seconds and reload when its content changes.

        A change is reloaded once it has stayed the same for ``settle`` seconds (default a
        quarter of ``interval``, at most 0.5 s), so a save in progress is not read half
        written. A file that is briefly missing, as during an editor's save-and-rename, is
        waited for, keeping the current configuration. Runs until cancelled.

        Args:
            interval: Seconds between polls; must be positive.
            settle: Seconds a changed file must stay unchanged before it is read.
        """
        if interval <= 0:
            raise ValueError("interval must be positive")
        pause = min(interval / 4, 0.5) if settle is None else settle
        missing_since_polls = 0
        while True:
            await asyncio.sleep(interval)
            seen = await asyncio.to_thread(_fingerprint, self.path)
            if seen is None:
                missing_since_polls += 1
                if missing_since_polls == 2:
                    logger.warning("{} is missing; keeping the current configuration", self.path)
                continue
            missing_since_polls = 0
            if seen.digest == self._attempted:
                continue
            if pause > 0:
                await asyncio.sleep(pause)
                again = await asyncio.to_thread(_fingerprint, self.path)
                if again != seen:
                    continue  # still being written; look again next poll
            logger.debug("{} changed on disk; reloading", self.path)
            try:
                await asyncio.to_thread(self.reload)
            except Exception:  # a bug must not stop hot reload for the process's lifetime
                logger.exception("Unexpected error reloading {}; still watching", self.path)

    def install_sighup(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Reload whenever the process receives SIGHUP (``kill -HUP <pid>``).

        Returns:
            Whether the handler was installed; ``False`` (with a debug log) where signals
            cannot be handled by the loop, e.g. on Windows or outside the main thread.
        """
        sighup = getattr(signal, "SIGHUP", None)
        if sighup is None:
            logger.debug("SIGHUP does not exist on this platform; no reload on signal")
            return False
        try:
            loop.add_signal_handler(sighup, self._on_sighup)
        except (NotImplementedError, RuntimeError, ValueError) as exc:
            logger.debug("Cannot handle SIGHUP here ({}); no reload on signal", exc)
            return False
        logger.debug("Reloading configuration on SIGHUP (pid {})", os.getpid())
        return True

    def uninstall_sighup(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stop reloading on SIGHUP."""
        sighup = getattr(signal, "SIGHUP", None)
        if sighup is not None:
            try:
                loop.remove_signal_handler(sighup)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    def _on_sighup(self) -> None:
        logger.info("SIGHUP received; reloading configuration from {}", self.path)
        self.reload()
