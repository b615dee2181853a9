import pytest
from plivo.utils import validate_v3_signature

from bot.simulated_caller.signing import (
    MA_SIGNATURE_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SignatureMode,
    sign_v3,
    signed_headers,
)
from tests.fakes.plivo_caller import FakePlivoCaller
from tests.fakes_tests.stream_server import StreamServer

TOKEN = "sub-account-token"
MAIN_TOKEN = "main-account-token"
URL = "https://bot.example.in/plivo/answer?bot=demo"
PARAMS = {"CallUUID": "c-1", "From": "919812345678", "To": "918071234567", "Event": "StartApp"}


def test_valid_signature_passes_plivo_validator() -> None:
    headers = signed_headers("POST", URL, PARAMS, auth_token=TOKEN, main_auth_token=MAIN_TOKEN)
    nonce = headers[NONCE_HEADER]
    assert len(nonce) == 20 and nonce.isdigit()
    assert validate_v3_signature("POST", URL, nonce, TOKEN, headers[SIGNATURE_HEADER], PARAMS)
    assert validate_v3_signature(
        "POST", URL, nonce, MAIN_TOKEN, headers[MA_SIGNATURE_HEADER], PARAMS
    )
    # Plivo may send several comma-separated signatures; the validator accepts any of them.
    several = f"bm90LWl0,{headers[SIGNATURE_HEADER]}"
    assert validate_v3_signature("POST", URL, nonce, TOKEN, several, PARAMS)


def test_get_signature_includes_params_in_the_query() -> None:
    signature = sign_v3("GET", URL, PARAMS, "12345", TOKEN)
    assert validate_v3_signature("GET", URL, "12345", TOKEN, signature, PARAMS)
    assert not validate_v3_signature("POST", URL, "12345", TOKEN, signature, PARAMS)


def test_forged_and_tampered_signatures_fail() -> None:
    forged = signed_headers("POST", URL, PARAMS, auth_token=TOKEN, mode=SignatureMode.FORGED)
    nonce = forged[NONCE_HEADER]
    assert not validate_v3_signature("POST", URL, nonce, TOKEN, forged[SIGNATURE_HEADER], PARAMS)

    valid = signed_headers("POST", URL, PARAMS, auth_token=TOKEN)
    tampered = {**PARAMS, "From": "911111111111"}
    nonce = valid[NONCE_HEADER]
    signature = valid[SIGNATURE_HEADER]
    assert not validate_v3_signature("POST", URL, nonce, TOKEN, signature, tampered)
    other_url = URL.replace("bot=demo", "bot=other")
    assert not validate_v3_signature("POST", other_url, nonce, TOKEN, signature, PARAMS)
    assert signed_headers("POST", URL, PARAMS, auth_token=TOKEN, mode=SignatureMode.OMITTED) == {}


@pytest.mark.parametrize(
    ("mode", "status"),
    [(SignatureMode.VALID, 200), (SignatureMode.FORGED, 403), (SignatureMode.OMITTED, 403)],
)
async def test_caller_webhooks_against_a_validating_server(
    mode: SignatureMode, status: int
) -> None:
    async with StreamServer(TOKEN) as server:
        caller = FakePlivoCaller(server.base_url, auth_id="MA1", auth_token=TOKEN, signature=mode)
        async with caller:
            result = await caller.answer()
    assert result.status == status
    assert (caller.stream is not None) == (status == 200)
    path, params, valid = server.log.webhooks[0]
    assert path == "/plivo/answer" and valid == (status == 200)
    assert params["CallUUID"] == caller.call_uuid and params["From"] == "919812345678"


async def test_replayed_webhook_is_caught_by_nonce_tracking() -> None:
    async with StreamServer(TOKEN) as server:
        async with FakePlivoCaller(server.base_url, auth_id="MA1", auth_token=TOKEN) as caller:
            first = await caller.answer()
            again = await caller.replay(first)
    assert first.status == 200 and again.status == 403
    assert again.headers == first.headers and again.params == first.params
