from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from api.keys import DATABASE, STREAM_TOKENS
from bot.phone import phone_hash
from store.calls import get_call
from store.models import CallLog, CallOutcome
from tests.api.plivo_calls import (
    AUTH_TOKEN,
    CALLER,
    CALLER_E164,
    CALLER_MASKED,
    KNOWN_TO,
    PUBLIC,
    UNKNOWN_TO,
    answer_form,
    hangup_form,
    new_call_uuid,
    parse_xml,
    plivo_app,
    post_signed,
    stream_element,
)
from tests.plivo_signing import MA_SIGNATURE, NONCE, SIGNATURE, signed_headers


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    return await aiohttp_client(plivo_app(tmp_path))


async def call_count(client: TestClient) -> int:
    async with client.app[DATABASE].read() as session:
        return int(await session.scalar(select(func.count()).select_from(CallLog)) or 0)


# --- answer -----------------------------------------------------------------------------------


async def test_answer_known_number_streams_to_a_tokened_url_without_phone_digits(
    client: TestClient,
):
    call_uuid = new_call_uuid()
    response = await post_signed(client, "/plivo/answer", answer_form(call_uuid))

    assert response.status == 200
    assert response.content_type == "application/xml"
    text = await response.text()
    stream = stream_element(text)
    url = (stream.text or "").strip()
    assert url.startswith(f"wss://bot.example.com/ws/audio/{call_uuid}?token=")
    assert stream.attrib == {
        "bidirectional": "true",
        "keepCallAlive": "true",
        "contentType": "audio/x-mulaw;rate=8000",
        "streamTimeout": "660",
    }
    for digits in ("9876543210", "3210", "40847730"):
        assert digits not in text
    call = await get_call(client.app[DATABASE], call_uuid)
    assert call is not None
    assert call.business_id == "himalayan-kitchen"
    assert call.caller_masked == CALLER_MASKED
    assert call.caller_hash == phone_hash(CALLER_E164)
    assert call.caller_number == CALLER_E164
    assert call.to_number == "+911140847730"
    assert call.direction == "inbound"
    assert call.outcome is CallOutcome.IN_PROGRESS
    token = url.split("?token=", 1)[1]
    assert call.stream_nonce == client.app[STREAM_TOKENS].verify(token, call_uuid)
    assert call.stream_opened_at is None


async def test_answer_uses_ws_scheme_for_an_http_public_url(aiohttp_client: Any, tmp_path: Path):
    public = "http://bot.local:8080/voice"
    client = await aiohttp_client(plivo_app(tmp_path, public_base_url=public))
    call_uuid = new_call_uuid()
    response = await post_signed(client, "/plivo/answer", answer_form(call_uuid), public=public)
    assert response.status == 200
    url = (stream_element(await response.text()).text or "").strip()
    assert url.startswith(f"ws://bot.local:8080/voice/ws/audio/{call_uuid}?token=")


async def test_answer_unknown_number_apologises_hangs_up_and_logs_rejected(client: TestClient):
    call_uuid = new_call_uuid()
    form = answer_form(call_uuid, to=UNKNOWN_TO)
    response = await post_signed(client, "/plivo/answer", form)

    assert response.status == 200
    assert response.content_type == "application/xml"
    root = parse_xml(await response.text())
    assert [child.tag for child in root] == ["Speak", "Hangup"]
    assert "not set up" in (root[0].text or "")
    call = await get_call(client.app[DATABASE], call_uuid)
    assert call is not None
    assert call.outcome is CallOutcome.REJECTED
    assert call.business_id is None
    assert call.caller_masked == CALLER_MASKED
    assert call.caller_number is None
    assert call.stream_nonce is None


async def test_answer_accepts_a_withheld_caller(client: TestClient):
    call_uuid = new_call_uuid()
    response = await post_signed(
        client, "/plivo/answer", answer_form(call_uuid, caller="anonymous")
    )
    assert response.status == 200
    stream_element(await response.text())
    call = await get_call(client.app[DATABASE], call_uuid)
    assert call is not None
    assert (call.caller_number, call.caller_masked, call.caller_hash) == (None, None, None)


async def test_repeated_answer_keeps_one_row_and_takes_the_new_token(client: TestClient):
    call_uuid = new_call_uuid()
    urls = []
    for _ in range(2):
        response = await post_signed(client, "/plivo/answer", answer_form(call_uuid))
        assert response.status == 200
        urls.append((stream_element(await response.text()).text or "").strip())

    assert await call_count(client) == 1
    call = await get_call(client.app[DATABASE], call_uuid)
    assert call is not None
    latest = client.app[STREAM_TOKENS].verify(urls[1].split("?token=")[1], call_uuid)
    assert call.stream_nonce == latest


