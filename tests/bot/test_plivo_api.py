from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.plivo_api import PlivoApi
from tests.bot.plivo_stream_bot import LogCapture
from tests.fakes.plivo_rest import FakePlivoApi

AUTH_ID = "MAFAKEACCOUNT0000001"
AUTH_TOKEN = "fake-auth-token-0123456789"
CALL = "0d8b3f3e-live-call"
ALEG_URL = f"https://bot.example.in/plivo/transfer/{CALL}"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    capture = LogCapture("DEBUG")
    yield capture
    capture.close()


def client(session: aiohttp.ClientSession, fake: FakePlivoApi, **options) -> PlivoApi:
    return PlivoApi(session, AUTH_ID, AUTH_TOKEN, api_url=fake.base_url + "/", **options)


def no_secrets(logs: LogCapture) -> None:
    for _, text in logs.records:
        assert AUTH_TOKEN not in text and AUTH_ID not in text


async def test_an_accepted_transfer_moves_the_callers_leg(session, logs) -> None:
    async with FakePlivoApi(auth_id=AUTH_ID, auth_token=AUTH_TOKEN, calls=[CALL]) as fake:
        assert await client(session, fake).transfer(CALL, ALEG_URL) is True
    [request] = fake.requests
    assert (request.method, request.status, request.authorised) == ("POST", 202, True)
    assert request.path == f"/v1/Account/{AUTH_ID}/Call/{CALL}/"
    assert fake.transfers == [(CALL, {"legs": "aleg", "aleg_url": ALEG_URL, "aleg_method": "POST"})]
    assert logs.at("INFO") == ["Plivo accepted the transfer"]
    no_secrets(logs)


@pytest.mark.parametrize(
    ("fake_options", "status"),
    [
        ({"auth_token": "another-token"}, 401),
        ({"fail_with_status": 500}, 500),
        ({"calls": []}, 404),
    ],
)
async def test_a_refused_transfer_is_false_and_logged_without_secrets(
    session, logs, fake_options: dict, status: int
) -> None:
    options: dict[str, Any] = {"auth_id": AUTH_ID, "auth_token": AUTH_TOKEN, "calls": [CALL]}
    options.update(fake_options)
    async with FakePlivoApi(**options) as fake:
        assert await client(session, fake).transfer(CALL, ALEG_URL) is False
    assert [r.status for r in fake.requests] == [status]
    assert fake.transfers == []
    [error] = logs.at("ERROR")
    assert error.startswith(f"Plivo refused the transfer: HTTP {status} ")
    no_secrets(logs)


async def test_a_slow_api_times_out(session, logs) -> None:
    async with FakePlivoApi(
        auth_id=AUTH_ID, auth_token=AUTH_TOKEN, calls=[CALL], latency=2.0
    ) as fake:
        assert await client(session, fake, timeout_secs=0.2).transfer(CALL, ALEG_URL) is False
    assert logs.at("ERROR") == ["Plivo transfer request failed: TimeoutError"]
    no_secrets(logs)


async def test_an_unreachable_api_is_false(session, logs) -> None:
    api = PlivoApi(session, AUTH_ID, AUTH_TOKEN, api_url="http://127.0.0.1:9", timeout_secs=1)
    assert await api.transfer(CALL, ALEG_URL) is False
    assert logs.at("ERROR") == ["Plivo transfer request failed: ClientConnectorError"]


def settings(**credentials: Any) -> Settings:
    return Settings(_env_file=None, plivo_api_url="http://plivo.test", **credentials)


async def test_from_settings_needs_both_credentials(session) -> None:
    assert PlivoApi.from_settings(settings(), session) is None
    assert PlivoApi.from_settings(settings(plivo_auth_id=AUTH_ID), session) is None
    both = settings(plivo_auth_id=AUTH_ID, plivo_auth_token=AUTH_TOKEN)
    api = PlivoApi.from_settings(both, session)
    assert api is not None
    assert api.call_url(CALL) == f"http://plivo.test/v1/Account/{AUTH_ID}/Call/{CALL}/"
