"""Fixtures for the bot's configuration tests: a valid two-business config, file writing, logs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

VALID_CONFIG: dict[str, Any] = {
    "businesses": [
        {
            "slug": "himalayan-kitchen",
            "name": "Himalayan Kitchen",
            "phone_numbers": ["+91 11 4084 7730"],
            "timezone": "Asia/Kolkata",
            "languages": ["hi", "en"],
            "greeting": {"hi": "नमस्ते, हिमालयन किचन।", "en": "Hello, Himalayan Kitchen."},
            "hours": {
                "tue": ["12:00-15:30", "19:00-23:00"],
                "fri": ["12:00-15:30", "19:00-00:30"],
                "sat": ["12:00-16:00", "19:00-00:30"],
            },
            "closed_dates": ["2025-10-20"],
            "reservations": {"seat_capacity": 48, "max_party_size": 12},
        },
        {
            "slug": "dakshin-dosa-house",
            "name": "Dakshin Dosa House",
            "phone_numbers": ["918047182200", "+91-80-4718-2201"],
            "languages": ["en"],
            "greeting": {"en": "Hello, Dakshin Dosa House."},
            "hours": {"monday": ["07:30-11:00"], "sunday": "12:00-16:00"},
            "reservations": {
                "slot_minutes": 15,
                "dining_minutes": 60,
                "seat_capacity": 36,
                "max_party_size": 8,
            },
        },
    ]
}


def business_data(**changes: Any) -> dict[str, Any]:
    """A copy of the first valid business block, with top-level keys changed."""
    data = copy.deepcopy(VALID_CONFIG["businesses"][0])
    data.update(changes)
    return data


@pytest.fixture
def config_data() -> dict[str, Any]:
    """A fresh, mutable copy of a valid ``bots.yaml`` as data."""
    return copy.deepcopy(VALID_CONFIG)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[Any], Path]:
    """Write data (dumped as YAML) or raw text to ``tmp_path / 'bots.yaml'``; return the path."""
    path = tmp_path / "bots.yaml"

    def write(content: Any) -> Path:
        text = (
            content
            if isinstance(content, str)
            else yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
        )
        path.write_text(text, encoding="utf-8")
        return path

    return write
