import aiohttp

from tests.fakes.plivo_rest import FakePlivoApi

AUTH_ID = "MAFAKEACCOUNT0000001"
AUTH_TOKEN = "fake-auth-token"
GOOD = {"Authorization": aiohttp.encode_basic_auth(AUTH_ID, AUTH_TOKEN)}


def call_url(api: FakePlivoApi, call_uuid: str, auth_id: str = AUTH_ID) -> str:
    return f"{api.base_url}/v1/Account/{auth_id}/Call/{call_uuid}/"


async def test_basic_auth_is_enforced() -> None:
    async with FakePlivoApi(calls=["c1"]) as api, aiohttp.ClientSession() as session:
        async with session.delete(call_url(api, "c1")) as resp:
            assert resp.status == 401
        bad = {"Authorization": aiohttp.encode_basic_auth(AUTH_ID, "wrong")}
        async with session.delete(call_url(api, "c1"), headers=bad) as resp:
            assert resp.status == 401
        other = {"Authorization": aiohttp.encode_basic_auth("MAOTHER", AUTH_TOKEN)}
        async with session.delete(call_url(api, "c1", "MAOTHER"), headers=other) as resp:
            assert resp.status == 401
    assert [r.authorised for r in api.requests] == [False, False, False]
    assert "c1" in api.live_calls


async def test_hang_up_204_then_404_and_unknown_404() -> None:
    async with FakePlivoApi(calls=["c1"]) as api, aiohttp.ClientSession() as session:
        async with session.delete(call_url(api, "c1"), headers=GOOD) as resp:
            assert resp.status == 204
        async with session.delete(call_url(api, "c1"), headers=GOOD) as resp:
            assert resp.status == 404
            assert (await resp.json())["error"] == "not found"
        async with session.delete(call_url(api, "nope"), headers=GOOD) as resp:
            assert resp.status == 404
    assert [r.status for r in api.hangups("c1")] == [204, 404]
    first, second = api.hangups("c1")
    assert first.at <= second.at and first.wall_time > 0


async def test_transfer_202_like_plivo_and_validation() -> None:
    async with FakePlivoApi(calls=["c1"]) as api, aiohttp.ClientSession() as session:
        body = {"legs": "aleg", "aleg_url": "https://bot.example.in/transfer.xml"}
        async with session.post(call_url(api, "c1"), json=body, headers=GOOD) as resp:
            assert resp.status == 202
            answer = await resp.json()
            assert answer["message"] == "call transferred" and answer["api_id"]
        async with session.post(call_url(api, "c1"), data={"legs": "aleg"}, headers=GOOD) as resp:
            assert resp.status == 400
        async with session.post(call_url(api, "gone"), json=body, headers=GOOD) as resp:
            assert resp.status == 404
    assert api.transfers == [("c1", body)]


async def test_latency_failures_and_hooks() -> None:
    hung_up: list[str] = []

    async def hook(call_uuid: str) -> None:
        hung_up.append(call_uuid)

    api = FakePlivoApi(latency=0.05, fail_with_status=500, faulty_requests=1, accept_any_call=True)
    async with api, aiohttp.ClientSession() as session:
        api.add_call("c2", on_hangup=hook)
        async with session.delete(call_url(api, "c2"), headers=GOOD) as resp:
            assert resp.status == 500
        async with session.delete(call_url(api, "c2"), headers=GOOD) as resp:
            assert resp.status == 204
        async with session.delete(call_url(api, "anything"), headers=GOOD) as resp:
            assert resp.status == 204  # accept_any_call
        async with session.delete(call_url(api, "anything"), headers=GOOD) as resp:
            assert resp.status == 404
    assert hung_up == ["c2"]
