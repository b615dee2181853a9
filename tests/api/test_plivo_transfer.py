from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from api.plivo import CONNECTING, NO_TRANSFER
from tests.api.plivo_calls import (
    AUTH_TOKEN,
    CALLER,
    answer_form,
    new_call_uuid,
    parse_xml,
    plivo_app,
    post_signed,
)
from tests.plivo_signing import signed_headers

STAFF_DIGITS = "919811045213"  # Himalayan Kitchen's staff_number in bots.yaml
DOSA_HOUSE = "918047182200"  # Dakshin Dosa House: no staff number


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    return await aiohttp_client(plivo_app(tmp_path))


async def answered(client: TestClient, **form: Any) -> str:
    call_uuid = new_call_uuid()
    response = await post_signed(client, "/plivo/answer", answer_form(call_uuid, **form))
    assert response.status == 200
    return call_uuid


async def fetch_transfer_xml(client: TestClient, call_uuid: str, **form: Any) -> Any:
    path = f"/plivo/transfer/{call_uuid}"
    response = await post_signed(client, path, answer_form(call_uuid, **form))
    assert response.status == 200, await response.text()
    assert response.content_type == "application/xml"
    return parse_xml(await response.text())


async def test_a_known_call_is_told_and_dialled_to_the_staff(
    client: TestClient, log_lines: list[str]
):
    call_uuid = await answered(client)
    root = await fetch_transfer_xml(client, call_uuid)
    assert [child.tag for child in root] == ["Speak", "Dial"]
    assert root[0].text == CONNECTING == "Connecting you to the restaurant."
    assert [(n.tag, n.text) for n in root[1]] == [("Number", STAFF_DIGITS)]
    # Neither the staff's nor the caller's number is logged.
    assert not any(STAFF_DIGITS[-6:] in line or CALLER[-6:] in line for line in log_lines)


async def test_an_unknown_call_gets_an_apology_and_a_hangup(client: TestClient):
    root = await fetch_transfer_xml(client, new_call_uuid())
    assert [child.tag for child in root] == ["Speak", "Hangup"]
    assert root[0].text == NO_TRANSFER


async def test_a_business_without_staff_number_cannot_be_transferred(client: TestClient):
    call_uuid = await answered(client, to=DOSA_HOUSE)
    root = await fetch_transfer_xml(client, call_uuid, to=DOSA_HOUSE)
    assert [child.tag for child in root] == ["Speak", "Hangup"]


async def test_a_form_naming_another_call_is_not_dialled(client: TestClient):
    call_uuid = await answered(client)
    path = f"/plivo/transfer/{call_uuid}"
    response = await post_signed(client, path, answer_form(new_call_uuid()))
    assert response.status == 200
    assert [child.tag for child in parse_xml(await response.text())] == ["Speak", "Hangup"]


async def test_forged_and_unsigned_requests_are_refused(client: TestClient):
    call_uuid = await answered(client)
    path = f"/plivo/transfer/{call_uuid}"
    forged = await post_signed(client, path, answer_form(call_uuid), auth_token="not-the-token")
    assert forged.status == 403
    unsigned = await client.post(path, data=answer_form(call_uuid))
    assert unsigned.status == 403
    # Signed for another call's URL: the path is part of what is signed.
    headers = signed_headers(
        f"https://bot.example.com/plivo/transfer/{new_call_uuid()}",
        answer_form(call_uuid),
        AUTH_TOKEN,
    )
    moved = await client.post(path, data=answer_form(call_uuid), headers=headers)
    assert moved.status == 403


async def test_a_malformed_call_id_is_not_found(client: TestClient):
    response = await post_signed(client, "/plivo/transfer/not_a_uuid!", answer_form("x"))
    assert response.status == 404
