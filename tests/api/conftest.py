import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from api.app import create_app
from bot.config import BusinessRegistry, Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'api.db'}",
        "bots_path": ROOT / "bots.yaml",
        "config_watch_secs": 0,
        "admin_token": TOKEN,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings, BusinessRegistry(settings.bots_path))


@pytest.fixture
async def client(aiohttp_client: Any, app: web.Application) -> TestClient:
    return await aiohttp_client(app, headers=AUTH)


def next_weekday(iso_weekday: int, weeks_ahead: int = 1) -> dt.date:
    """A date on the given ISO weekday, at least a few days ahead (within booking horizons)."""
    today = dt.date.today()
    days = (iso_weekday - today.isoweekday()) % 7 + 7 * (weeks_ahead - 1)
    return today + dt.timedelta(days=days or 7)
