import pytest

from bot.logs import configure_logging


@pytest.fixture(autouse=True, scope="session")
def _logging() -> None:
    """Log as the server does: no variable values in tracebacks, stdlib records included."""
    configure_logging("DEBUG")