async def test_answer_after_the_call_ended_hangs_up(client: TestClient):
    call_uuid = new_call_uuid()
    await post_signed(client, "/plivo/answer", answer_form(call_uuid))
    await post_signed(client, "/plivo/hangup", hangup_form(call_uuid))

    response = await post_signed(client, "/plivo/answer", answer_form(call_uuid))
    assert response.status == 200
    assert [child.tag for child in parse_xml(await response.text())] == ["Speak", "Hangup"]


# --- signatures -------------------------------------------------------------------------------


async def test_forged_signature_is_refused_and_records_nothing(
    client: TestClient, log_lines: list[str]
):
    call_uuid = new_call_uuid()
    response = await post_signed(
        client, "/plivo/answer", answer_form(call_uuid), auth_token="not-the-plivo-token"
    )
    assert response.status == 403
    body = await response.json()
    assert body["detail"] == "Webhook refused: signature mismatch"
    assert await call_count(client) == 0
    warnings = [line for line in log_lines if line.startswith("WARNING") and "refused" in line]
    assert warnings and CALLER_MASKED in warnings[0]
    assert not any(CALLER in line or CALLER_E164 in line for line in log_lines)


async def test_tampered_form_is_refused(client: TestClient):
    form = answer_form(new_call_uuid())
    headers = signed_headers(PUBLIC + "/plivo/answer", form, AUTH_TOKEN)
    form["To"] = UNKNOWN_TO
    response = await client.post("/plivo/answer", data=form, headers=headers)
    assert response.status == 403


@pytest.mark.parametrize(
    "dropped", [(SIGNATURE, MA_SIGNATURE), (NONCE,), (SIGNATURE, MA_SIGNATURE, NONCE)]
)
async def test_missing_signature_headers_are_refused(client: TestClient, dropped: tuple[str, ...]):
    form = answer_form(new_call_uuid())
    headers = signed_headers(PUBLIC + "/plivo/answer", form, AUTH_TOKEN)
    for name in dropped:
        del headers[name]
    response = await client.post("/plivo/answer", data=form, headers=headers)
    assert response.status == 403
    assert "detail" in await response.json()
    assert await call_count(client) == 0


async def test_replayed_nonce_is_refused(client: TestClient):
    form = answer_form(new_call_uuid())
    headers = signed_headers(PUBLIC + "/plivo/answer", form, AUTH_TOKEN)
    first = await client.post("/plivo/answer", data=form, headers=headers)
    second = await client.post("/plivo/answer", data=form, headers=headers)
    assert first.status == 200
    assert second.status == 403
    assert (await second.json())["detail"] == "Webhook refused: nonce already used"


async def test_one_valid_signature_among_several_is_accepted(client: TestClient):
    form = answer_form(new_call_uuid())
    headers = signed_headers(
        PUBLIC + "/plivo/answer",
        form,
        AUTH_TOKEN,
        other_tokens=["an-old-rotated-token-aaaaaaaa", "another-token-bbbbbbbbbbbb"],
        main_auth_token="the-main-account-token-ccccccc",
    )
    assert headers[SIGNATURE].count(",") == 2
    response = await client.post("/plivo/answer", data=form, headers=headers)
    assert response.status == 200


async def test_main_account_signature_alone_is_accepted(client: TestClient):
    form = answer_form(new_call_uuid())
    url = PUBLIC + "/plivo/answer"
    headers = signed_headers(url, form, "a-sub-account-token-dddddd", main_auth_token=AUTH_TOKEN)
    response = await client.post("/plivo/answer", data=form, headers=headers)
    assert response.status == 200


async def test_signature_for_the_public_url_is_accepted_behind_a_proxy(client: TestClient):
    # The test server listens on 127.0.0.1:<port>; Plivo signed https://bot.example.com/...
    local_url = str(client.make_url("/plivo/answer"))
    assert local_url.startswith("http://127.0.0.1:")
    form = answer_form(new_call_uuid())
    local = signed_headers(local_url, form, AUTH_TOKEN)
    assert (await client.post("/plivo/answer", data=form, headers=local)).status == 403

    public = signed_headers(PUBLIC + "/plivo/answer", form, AUTH_TOKEN)
    assert (await client.post("/plivo/answer", data=form, headers=public)).status == 200


async def test_query_string_is_part_of_the_signed_url(client: TestClient):
    form = answer_form(new_call_uuid())
    path = "/plivo/answer?tenant=delhi&b=2"
    signed = signed_headers(PUBLIC + path, form, AUTH_TOKEN)
    assert (await client.post(path, data=form, headers=signed)).status == 200

    unsigned_query = signed_headers(PUBLIC + "/plivo/answer", form, AUTH_TOKEN)
    assert (await client.post(path, data=form, headers=unsigned_query)).status == 403


