"""Per-business configuration (``bots.yaml``), environment settings and hot reload."""

from bot.config.business import (
    BotsFile,
    Business,
    Engines,
    Language,
    LlmEngine,
    Reservations,
    Silence,
    SttEngine,
    TtsEngine,
)
from bot.config.directory import BusinessDirectory, DirectoryDiff
from bot.config.errors import ConfigError
from bot.config.hours import WEEKDAYS, Weekday, format_window, iso_weekday, parse_window
from bot.config.loader import load_businesses, load_or_exit, parse_businesses, read_config
from bot.config.registry import BusinessRegistry, ReloadResult
from bot.config.settings import LogLevel, Settings, load_settings

__all__ = [
    "WEEKDAYS",
    "BotsFile",
    "Business",
    "BusinessDirectory",
    "BusinessRegistry",
    "ConfigError",
    "DirectoryDiff",
    "Engines",
    "Language",
    "LlmEngine",
    "LogLevel",
    "ReloadResult",
    "Reservations",
    "Settings",
    "Silence",
    "SttEngine",
    "TtsEngine",
    "Weekday",
    "format_window",
    "iso_weekday",
    "load_businesses",
    "load_or_exit",
    "load_settings",
    "parse_businesses",
    "parse_window",
    "read_config",
]
