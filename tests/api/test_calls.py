import datetime as dt
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from api.keys import DATABASE
from store.models import CallLog, CallOutcome
from tests.api.conftest import next_weekday


async def add_call(app: web.Application, uuid: str, **values: object) -> None:
    async with app[DATABASE].write() as session:
        session.add(CallLog(call_uuid=uuid, **values))


async def test_call_logs_list_filters_and_get_full_record(client: TestClient, app):
    day = dt.datetime(2026, 11, 20, 18, tzinfo=dt.UTC)
    await add_call(
        app,
        "call-a",
        business_id="himalayan-kitchen",
        caller_masked="+91******3210",
        started_at=day,
        outcome=CallOutcome.BOOKED,
        transcript=[{"role": "user", "text": "table for four"}],
        tool_calls=[{"name": "book_reservation", "result": {"code": "ACE347"}}],
        turn_latencies=[{"turn": 1, "ms": 640}],
    )
    await add_call(
        app,
        "call-b",
        business_id="dakshin-dosa-house",
        started_at=day + dt.timedelta(days=2),
        outcome=CallOutcome.ENQUIRY,
    )

    page = await (await client.get("/api/call-logs")).json()
    assert page["total"] == 2
    assert [item["call_uuid"] for item in page["items"]] == ["call-b", "call-a"]  # newest first

    async def uuids(**params: Any) -> list[str]:
        answer = await client.get("/api/call-logs", params=params)
        assert answer.status == 200, await answer.text()
        return [item["call_uuid"] for item in (await answer.json())["items"]]

    assert await uuids(business_id="himalayan-kitchen") == ["call-a"]
    assert await uuids(outcome="enquiry") == ["call-b"]
    assert await uuids(date_from="2026-11-21") == ["call-b"]
    assert await uuids(date_to="2026-11-20") == ["call-a"]

    call_id = page["items"][1]["id"]
    full = await (await client.get(f"/api/call-logs/{call_id}")).json()
    assert full["caller"] == "+91******3210"
    assert full["transcript"][0]["text"] == "table for four"
    assert full["tool_calls"][0]["name"] == "book_reservation"
    assert full["turn_latencies"] == [{"turn": 1, "ms": 640}]
    assert (await client.get("/api/call-logs/999")).status == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/call-logs"),
        ("DELETE", "/api/call-logs"),
        ("PUT", "/api/call-logs/1"),
        ("PATCH", "/api/call-logs/1"),
        ("DELETE", "/api/call-logs/1"),
        ("POST", "/api/audit-log"),
    ],
)
async def test_read_only_resources_refuse_writes_with_405(client: TestClient, method, path):
    response = await client.request(method, path, json={})
    assert response.status == 405
    assert (await response.json())["detail"] == "Method Not Allowed"


async def test_caller_preferences_crud_keeps_number_masked(client: TestClient):
    body = {
        "business_id": "himalayan-kitchen",
        "phone": "+91 98765 43210",
        "name": "Ravi",
        "preferred_language": "hi",
        "usual_party_size": 4,
    }
    created = await client.post("/api/caller-preferences", json=body)
    assert created.status == 201
    record = await created.json()
    assert record["caller"] == "+91******3210"
    assert "9876543210" not in await created.text()

    duplicate = await client.post("/api/caller-preferences", json=body)
    assert duplicate.status == 409
    assert (await duplicate.json())["code"] == "conflict"

    found = await client.get("/api/caller-preferences", params={"phone": "919876543210"})
    assert (await found.json())["total"] == 1
    url = f"/api/caller-preferences/{record['id']}"
    patched = await (await client.patch(url, json={"usual_party_size": 6})).json()
    assert (patched["usual_party_size"], patched["name"]) == (6, "Ravi")
    replaced = await (await client.put(url, json={"name": "Ravi K"})).json()
    assert (replaced["name"], replaced["usual_party_size"]) == ("Ravi K", None)
    bad = await client.patch(url, json={"preferred_language": "fr"})
    assert bad.status == 422
    assert (await client.delete(url)).status == 204
    assert (await client.get(url)).status == 404


async def test_whatsapp_followups_crud_needs_a_reservation(client: TestClient):
    reservation = await client.post(
        "/api/reservations",
        json={
            "business_id": "himalayan-kitchen",
            "customer_name": "Ravi",
            "party_size": 2,
            "date": next_weekday(3).isoformat(),
            "time": "13:00",
        },
    )
    rid = (await reservation.json())["id"]
    body = {
        "reservation_id": rid,
        "template": "booking_confirmed",
        "parameters": {"name": "Ravi", "party": 2},
        "next_attempt_at": "2026-12-10T18:00:00+05:30",
    }
    created = await client.post("/api/whatsapp-followups", json=body)
    assert created.status == 201, await created.text()
    followup = await created.json()
    assert followup["status"] == "pending" and followup["attempts"] == 0
    due = dt.datetime.fromisoformat(followup["next_attempt_at"])
    assert due == dt.datetime(2026, 12, 10, 12, 30, tzinfo=dt.UTC)

    unknown = await client.post("/api/whatsapp-followups", json={**body, "reservation_id": 999})
    assert unknown.status == 422
    assert (await unknown.json())["detail"][0]["loc"] == ["body", "reservation_id"]
    naive = await client.post(
        "/api/whatsapp-followups", json={**body, "next_attempt_at": "2026-12-10T18:00:00"}
    )
    assert naive.status == 422

    url = f"/api/whatsapp-followups/{followup['id']}"
    patched = await (await client.patch(url, json={"status": "cancelled"})).json()
    assert patched["status"] == "cancelled"
    listed = await client.get("/api/whatsapp-followups", params={"reservation_id": rid})
    assert (await listed.json())["total"] == 1
    assert (await client.delete(url)).status == 204
