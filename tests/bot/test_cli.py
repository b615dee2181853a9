import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_bot(
    *args: str, cwd: Path, input: str | None = None, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"PORT", "BOTS_PATH"}}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
    )


def test_check_config_accepts_shipped_file(tmp_path: Path):
    result = run_bot("check-config", cwd=tmp_path, BOTS_PATH=str(ROOT / "bots.yaml"))
    assert result.returncode == 0, result.stderr
    assert "himalayan-kitchen" in result.stdout


@pytest.mark.parametrize("command", ["check-config", "serve"])
def test_broken_bots_yaml_fails_at_start_with_key_path(tmp_path: Path, command: str):
    broken = (ROOT / "bots.yaml").read_text().replace('"12:00-15:30"', '"12:00-25:30"', 1)
    (tmp_path / "bots.yaml").write_text(broken)
    result = run_bot(command, cwd=tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert result.returncode == 2
    assert "bots.yaml" in result.stderr
    assert "businesses[himalayan-kitchen].hours.tue" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_environment_names_the_variable(tmp_path: Path):
    result = run_bot("check-config", cwd=tmp_path, PORT="eighty")
    assert result.returncode == 2
    assert "PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_workers_shares_the_port_and_stops_on_sigterm(tmp_path: Path):
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if k not in {"PORT", "BOTS_PATH"}}
    environment.update(
        PYTHONPATH=str(ROOT),
        BOTS_PATH=str(ROOT / "bots.yaml"),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/w.db",
        CONFIG_WATCH_SECS="0",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 40
        while len(workers) < 2 and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/health/detailed", timeout=2
                ) as response:
                    workers.add(json.loads(response.read())["worker"])
            except OSError:
                time.sleep(0.2)
        assert len(workers) == 2
        assert server.pid not in workers
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors
    assert "Traceback" not in errors


def test_settle_heap_freezes_what_is_loaded_and_collects_garbage_first():
    import gc

    from bot.serve import settle_heap

    class Cycle:
        def __init__(self):
            self.me = self

    Cycle()  # garbage, in a reference cycle: collected, not frozen
    try:
        settle_heap()
        assert gc.get_freeze_count() > 10_000  # the modules' objects
    finally:
        gc.unfreeze()
    assert not any(isinstance(o, Cycle) for o in gc.get_objects())
