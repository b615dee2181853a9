from pathlib import Path

import pytest
from aiohttp import web

from api.app import create_app
from bot.config import BusinessRegistry, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'api.db'}",
        bots_path=ROOT / "bots.yaml",
        config_watch_secs=0,
    )


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings, BusinessRegistry(settings.bots_path))
