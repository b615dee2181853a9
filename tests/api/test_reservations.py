import datetime as dt
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.api.conftest import next_weekday

WEDNESDAY = next_weekday(3).isoformat()
MONDAY = next_weekday(1).isoformat()  # Himalayan Kitchen is closed on Mondays


def booking(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "business_id": "himalayan-kitchen",
        "customer_name": "Ravi Kumar",
        "customer_phone": "+91 98765 43210",
        "party_size": 4,
        "date": WEDNESDAY,
        "time": "19:30",
    }
    body.update(overrides)
    return body


async def create(client: TestClient, **overrides: object) -> dict[str, Any]:
    response = await client.post("/api/reservations", json=booking(**overrides))
    assert response.status == 201, await response.text()
    return await response.json()


async def test_create_returns_201_with_stored_reservation(client: TestClient):
    created = await create(client, notes="window seat")
    assert created["id"] >= 1
    assert len(created["code"]) == 6
    assert created["customer_phone"] == "+919876543210"
    assert created["date"] == WEDNESDAY and created["time"] == "19:30"
    assert created["status"] == "confirmed" and created["source"] == "admin"
    assert created["duration_minutes"] == 90
    assert created["notes"] == "window seat"

    fetched = await client.get(f"/api/reservations/{created['id']}")
    assert fetched.status == 200
    assert await fetched.json() == created


@pytest.mark.parametrize(
    ("overrides", "loc", "kind"),
    [
        ({"surprise": 1}, ["body", "surprise"], "extra_forbidden"),
        ({"date": "2026-02-30"}, ["body", "date"], "date_from_datetime_parsing"),
        ({"time": "25:00"}, ["body", "time"], "time_parsing"),
        ({"time": "19:10:30"}, ["body", "time"], "value_error"),
        ({"party_size": 0}, ["body", "party_size"], "greater_than_equal"),
        ({"party_size": "four"}, ["body", "party_size"], "int_parsing"),
        ({"customer_name": "  "}, ["body", "customer_name"], "string_too_short"),
        ({"customer_phone": "call me"}, ["body", "customer_phone"], "value_error"),
        ({"business_id": "Not A Slug"}, ["body", "business_id"], "string_pattern_mismatch"),
        ({"id": 5}, ["body", "id"], "extra_forbidden"),
        ({"status": "cancelled"}, ["body", "status"], "extra_forbidden"),
    ],
)
async def test_create_invalid_body_answers_422(client: TestClient, overrides, loc, kind):
    response = await client.post("/api/reservations", json=booking(**overrides))
    assert response.status == 422
    detail = (await response.json())["detail"]
    assert {"loc": loc, "type": kind} == {k: detail[0][k] for k in ("loc", "type")}
    assert isinstance(detail[0]["msg"], str) and detail[0]["msg"]


async def test_create_missing_field_and_non_object(client: TestClient):
    body = booking()
    del body["party_size"]
    response = await client.post("/api/reservations", json=body)
    assert response.status == 422
    assert (await response.json())["detail"][0]["loc"] == ["body", "party_size"]

    response = await client.post("/api/reservations", json=[1, 2])
    assert response.status == 422
    response = await client.post("/api/reservations", data=b"")
    assert response.status == 422


