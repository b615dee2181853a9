"""``python -m bot mic`` says what is missing when it cannot reach a microphone and speakers."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from bot.mic import audio_problem
from tests.bot.test_cli import ROOT, run_bot


class FakePyAudio:
    """PyAudio's device queries over a fixed list of devices."""

    devices: list[dict[str, Any]] = []

    def get_default_input_device_info(self) -> dict[str, Any]:
        return self._default("maxInputChannels")

    def get_default_output_device_info(self) -> dict[str, Any]:
        return self._default("maxOutputChannels")

    def get_device_info_by_index(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self.devices):
            raise ValueError("Invalid device index")
        return self.devices[index]

    def terminate(self) -> None:
        pass

    def _default(self, channels: str) -> dict[str, Any]:
        for device in self.devices:
            if device[channels] > 0:
                return device
        raise OSError("No Default Device Available")


@pytest.fixture
def fake_pyaudio(monkeypatch: pytest.MonkeyPatch) -> type[FakePyAudio]:
    module = types.ModuleType("pyaudio")
    module.PyAudio = FakePyAudio  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyaudio", module)
    monkeypatch.setattr(FakePyAudio, "devices", [])
    return FakePyAudio


@pytest.mark.skipif(importlib.util.find_spec("pyaudio") is not None, reason="PyAudio is installed")
def test_without_pyaudio_the_command_says_how_to_install_it(tmp_path: Path):
    result = run_bot("mic", cwd=tmp_path, BOTS_PATH=str(ROOT / "bots.yaml"), input="")
    assert result.returncode == 1
    assert "needs PyAudio, which is not installed" in result.stderr
    assert "pip install -e '.[mic]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_machine_without_devices_is_named(fake_pyaudio: type[FakePyAudio]):
    problem = audio_problem()
    assert problem is not None
    assert "no microphone (audio input) and no speaker (audio output) device" in problem


def test_a_missing_microphone_alone_is_named(fake_pyaudio: type[FakePyAudio]):
    fake_pyaudio.devices = [{"maxInputChannels": 0, "maxOutputChannels": 2}]
    problem = audio_problem()
    assert problem is not None
    assert problem.startswith("no microphone (audio input) device")


def test_a_chosen_device_that_does_not_exist_is_named(fake_pyaudio: type[FakePyAudio]):
    fake_pyaudio.devices = [{"maxInputChannels": 1, "maxOutputChannels": 2}]
    assert audio_problem() is None
    problem = audio_problem(input_device=7)
    assert problem is not None
    assert "the device chosen is missing" in problem
    assert "--input-device" in problem
