"""One error shape for every answer: ``{"detail": "..."}``, or a list of problems for a 422."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from loguru import logger
from pydantic import ValidationError

from store.errors import VartalaapError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RequestValidationError(Exception):
    """A request's path, query or body did not match its schema.

    Attributes:
        problems: FastAPI-shaped items: ``{"loc": [...], "msg": "...", "type": "..."}``.
    """

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(problems)} validation problems")
        self.problems = problems

    @classmethod
    def from_pydantic(cls, error: ValidationError, where: str) -> RequestValidationError:
        """Convert pydantic's errors, prefixing each location with ``where`` (``body``, ...)."""
        return cls(
            [
                {"loc": [where, *item["loc"]], "msg": item["msg"], "type": item["type"]}
                for item in error.errors(include_url=False, include_input=False)
            ]
        )


def problem(where: Sequence[str | int], message: str, kind: str) -> RequestValidationError:
    """A validation error with a single problem."""
    return RequestValidationError([{"loc": list(where), "msg": message, "type": kind}])


def json_error(status: int, detail: object, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON error answer in the shape FastAPI clients expect."""
    return web.json_response({"detail": detail}, status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a JSON answer; nothing escapes as a 500 with a stack trace."""
    try:
        return await handler(request)
    except RequestValidationError as exc:
        return json_error(422, exc.problems)
    except VartalaapError as exc:
        body = {"detail": exc.message, "code": exc.code}
        return web.json_response(body, status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() in _KEPT_HEADERS}
        return json_error(exc.status, exc.reason, headers)
    except Exception:
        logger.exception("Unhandled error serving {} {}", request.method, request.path)
        return json_error(500, "Internal Server Error")


_KEPT_HEADERS = {"allow", "www-authenticate", "retry-after"}
