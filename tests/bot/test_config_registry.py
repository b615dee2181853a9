from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest

from bot.config import BusinessRegistry, ConfigError, load_businesses

WriteConfig = Callable[[Any], Path]


async def _eventually(check: Callable[[], bool]) -> None:
    for _ in range(250):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met within 5 s")


@contextlib.asynccontextmanager
async def _watching(registry: BusinessRegistry, interval: float = 0.05) -> AsyncIterator[None]:
    task = asyncio.create_task(registry.watch(interval, settle=0.01))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _rename(data: dict[str, Any], name: str) -> dict[str, Any]:
    data["businesses"][0]["name"] = name
    return data


def test_registry_loads_the_file_at_start(
    config_data: dict[str, Any], write_config: WriteConfig
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    assert registry.current.slugs == ("himalayan-kitchen", "dakshin-dosa-house")


def test_registry_refuses_to_start_on_a_bad_file(write_config: WriteConfig) -> None:
    with pytest.raises(ConfigError, match="file is empty"):
        BusinessRegistry(write_config(""))


def test_registry_can_start_from_an_already_loaded_directory(
    config_data: dict[str, Any], write_config: WriteConfig
) -> None:
    path = write_config(config_data)
    directory = load_businesses(path)
    assert BusinessRegistry(path, directory).current is directory


def test_registry_reload_swaps_and_reports_what_changed(
    config_data: dict[str, Any], write_config: WriteConfig, log_lines: list[str]
) -> None:
    path = write_config(config_data)
    registry = BusinessRegistry(path)
    old = registry.current
    config_data["businesses"][1]["reservations"]["seat_capacity"] = 40
    config_data["businesses"].pop(0)
    extra = dict(config_data["businesses"][0], slug="chai-point", phone_numbers=["+918040000000"])
    config_data["businesses"].append(extra)
    write_config(config_data)

    result = registry.reload()

    assert result.applied and not result.refused and result.reason is None
    assert result.added == ("chai-point",)
    assert result.removed == ("himalayan-kitchen",)
    assert result.changed == ("dakshin-dosa-house",)
    assert registry.current is not old
    assert registry.current.slugs == ("dakshin-dosa-house", "chai-point")
    logged = "\n".join(log_lines)
    assert "added ['chai-point']" in logged
    assert "removed ['himalayan-kitchen']" in logged
    assert "changed ['dakshin-dosa-house']" in logged


def test_registry_reload_of_the_same_file_changes_nothing(
    config_data: dict[str, Any], write_config: WriteConfig
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    result = registry.reload()
    assert result.applied
    assert not result.diff


def test_registry_reload_keeps_the_old_config_when_the_new_is_bad(
    config_data: dict[str, Any], write_config: WriteConfig, log_lines: list[str]
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    old = registry.current
    config_data["businesses"][0]["hours"]["funday"] = ["12:00-15:00"]
    write_config(config_data)

    result = registry.reload()

    assert result.refused and not result.applied
    assert result.reason is not None and "unknown weekday 'funday'" in result.reason
    assert registry.current is old
    warnings = [line for line in log_lines if line.startswith("WARNING")]
    assert warnings and "funday" in "\n".join(log_lines)


def test_registry_reload_keeps_the_old_config_when_the_file_is_gone(
    config_data: dict[str, Any], write_config: WriteConfig
) -> None:
    path = write_config(config_data)
    registry = BusinessRegistry(path)
    old = registry.current
    path.unlink()
    result = registry.reload()
    assert result.refused
    assert result.reason is not None and "file not found" in result.reason
    assert registry.current is old


def test_registry_business_taken_before_a_reload_is_unchanged_after(
    config_data: dict[str, Any], write_config: WriteConfig
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    in_call = registry.current.by_slug("himalayan-kitchen")
    assert in_call is not None
    snapshot = in_call.model_dump()
    write_config(_rename(config_data, "Himalayan Kitchen & Bar"))

    assert registry.reload().changed == ("himalayan-kitchen",)

    assert in_call.name == "Himalayan Kitchen"
    assert in_call.model_dump() == snapshot
    fresh = registry.current.by_slug("himalayan-kitchen")
    assert fresh is not None and fresh.name == "Himalayan Kitchen & Bar"


def test_registry_reload_logs_no_phone_numbers(
    config_data: dict[str, Any], write_config: WriteConfig, log_lines: list[str]
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    config_data["businesses"][1]["phone_numbers"] = ["+91 11 4084 7730"]
    write_config(config_data)
    assert registry.reload().refused
    logged = "\n".join(log_lines)
    assert "+91******7730" in logged
    assert "4084" not in logged and "911140847730" not in logged


async def test_registry_watch_picks_up_an_edit(
    config_data: dict[str, Any], write_config: WriteConfig
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    async with _watching(registry):
        await asyncio.sleep(0.1)
        write_config(_rename(config_data, "Himalayan Kitchen (Saket)"))
        await _eventually(
            lambda: (
                getattr(registry.current.by_slug("himalayan-kitchen"), "name", "")
                == "Himalayan Kitchen (Saket)"
            )
        )


async def test_registry_watch_keeps_old_config_on_a_bad_edit_and_warns_once(
    config_data: dict[str, Any], write_config: WriteConfig, log_lines: list[str]
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    old = registry.current
    async with _watching(registry):
        write_config("businesses:\n  - slug: [\n")
        await _eventually(lambda: any("YAML syntax error" in line for line in log_lines))
        await asyncio.sleep(0.3)  # several more polls of the same bad content
        assert registry.current is old
        refusals = [line for line in log_lines if "reload refused" in line]
        assert len(refusals) == 1

        write_config(_rename(config_data, "Fixed Kitchen"))
        await _eventually(lambda: registry.current is not old)
    fixed = registry.current.by_slug("himalayan-kitchen")
    assert fixed is not None and fixed.name == "Fixed Kitchen"


async def test_registry_watch_survives_the_file_missing_mid_save(
    config_data: dict[str, Any], write_config: WriteConfig, log_lines: list[str]
) -> None:
    path = write_config(config_data)
    registry = BusinessRegistry(path)
    old = registry.current
    async with _watching(registry):
        path.unlink()
        await asyncio.sleep(0.2)
        assert registry.current is old
        assert not any("reload refused" in line for line in log_lines)

        write_config(_rename(config_data, "Saved Kitchen"))
        await _eventually(lambda: registry.current is not old)
    assert any("is missing" in line for line in log_lines)


async def test_registry_watch_is_cancellable(
    config_data: dict[str, Any], write_config: WriteConfig
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    task = asyncio.create_task(registry.watch(10))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_registry_watch_rejects_a_non_positive_interval(
    config_data: dict[str, Any], write_config: WriteConfig
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    with pytest.raises(ValueError, match="interval"):
        await registry.watch(0)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
async def test_registry_sighup_triggers_a_reload(
    config_data: dict[str, Any], write_config: WriteConfig, log_lines: list[str]
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    loop = asyncio.get_running_loop()
    assert registry.install_sighup(loop)
    try:
        write_config(_rename(config_data, "Signalled Kitchen"))
        os.kill(os.getpid(), signal.SIGHUP)
        await _eventually(
            lambda: (
                getattr(registry.current.by_slug("himalayan-kitchen"), "name", "")
                == "Signalled Kitchen"
            )
        )
    finally:
        registry.uninstall_sighup(loop)
    assert any("SIGHUP received" in line for line in log_lines)


async def test_registry_install_sighup_is_a_noop_where_unsupported(
    config_data: dict[str, Any], write_config: WriteConfig, log_lines: list[str]
) -> None:
    registry = BusinessRegistry(write_config(config_data))

    loop = Mock(spec=asyncio.AbstractEventLoop)
    loop.add_signal_handler.side_effect = NotImplementedError

    assert registry.install_sighup(loop) is False
    assert any(line.startswith("DEBUG") and "SIGHUP" in line for line in log_lines)


async def test_registry_watch_keeps_watching_after_an_unexpected_error(
    config_data: dict[str, Any],
    write_config: WriteConfig,
    log_lines: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = BusinessRegistry(write_config(config_data))
    real_reload = registry.reload
    calls: list[int] = []

    def flaky_reload() -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real_reload()

    monkeypatch.setattr(registry, "reload", flaky_reload)
    async with _watching(registry):
        write_config(_rename(config_data, "First Edit"))
        await _eventually(lambda: len(calls) == 1)
        write_config(_rename(config_data, "Second Edit"))
        await _eventually(
            lambda: (
                getattr(registry.current.by_slug("himalayan-kitchen"), "name", "") == "Second Edit"
            )
        )
    assert any("Unexpected error reloading" in line for line in log_lines)