async def test_webhooks_answer_503_without_a_plivo_token(aiohttp_client: Any, tmp_path: Path):
    client = await aiohttp_client(plivo_app(tmp_path, plivo_auth_token=None))
    for path, form in (
        ("/plivo/answer", answer_form(new_call_uuid())),
        ("/plivo/hangup", hangup_form(new_call_uuid())),
    ):
        response = await post_signed(client, path, form)
        assert response.status == 503
        assert "PLIVO_AUTH_TOKEN" in (await response.json())["detail"]
    assert await call_count(client) == 0


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"CallUUID": None}, "CallUUID"),
        ({"CallUUID": "../../etc/passwd"}, "CallUUID"),
        ({"CallUUID": "x" * 65}, "CallUUID"),
        ({"From": "not-a-number"}, "From"),
        ({"To": None}, "To"),
        ({"To": "12"}, "To"),
        ({"Direction": "sideways"}, "Direction"),
    ],
)
async def test_bad_answer_form_is_422(
    client: TestClient, change: dict[str, str | None], field: str
):
    form = answer_form(new_call_uuid())
    for key, value in change.items():
        if value is None:
            del form[key]
        else:
            form[key] = value
    response = await post_signed(client, "/plivo/answer", form)
    assert response.status == 422
    problems = (await response.json())["detail"]
    assert [problem["loc"] for problem in problems] == [["body", field]]
    assert "input" not in problems[0]
    assert await call_count(client) == 0


async def test_bad_hangup_form_is_422(client: TestClient):
    form = hangup_form(new_call_uuid())
    form["Duration"] = "-3"
    response = await post_signed(client, "/plivo/hangup", form)
    assert response.status == 422
    assert (await response.json())["detail"][0]["loc"] == ["body", "Duration"]


# --- hangup -----------------------------------------------------------------------------------


async def test_hangup_records_duration_and_cause_and_forgets_the_number(client: TestClient):
    call_uuid = new_call_uuid()
    await post_signed(client, "/plivo/answer", answer_form(call_uuid))

    response = await post_signed(
        client, "/plivo/hangup", hangup_form(call_uuid, duration=42, cause="NORMAL_CLEARING")
    )
    assert response.status == 200
    assert await response.text() == "OK"
    call = await get_call(client.app[DATABASE], call_uuid)
    assert call is not None
    assert (call.duration_secs, call.hangup_cause) == (42, "NORMAL_CLEARING")
    assert call.ended_at is not None
    assert call.caller_number is None
    assert call.caller_masked == CALLER_MASKED
    assert call.outcome is CallOutcome.ABANDONED  # the stream never opened


async def test_repeated_hangup_is_harmless(client: TestClient):
    call_uuid = new_call_uuid()
    await post_signed(client, "/plivo/answer", answer_form(call_uuid))
    first = await post_signed(client, "/plivo/hangup", hangup_form(call_uuid))
    ended = (await get_call(client.app[DATABASE], call_uuid)).ended_at  # type: ignore[union-attr]
    second = await post_signed(client, "/plivo/hangup", hangup_form(call_uuid))

    assert (first.status, second.status) == (200, 200)
    call = await get_call(client.app[DATABASE], call_uuid)
    assert call is not None
    assert call.ended_at == ended
    assert call.duration_secs == 42
    assert await call_count(client) == 1


async def test_hangup_for_an_unknown_call_is_harmless(client: TestClient):
    response = await post_signed(client, "/plivo/hangup", hangup_form(new_call_uuid()))
    assert response.status == 200
    assert await call_count(client) == 0


async def test_hangup_signature_is_checked(client: TestClient):
    call_uuid = new_call_uuid()
    await post_signed(client, "/plivo/answer", answer_form(call_uuid))
    response = await post_signed(
        client, "/plivo/hangup", hangup_form(call_uuid), auth_token="forged-token-eeeeeeeee"
    )
    assert response.status == 403
    call = await get_call(client.app[DATABASE], call_uuid)
    assert call is not None and call.ended_at is None


async def test_webhook_logs_never_show_numbers_or_tokens(client: TestClient, log_lines: list[str]):
    call_uuid = new_call_uuid()
    response = await post_signed(client, "/plivo/answer", answer_form(call_uuid))
    url = (stream_element(await response.text()).text or "").strip()
    await post_signed(client, "/plivo/answer", answer_form(new_call_uuid(), to=UNKNOWN_TO))
    await post_signed(client, "/plivo/hangup", hangup_form(call_uuid))

    token = url.split("?token=")[1]
    text = "\n".join(log_lines)
    assert CALLER_MASKED in text
    for secret in (CALLER, CALLER_E164, KNOWN_TO, UNKNOWN_TO, token, AUTH_TOKEN):
        assert secret not in text


async def test_hangup_with_blank_fields_is_recorded(client: TestClient):
    call_uuid = new_call_uuid()
    await post_signed(client, "/plivo/answer", answer_form(call_uuid))
    form = hangup_form(call_uuid)
    form.update(Duration="", BillDuration="", HangupCause="")
    response = await post_signed(client, "/plivo/hangup", form)
    assert response.status == 200
    call = await get_call(client.app[DATABASE], call_uuid)
    assert call is not None and call.ended_at is not None
    assert (call.duration_secs, call.hangup_cause) == (None, None)
