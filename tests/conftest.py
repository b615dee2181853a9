from collections.abc import Iterator

import pytest
from loguru import logger

from bot.logs import configure_logging


@pytest.fixture(autouse=True, scope="session")
def _logging() -> None:
    """Log as the server does: no variable values in tracebacks, stdlib records included."""
    configure_logging("DEBUG")


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every loguru message logged during the test, formatted as ``LEVEL message``."""
    lines: list[str] = []
    sink_id = logger.add(lambda m: lines.append(m.rstrip("\n")), format="{level} {message}")
    yield lines
    logger.remove(sink_id)
