"""Logging set-up for every entry point: loguru, one line per event, the call id bound."""

from __future__ import annotations

import logging
import sys

from loguru import logger

FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{extra[call]}</cyan> {message}"
)


def configure_logging(level: str = "INFO") -> None:
    """Send loguru's and the standard library's records to stderr at ``level``.

    Records without a bound call id show ``-`` in its place. Library loggers that would repeat
    request lines (and with them query strings such as websocket tokens) stay at WARNING.
    """
    logger.remove()
    logger.configure(extra={"call": "-"})
    logger.add(sys.stderr, level=level, format=FORMAT, backtrace=False, diagnose=False)
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.WARNING, force=True)
    for noisy in ("aiohttp.access", "sqlalchemy.engine", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _InterceptHandler(logging.Handler):
    """Hands standard-library records to loguru, keeping their level and origin."""

    def emit(self, record: logging.LogRecord) -> None:
        level: str | int
        try:
            level = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())
