"""A simulated Plivo REST API: hang up (``DELETE``) and transfer (``POST``) a live call.

The demo and load runs point the server's ``PLIVO_API_URL`` at it, so that the bot's hang-up
reaches the simulated caller as Plivo's would; tests also use its fault injection.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from loguru import logger

from bot.simulated_caller.loopback import LoopbackServer

HangupHook = Callable[[str], Coroutine[Any, Any, None]]
"""Called with the call UUID when the API hangs a call up (e.g. the simulated caller drops)."""

CALL_PATH = "/v1/Account/{auth_id}/Call/{call_uuid}/"


@dataclass
class PlivoApiRequest:
    """One request the API received."""

    method: str
    path: str
    auth_id: str
    call_uuid: str
    authorised: bool
    status: int
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    wall_time: float = field(default_factory=time.time)


class SimulatedPlivoApi(LoopbackServer):
    """``api.plivo.com`` look-alike for the live-call endpoints, with HTTP Basic auth.

    ``DELETE /v1/Account/{auth_id}/Call/{call_uuid}/`` answers 204 for a live call, then 404.
    ``POST`` to the same path with ``legs`` (``aleg``/``bleg``/``both``) and ``aleg_url`` /
    ``bleg_url`` (form or JSON) answers 202 like Plivo's transfer. Credentials must match
    ``auth_id``/``auth_token`` (401 otherwise). Calls are live once ``add_call`` registers them,
    or always with ``accept_any_call``. ``latency`` delays every answer; ``fail_with_status``
    answers the first ``faulty_requests`` requests (all when None) with that status.
    """

    def __init__(
        self,
        *,
        auth_id: str = "MAFAKEACCOUNT0000001",
        auth_token: str = "fake-auth-token",
        calls: Iterable[str] = (),
        accept_any_call: bool = False,
        latency: float = 0.0,
        fail_with_status: int | None = None,
        faulty_requests: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.auth_id = auth_id
        self.auth_token = auth_token
        self.accept_any_call = accept_any_call
        self.latency = latency
        self.fail_with_status = fail_with_status
        self.faulty_requests = faulty_requests
        self.requests: list[PlivoApiRequest] = []
        self.live_calls: set[str] = set(calls)
        self.ended_calls: set[str] = set()
        self.transfers: list[tuple[str, dict[str, Any]]] = []
        self._hooks: dict[str, HangupHook] = {}

    def add_call(self, call_uuid: str, on_hangup: HangupHook | None = None) -> None:
        """Make a call live; ``on_hangup`` runs (in the background) when the API ends it."""
        self.live_calls.add(call_uuid)
        self.ended_calls.discard(call_uuid)
        if on_hangup is not None:
            self._hooks[call_uuid] = on_hangup

    def end_call(self, call_uuid: str) -> None:
        """Mark a call ended by the caller (a later hang-up request gets 404)."""
        self.live_calls.discard(call_uuid)
        self.ended_calls.add(call_uuid)

    def hangups(self, call_uuid: str | None = None) -> list[PlivoApiRequest]:
        """The DELETE requests received (for one call, if given)."""
        return [
            r
            for r in self.requests
            if r.method == "DELETE" and (call_uuid is None or r.call_uuid == call_uuid)
        ]

    def add_routes(self, app: web.Application) -> None:
        """Serve the call resource."""
        app.router.add_route("DELETE", CALL_PATH, self._handle)
        app.router.add_route("POST", CALL_PATH, self._handle)

    def _authorised(self, request: web.Request, auth_id: str) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            login, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return login == self.auth_id and password == self.auth_token and auth_id == self.auth_id

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.method != "POST" or not request.can_read_body:
            return {}
        if request.content_type == "application/json":
            data = await request.json()
            return dict(data) if isinstance(data, dict) else {}
        return dict(await request.post())

    async def _handle(self, request: web.Request) -> web.Response:
        auth_id = request.match_info["auth_id"]
        call_uuid = request.match_info["call_uuid"]
        body = await self._body(request)
        record = PlivoApiRequest(
            method=request.method,
            path=request.path,
            auth_id=auth_id,
            call_uuid=call_uuid,
            authorised=self._authorised(request, auth_id),
            status=0,
            body=body,
        )
        self.requests.append(record)
        if self.latency:
            await asyncio.sleep(self.latency)
        response = self._answer(request.method, record)
        record.status = response.status
        return response

    def _answer(self, method: str, record: PlivoApiRequest) -> web.Response:
        api_id = str(uuid.uuid4())
        if not record.authorised:
            return web.Response(
                status=401,
                text="Could not verify your access level for that URL.\n"
                "You have to login with proper credentials",
                headers={"WWW-Authenticate": 'Basic realm="Login Required"'},
            )
        faulty = self.faulty_requests is None or len(self.requests) <= self.faulty_requests
        if self.fail_with_status is not None and faulty:
            return web.json_response(
                {"api_id": api_id, "error": "simulated failure"}, status=self.fail_with_status
            )
        live = record.call_uuid in self.live_calls or (
            self.accept_any_call and record.call_uuid not in self.ended_calls
        )
        if not live:
            return web.json_response({"api_id": api_id, "error": "not found"}, status=404)
        if method == "DELETE":
            return self._hang_up(record.call_uuid)
        return self._transfer(record, api_id)

    def _hang_up(self, call_uuid: str) -> web.Response:
        logger.debug(f"SimulatedPlivoApi: hanging up call {call_uuid}")
        self.end_call(call_uuid)
        hook = self._hooks.pop(call_uuid, None)
        if hook is not None:
            self.spawn(hook(call_uuid), name=f"plivo-hangup-{call_uuid}")
        return web.Response(status=204)

    def _transfer(self, record: PlivoApiRequest, api_id: str) -> web.Response:
        legs = str(record.body.get("legs", ""))
        needs = {"aleg": ["aleg_url"], "bleg": ["bleg_url"], "both": ["aleg_url", "bleg_url"]}
        missing = [key for key in needs.get(legs, ["legs"]) if not record.body.get(key)]
        if missing:
            error = f"{', '.join(missing)} is required for legs={legs!r}"
            return web.json_response({"api_id": api_id, "error": error}, status=400)
        self.transfers.append((record.call_uuid, record.body))
        return web.json_response({"api_id": api_id, "message": "call transferred"}, status=202)
