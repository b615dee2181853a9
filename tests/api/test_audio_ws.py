import base64
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSCloseCode, WSMsgType, WSServerHandshakeError, web
from aiohttp.test_utils import TestClient

from api import audio_ws
from api.app import create_app
from api.keys import CALL_RUNNER, DATABASE, STREAM_TOKENS
from bot.call_runner import CallRunner, CallSetup
from bot.config import BusinessRegistry
from bot.stream_token import StreamTokens
from store.calls import get_call
from tests.api.plivo_calls import (
    CALLER_E164,
    EchoRunner,
    answer,
    answer_form,
    hangup_form,
    media_event,
    new_call_uuid,
    plivo_settings,
    post_signed,
    start_event,
)

UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
}


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def runner() -> EchoRunner:
    return EchoRunner()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_app(tmp_path: Path, runner: CallRunner | None, clock: FakeClock) -> web.Application:
    settings = plivo_settings(tmp_path)
    app = create_app(settings, BusinessRegistry(settings.bots_path))
    app[STREAM_TOKENS] = StreamTokens(b"stream-test-secret-0123456789", 30, clock=clock)
    if runner is not None:
        app[CALL_RUNNER] = runner
    else:
        del app[CALL_RUNNER]
    return app


@pytest.fixture
def app(tmp_path: Path, runner: EchoRunner, clock: FakeClock) -> web.Application:
    return make_app(tmp_path, runner, clock)


@pytest.fixture
async def client(aiohttp_client: Any, app: web.Application) -> TestClient:
    return await aiohttp_client(app)