async def test_create_malformed_json_answers_400(client: TestClient):
    response = await client.post(
        "/api/reservations", data=b'{"party_size": 4,', headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert "Malformed JSON" in (await response.json())["detail"]


async def test_create_checks_business_and_its_party_limit(client: TestClient):
    response = await client.post("/api/reservations", json=booking(business_id="no-such-place"))
    assert response.status == 422
    assert (await response.json())["detail"][0]["loc"] == ["body", "business_id"]

    response = await client.post("/api/reservations", json=booking(party_size=13))
    assert response.status == 422
    problem = (await response.json())["detail"][0]
    assert problem["loc"] == ["body", "party_size"]
    assert "1 to 12" in problem["msg"]


async def test_create_in_closed_hours_answers_409_with_reason(client: TestClient):
    response = await client.post("/api/reservations", json=booking(date=MONDAY))
    assert response.status == 409
    body = await response.json()
    assert body["code"] == "closed"
    assert "does not seat guests" in body["detail"]


async def test_create_when_full_answers_409_and_nothing_bypasses_capacity(client: TestClient):
    for _ in range(4):
        await create(client, party_size=12)  # 48 seats: all of them
    response = await client.post("/api/reservations", json=booking(party_size=1))
    assert response.status == 409
    assert (await response.json())["code"] == "full"

    later = await create(client, time="21:00")
    moved = await client.patch(f"/api/reservations/{later['id']}", json={"time": "19:30"})
    assert moved.status == 409
    resized = await client.put(
        f"/api/reservations/{later['id']}",
        json={
            "customer_name": "Ravi Kumar",
            "party_size": 4,
            "date": WEDNESDAY,
            "time": "20:00",
            "status": "confirmed",
        },
    )
    assert resized.status == 409


async def test_list_paginates_orders_and_filters(client: TestClient):
    times = ["21:00", "13:00", "19:00", "20:30"]
    made = [await create(client, time=t, customer_name=f"Guest {t}") for t in times]
    await create(client, customer_name="Meera", customer_phone="+919812345678", time="12:30")

    response = await client.get("/api/reservations", params={"limit": 2, "skip": 1})
    assert response.status == 200
    page = await response.json()
    assert page["total"] == 5 and page["skip"] == 1 and page["limit"] == 2
    assert [item["time"] for item in page["items"]] == ["13:00", "19:00"]

    everything = await (await client.get("/api/reservations")).json()
    assert everything["limit"] == 50
    assert [i["time"] for i in everything["items"]] == ["12:30", "13:00", "19:00", "20:30", "21:00"]

    async def total(**params: Any) -> int:
        answer = await client.get("/api/reservations", params=params)
        assert answer.status == 200, await answer.text()
        return (await answer.json())["total"]

    assert await total(q="meer") == 1
    assert await total(q="%") == 0
    assert await total(phone="98123 45678") == 0
    assert await total(phone="+91 98123 45678") == 1
    assert await total(business_id="dakshin-dosa-house") == 0
    assert await total(date_from=WEDNESDAY, date_to=WEDNESDAY) == 5
    day_after = (dt.date.fromisoformat(WEDNESDAY) + dt.timedelta(days=1)).isoformat()
    assert await total(date_from=day_after) == 0
    await client.post(f"/api/reservations/{made[0]['id']}/cancel")
    assert await total(status="cancelled") == 1
    assert await total(status="confirmed") == 4


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 501},
        {"limit": 0},
        {"skip": -1},
        {"skip": 10**19},
        {"status": "seated"},
        {"date_from": "tomorrow"},
    ],
)
async def test_list_bad_query_answers_422(client: TestClient, params):
    response = await client.get("/api/reservations", params=params)
    assert response.status == 422
    assert (await response.json())["detail"][0]["loc"][0] == "query"


@pytest.mark.parametrize("bad_id", ["abc", "0", "-3", str(2**63), "1.5"])
async def test_get_bad_id_answers_422(client: TestClient, bad_id: str):
    response = await client.get(f"/api/reservations/{bad_id}")
    assert response.status == 422
    assert (await response.json())["detail"][0]["loc"] == ["path", "id"]


async def test_get_unknown_answers_404(client: TestClient):
    response = await client.get("/api/reservations/999")
    assert response.status == 404
    assert (await response.json())["detail"] == "Reservation not found"


async def test_put_replaces_and_patch_changes_only_given_fields(client: TestClient):
    created = await create(client, notes="birthday")
    replaced = await client.put(
        f"/api/reservations/{created['id']}",
        json={
            "customer_name": "Ravi K",
            "party_size": 6,
            "date": WEDNESDAY,
            "time": "20:00",
            "status": "confirmed",
        },
    )
    assert replaced.status == 200
    body = await replaced.json()
    assert (body["party_size"], body["time"], body["notes"]) == (6, "20:00", None)

    patched = await client.patch(f"/api/reservations/{created['id']}", json={"time": "20:30"})
    body = await patched.json()
    assert patched.status == 200
    assert (body["time"], body["party_size"], body["customer_name"]) == ("20:30", 6, "Ravi K")

    missing = await client.put(f"/api/reservations/{created['id']}", json={"party_size": 2})
    assert missing.status == 422
    nulled = await client.patch(f"/api/reservations/{created['id']}", json={"party_size": None})
    assert nulled.status == 422
    unknown = await client.patch("/api/reservations/424242", json={"party_size": 2})
    assert unknown.status == 404
    too_big = await client.patch(f"/api/reservations/{created['id']}", json={"party_size": 40})
    assert too_big.status == 422


