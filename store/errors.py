"""The project's error tree: one base, short stable codes the API returns in its JSON body.

It lives in ``store`` because ``store`` is the bottom layer that every other package may import.
"""

from __future__ import annotations


class VartalaapError(Exception):
    """Base of every error this project raises on purpose.

    Attributes:
        code: A short, stable, machine-readable code (``slot_full``, ``config_invalid``, ...).
        status: The HTTP status an API answer for this error carries.
    """

    code = "error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        """Create the error with a message naming what was wrong."""
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFoundError(VartalaapError):
    """A record that was asked for does not exist."""

    code = "not_found"
    status = 404


class BookingRejectedError(VartalaapError):
    """The booking rules refused a booking, a move or a resize; ``code`` says which rule."""

    status = 409


class ConflictError(VartalaapError):
    """The request clashes with a record that already exists."""

    code = "conflict"
    status = 409


class InvalidRequestError(VartalaapError):
    """A request is malformed in a way its schema could not catch."""

    code = "invalid_request"
    status = 400