async def refusal(client: TestClient, path: str) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of an upgrade request that should be refused."""
    response = await client.get(path, headers=UPGRADE)
    return response.status, await response.json()


async def test_valid_token_upgrades_reads_start_and_runs_the_call(
    client: TestClient, runner: EchoRunner
):
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)

    async with client.ws_connect(path) as ws:
        await ws.send_str(start_event(call_uuid, "stream-42"))
        for sequence in range(2, 5):
            await ws.send_str(media_event(sequence, "stream-42"))
        reply = await ws.receive_json(timeout=5)
        closing = await ws.receive(timeout=5)

    assert reply["event"] == "playAudio"
    assert reply["streamId"] == "stream-42"
    assert closing.type is WSMsgType.CLOSE and closing.data == WSCloseCode.OK
    (setup,) = runner.calls
    row = await get_call(client.app[DATABASE], call_uuid)
    assert row is not None and row.stream_opened_at is not None
    assert isinstance(setup, CallSetup)
    assert setup.call_uuid == call_uuid
    assert setup.stream_id == "stream-42"
    assert setup.business.slug == "himalayan-kitchen"
    assert setup.caller_number == CALLER_E164
    assert setup.call_log_id == row.id
    assert setup.first_messages == []
    assert setup.start_event["start"]["mediaFormat"]["encoding"] == "audio/x-mulaw"
    assert [event["sequenceNumber"] for event in runner.media] == [2, 3, 4]


async def test_media_before_start_is_skipped(client: TestClient, runner: EchoRunner):
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)

    async with client.ws_connect(path) as ws:
        await ws.send_str(media_event(90))
        await ws.send_str(json.dumps({"event": "dtmf", "dtmf": {"digit": "5"}}))
        await ws.send_str(start_event(call_uuid))
        for sequence in range(2, 5):
            await ws.send_str(media_event(sequence))
        assert (await ws.receive_json(timeout=5))["event"] == "playAudio"

    assert len(runner.calls) == 1
    assert [event["sequenceNumber"] for event in runner.media] == [2, 3, 4]


async def test_used_token_is_refused(client: TestClient, runner: EchoRunner):
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)
    async with client.ws_connect(path) as ws:
        await ws.send_str(start_event(call_uuid))
        for sequence in range(2, 5):
            await ws.send_str(media_event(sequence))
        await ws.receive_json(timeout=5)

    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect(path)
    assert refused.value.status == 403
    status, body = await refusal(client, path)
    assert status == 403 and body["code"] == "stream_refused"
    assert len(runner.calls) == 1


async def test_expired_token_is_refused(client: TestClient, clock: FakeClock):
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)
    clock.now += 31

    status, body = await refusal(client, path)
    assert status == 403
    assert body == {"detail": "Invalid stream token (expired)", "code": "invalid_stream_token"}


async def test_token_for_another_call_is_refused(client: TestClient):
    first, second = new_call_uuid(), new_call_uuid()
    first_path = await answer(client, first)
    await answer(client, second)

    status, body = await refusal(client, first_path.replace(first, second))
    assert status == 403 and "wrong_call" in body["detail"]


async def test_tampered_token_is_refused_and_does_not_burn_the_real_one(
    client: TestClient, runner: EchoRunner
):
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)
    prefix, token = path.split("?token=")
    for position in (0, 10, 40, len(token) - 2):
        swapped = "A" if token[position] != "A" else "B"
        tampered = token[:position] + swapped + token[position + 1 :]
        status, body = await refusal(client, f"{prefix}?token={tampered}")
        assert status == 403, position
        assert body["code"] == "invalid_stream_token"

    async with client.ws_connect(path) as ws:
        await ws.send_str(start_event(call_uuid))
        for sequence in range(2, 5):
            await ws.send_str(media_event(sequence))
        assert (await ws.receive_json(timeout=5))["event"] == "playAudio"


@pytest.mark.parametrize("query", ["", "?token=", "?other=1"])
async def test_missing_token_is_refused(client: TestClient, query: str):
    call_uuid = new_call_uuid()
    await answer(client, call_uuid)
    status, body = await refusal(client, f"/ws/audio/{call_uuid}{query}")
    assert status == 403 and body["detail"] == "Stream refused: no token"


async def test_plain_get_is_refused_without_using_the_token(client: TestClient):
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)
    response = await client.get(path)
    assert response.status == 403
    async with client.ws_connect(path) as ws:
        await ws.send_str(start_event(call_uuid))
        await ws.send_str(media_event(2))


async def test_token_of_a_repeated_answer_replaces_the_first(client: TestClient):
    call_uuid = new_call_uuid()
    first = await answer(client, call_uuid)
    second = await answer(client, call_uuid)

    status, _ = await refusal(client, first)
    assert status == 403
    async with client.ws_connect(second) as ws:
        await ws.send_str(start_event(call_uuid))


async def test_stream_after_hangup_is_refused(client: TestClient):
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)
    await post_signed(client, "/plivo/hangup", hangup_form(call_uuid))
    status, _ = await refusal(client, path)
    assert status == 403


async def test_stream_for_a_rejected_call_is_refused(client: TestClient):
    call_uuid = new_call_uuid()
    await post_signed(client, "/plivo/answer", answer_form(call_uuid, to="912212345678"))
    token, _ = client.app[STREAM_TOKENS].issue(call_uuid)
    status, _ = await refusal(client, f"/ws/audio/{call_uuid}?token={token}")
    assert status == 403


async def test_malformed_call_id_in_the_path_is_404(client: TestClient):
    response = await client.get("/ws/audio/not_a%20call?token=x", headers=UPGRADE)
    assert response.status == 404


async def test_invalid_json_start_closes_with_policy_violation(
    client: TestClient, runner: EchoRunner, log_lines: list[str]
):
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)
    async with client.ws_connect(path) as ws:
        await ws.send_str("{not json")
        message = await ws.receive(timeout=5)
    assert message.type is WSMsgType.CLOSE
    assert message.data == WSCloseCode.POLICY_VIOLATION
    assert runner.calls == []
    assert any("WARNING" in line and "not JSON" in line for line in log_lines)


async def test_start_for_another_call_closes_with_policy_violation(
    client: TestClient, runner: EchoRunner
):
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)
    async with client.ws_connect(path) as ws:
        await ws.send_str(start_event(new_call_uuid()))
        message = await ws.receive(timeout=5)
    assert (message.type, message.data) == (WSMsgType.CLOSE, WSCloseCode.POLICY_VIOLATION)
    assert runner.calls == []


async def test_no_start_in_time_closes_with_policy_violation(
    client: TestClient, runner: EchoRunner, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(audio_ws, "START_TIMEOUT_SECS", 0.2)
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)
    async with client.ws_connect(path) as ws:
        await ws.send_str(media_event(1))
        message = await ws.receive(timeout=5)
    assert (message.type, message.data) == (WSMsgType.CLOSE, WSCloseCode.POLICY_VIOLATION)
    assert runner.calls == []


async def test_without_a_runner_the_stream_is_closed_politely(
    aiohttp_client: Any, tmp_path: Path, clock: FakeClock, log_lines: list[str]
):
    client = await aiohttp_client(make_app(tmp_path, None, clock))
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)
    async with client.ws_connect(path) as ws:
        await ws.send_str(start_event(call_uuid))
        message = await ws.receive(timeout=5)
    assert (message.type, message.data) == (WSMsgType.CLOSE, WSCloseCode.TRY_AGAIN_LATER)
    assert any(line.startswith("ERROR") and "No call runner" in line for line in log_lines)


async def test_a_failing_runner_closes_the_socket_with_internal_error(
    aiohttp_client: Any, tmp_path: Path, clock: FakeClock, log_lines: list[str]
):
    async def broken(ws: web.WebSocketResponse, call: CallSetup) -> None:
        raise RuntimeError("pipeline exploded")

    client = await aiohttp_client(make_app(tmp_path, broken, clock))
    call_uuid = new_call_uuid()
    path = await answer(client, call_uuid)
    async with client.ws_connect(path) as ws:
        await ws.send_str(start_event(call_uuid))
        message = await ws.receive(timeout=5)
    assert (message.type, message.data) == (WSMsgType.CLOSE, WSCloseCode.INTERNAL_ERROR)
    assert any(line.startswith("ERROR") and "Call runner failed" in line for line in log_lines)