async def test_delete_then_gone_and_no_delete_all(client: TestClient):
    created = await create(client)
    deleted = await client.delete(f"/api/reservations/{created['id']}")
    assert deleted.status == 204
    assert (await client.get(f"/api/reservations/{created['id']}")).status == 404
    assert (await client.delete(f"/api/reservations/{created['id']}")).status == 404

    delete_all = await client.delete("/api/reservations")
    assert delete_all.status == 405
    assert (await delete_all.json())["detail"] == "Method Not Allowed"
    assert "GET" in delete_all.headers["Allow"]


async def test_availability_uses_the_booking_rules(client: TestClient):
    params = {"business_id": "himalayan-kitchen", "date": WEDNESDAY, "time": "19:30"}
    free = await client.get("/api/reservations/availability", params={**params, "party_size": 4})
    assert free.status == 200
    body = await free.json()
    assert body["available"] is True and body["reason"] == "available"
    assert body["seats_left"] == 48

    for _ in range(4):
        await create(client, party_size=12)
    full = await client.get("/api/reservations/availability", params={**params, "party_size": 2})
    body = await full.json()
    assert body["available"] is False and body["reason"] == "full"
    assert body["alternatives"] and all(a["date"] and a["time"] for a in body["alternatives"])
    assert {"date": WEDNESDAY, "time": "21:00"} in body["alternatives"]

    closed = await client.get(
        "/api/reservations/availability", params={**params, "date": MONDAY, "party_size": 2}
    )
    assert (await closed.json())["reason"] == "closed"

    unknown = await client.get(
        "/api/reservations/availability", params={**params, "business_id": "nope", "party_size": 2}
    )
    assert unknown.status == 422
    missing = await client.get("/api/reservations/availability", params=params)
    assert missing.status == 422
    assert (await missing.json())["detail"][0]["loc"] == ["query", "party_size"]


async def test_cancel_is_idempotent_and_records_who(client: TestClient):
    created = await create(client)
    url = f"/api/reservations/{created['id']}/cancel"
    first = await client.post(url, json={"cancelled_by": "Asha at the front desk"})
    assert first.status == 200
    body = await first.json()
    assert body["status"] == "cancelled"
    assert body["cancelled_by"] == "Asha at the front desk"
    assert body["cancelled_at"]

    again = await client.post(url, json={}, headers={"X-Actor": "someone else"})
    assert again.status == 200
    assert (await again.json())["cancelled_by"] == "Asha at the front desk"
    assert (await client.post("/api/reservations/999/cancel", json={})).status == 404


async def test_changes_are_audited_with_the_actor(client: TestClient):
    actor = {"X-Actor": "Asha"}
    created = await client.post("/api/reservations", json=booking(), headers=actor)
    reservation = await created.json()
    rid = reservation["id"]
    await client.patch(f"/api/reservations/{rid}", json={"party_size": 5}, headers=actor)
    await client.post(f"/api/reservations/{rid}/cancel", json={}, headers=actor)
    await client.delete(f"/api/reservations/{rid}")

    response = await client.get(
        "/api/audit-log", params={"entity": "reservations", "entity_id": str(rid)}
    )
    assert response.status == 200
    entries = (await response.json())["items"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("delete", "admin"),
        ("cancel", "admin:Asha"),
        ("update", "admin:Asha"),
        ("create", "admin:Asha"),
    ]
    update = entries[2]
    assert update["before"]["party_size"] == 4 and update["after"]["party_size"] == 5
    assert entries[0]["after"] is None
