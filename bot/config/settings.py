"""Process-wide settings read from the environment and ``.env``: keys, URLs, paths, ports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config.errors import ConfigError, validation_problems

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
"""The log levels the app accepts."""

MIN_ADMIN_TOKEN_LENGTH = 16
"""Shortest admin token accepted."""


def _base_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host, e.g. https://bot.example")
    if parts.query or parts.fragment or value.strip().endswith(("?", "#")):
        raise ValueError("must not have a query (?...) or fragment (#...)")
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _optional_base_url(value: str | None) -> str | None:
    return _base_url(value) if value else None


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _admin_token(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) < MIN_ADMIN_TOKEN_LENGTH:
        raise ValueError(
            f"must be at least {MIN_ADMIN_TOKEN_LENGTH} characters; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return value


class Settings(BaseSettings):
    """Settings of the process, from environment variables named like the fields in capitals.

    Secrets are :class:`~pydantic.SecretStr`: they show as ``**********`` in ``repr``, ``str``
    and logs; call ``get_secret_value()`` only where the secret is sent.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        case_sensitive=False,
    )

    database_url: str = Field("sqlite+aiosqlite:///./vartalaap.db", repr=False)
    deepgram_api_key: SecretStr | None = None
    groq_api_key: SecretStr | None = None
    plivo_auth_id: SecretStr | None = None
    plivo_auth_token: SecretStr | None = None
    public_base_url: Annotated[str, AfterValidator(_base_url)] = "http://127.0.0.1:8080"
    admin_token: Annotated[SecretStr | None, AfterValidator(_admin_token)] = None
    log_level: Annotated[LogLevel, BeforeValidator(_upper)] = "INFO"
    bots_path: Path = Path("bots.yaml")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    config_watch_secs: float = Field(2.0, ge=0)
    # Where the engines and Plivo's REST API live; tests and benchmarks point them at fakes.
    deepgram_url: Annotated[str, AfterValidator(_base_url)] = "https://api.deepgram.com"
    # Text-to-speech separately, when it is served elsewhere (unset: DEEPGRAM_URL).
    deepgram_tts_url: Annotated[str | None, AfterValidator(_optional_base_url)] = None
    groq_url: Annotated[str, AfterValidator(_base_url)] = "https://api.groq.com/openai/v1"
    plivo_api_url: Annotated[str, AfterValidator(_base_url)] = "https://api.plivo.com"
    # Signs the audio websocket's one-time tokens; every server process must share it. Unset,
    # it is derived from PLIVO_AUTH_TOKEN, or drawn at random for a single process.
    stream_token_secret: SecretStr | None = None
    stream_token_ttl_secs: float = Field(30.0, gt=0, le=600)

    @property
    def database_url_for_logs(self) -> str:
        """``database_url`` with any password replaced by ``***``."""
        parts = urlsplit(self.database_url)
        if not parts.password:
            return self.database_url
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))

    @property
    def watch_enabled(self) -> bool:
        """Whether ``bots.yaml`` should be polled for changes."""
        return self.config_watch_secs > 0


def _env_name(loc: tuple[int | str, ...]) -> str:
    return str(loc[0]).upper() if loc else ""


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read the settings from the environment and ``env_file`` (the environment wins).

    Args:
        env_file: A dotenv file to read as well; it need not exist. ``None`` reads only the
            environment.

    Raises:
        ConfigError: Naming each bad variable, e.g. ``environment: PORT: Input should be ...``;
            never the value itself.
    """
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, "environment", name_loc=_env_name)) from None
