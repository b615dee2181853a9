from __future__ import annotations

from pathlib import Path

import pytest
from loguru import logger

from bot.config import ConfigError, Settings, load_settings

VARIABLES = (
    "DATABASE_URL",
    "DEEPGRAM_API_KEY",
    "GROQ_API_KEY",
    "PLIVO_AUTH_ID",
    "PLIVO_AUTH_TOKEN",
    "PUBLIC_BASE_URL",
    "ADMIN_TOKEN",
    "LOG_LEVEL",
    "BOTS_PATH",
    "HOST",
    "PORT",
    "CONFIG_WATCH_SECS",
    "DEEPGRAM_URL",
    "DEEPGRAM_TTS_URL",
    "GROQ_URL",
    "PLIVO_API_URL",
    "STREAM_TOKEN_SECRET",
    "STREAM_TOKEN_TTL_SECS",
)
SECRETS = {
    "DEEPGRAM_API_KEY": "dg-secret-0123456789abcdef",
    "GROQ_API_KEY": "gsk_secret_0123456789abcdef",
    "PLIVO_AUTH_ID": "MAPLIVOSECRETID0001",
    "PLIVO_AUTH_TOKEN": "plivo-secret-token-0123456789",
    "ADMIN_TOKEN": "admin-secret-token-0123456789",
}
EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable from the developer's shell, and no stray .env in the working folder."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.chdir(tmp_path)


def _env_error(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    return str(caught.value)


def test_settings_defaults() -> None:
    settings = load_settings(env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///./vartalaap.db"
    assert settings.deepgram_api_key is None
    assert settings.groq_api_key is None
    assert settings.plivo_auth_id is None and settings.plivo_auth_token is None
    assert settings.admin_token is None
    assert settings.public_base_url == "http://127.0.0.1:8080"
    assert settings.log_level == "INFO"
    assert settings.bots_path == Path("bots.yaml")
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.config_watch_secs == 2.0 and settings.watch_enabled


def test_settings_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:////var/lib/vartalaap.db")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://bot.example.in/vartalaap/")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("BOTS_PATH", "/etc/vartalaap/bots.yaml")
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("CONFIG_WATCH_SECS", "0")
    monkeypatch.setenv("GROQ_API_KEY", SECRETS["GROQ_API_KEY"])
    settings = load_settings(env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:////var/lib/vartalaap.db"
    assert settings.public_base_url == "https://bot.example.in/vartalaap"
    assert settings.log_level == "DEBUG"
    assert settings.bots_path == Path("/etc/vartalaap/bots.yaml")
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert not settings.watch_enabled
    assert settings.groq_api_key is not None
    assert settings.groq_api_key.get_secret_value() == SECRETS["GROQ_API_KEY"]


def test_settings_read_dotenv_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("PORT=9100\nLOG_LEVEL=warning\nUNRELATED_VARIABLE=1\nGROQ_API_KEY=\n")
    monkeypatch.setenv("LOG_LEVEL", "error")
    settings = load_settings(env_file=env_file)
    assert settings.port == 9100
    assert settings.log_level == "ERROR"
    assert settings.groq_api_key is None  # empty means unset


def test_settings_read_dot_env_in_working_folder_by_default(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=9200\n")
    assert load_settings().port == 9200


def test_settings_missing_env_file_is_fine(tmp_path: Path) -> None:
    assert load_settings(env_file=tmp_path / "absent.env").port == 8080


def test_settings_example_file_documents_every_variable() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    lines = text.splitlines()
    for name in VARIABLES:
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{name}="))
        assert lines[index - 1].startswith("#"), f"{name} has no comment above it"
    documented = {line.split("=", 1)[0] for line in lines if "=" in line and line[0] != "#"}
    assert documented == set(VARIABLES)
    assert set(Settings.model_fields) == {name.lower() for name in VARIABLES}


def test_settings_example_file_loads_and_holds_no_secrets() -> None:
    settings = load_settings(env_file=EXAMPLE)
    assert settings.admin_token is None
    assert settings.deepgram_api_key is None and settings.groq_api_key is None


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("PORT", "eighty", "environment: PORT: Input should be a valid integer"),
        ("PORT", "0", "environment: PORT: Input should be greater than or equal to 1"),
        ("PORT", "70000", "environment: PORT: Input should be less than or equal to 65535"),
        ("LOG_LEVEL", "verbose", "environment: LOG_LEVEL: unknown value 'VERBOSE'"),
        ("CONFIG_WATCH_SECS", "-1", "environment: CONFIG_WATCH_SECS: Input should be greater"),
        ("PUBLIC_BASE_URL", "ftp://bot.example.in", "environment: PUBLIC_BASE_URL: must be an"),
        ("PUBLIC_BASE_URL", "bot.example.in", "environment: PUBLIC_BASE_URL: must be an"),
        ("PUBLIC_BASE_URL", "https://bot.example.in/?a=1", "must not have a query"),
        ("PUBLIC_BASE_URL", "https://bot.example.in/#top", "or fragment"),
        ("PUBLIC_BASE_URL", "https://u:p@bot.example.in", "user name or password"),
        ("ADMIN_TOKEN", "short", "environment: ADMIN_TOKEN: must be at least 16 characters"),
    ],
)
def test_load_settings_names_the_bad_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    message = _env_error(monkeypatch, name, value)
    assert fragment in message


def test_load_settings_error_never_shows_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", SECRETS["GROQ_API_KEY"])
    monkeypatch.setenv("PORT", "not-a-port")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    assert SECRETS["GROQ_API_KEY"] not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__

    message = _env_error(monkeypatch, "ADMIN_TOKEN", "hunter2-short")
    assert "hunter2" not in message


def test_settings_secrets_never_appear_in_repr_str_dump_or_logs(
    monkeypatch: pytest.MonkeyPatch, log_lines: list[str]
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app:db-password-xyz@db/vartalaap")
    settings = load_settings(env_file=None)
    logger.info("settings: {}", settings)
    logger.info("settings: {!r}", settings)
    logger.info("database: {}", settings.database_url_for_logs)
    for text in (repr(settings), str(settings), *log_lines):
        for secret in (*SECRETS.values(), "db-password-xyz"):
            assert secret not in text
    for text in (settings.model_dump_json(), str(settings.model_dump())):
        for secret in SECRETS.values():
            assert secret not in text
    assert "**********" in repr(settings)
    assert settings.database_url_for_logs == "postgresql+asyncpg://app:***@db/vartalaap"
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == SECRETS["ADMIN_TOKEN"]


def test_settings_are_frozen() -> None:
    settings = load_settings(env_file=None)
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1  # type: ignore[misc]


def test_settings_database_url_for_logs_leaves_a_passwordless_url_alone() -> None:
    assert load_settings(env_file=None).database_url_for_logs.startswith("sqlite+aiosqlite")
