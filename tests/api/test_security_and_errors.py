from pathlib import Path

from aiohttp.test_utils import TestClient

from api.app import MAX_BODY_BYTES, create_app
from api.keys import DATABASE
from bot.config import BusinessRegistry
from tests.api.conftest import TOKEN, make_settings


async def test_api_without_token_is_401_and_health_stays_open(aiohttp_client, app):
    client: TestClient = await aiohttp_client(app)
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN}):
        response = await client.get("/api/reservations", headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert await response.json() == {"detail": "Not authenticated"}
    ok = await client.get("/api/reservations", headers={"Authorization": f"bearer {TOKEN}"})
    assert ok.status == 200
    assert (await client.get("/health")).status == 200


async def test_api_refuses_to_serve_without_configured_token(aiohttp_client, tmp_path: Path):
    settings = make_settings(tmp_path, admin_token=None)
    client = await aiohttp_client(create_app(settings, BusinessRegistry(settings.bots_path)))
    response = await client.get("/api/reservations", headers={"Authorization": "Bearer x"})
    assert response.status == 503
    assert "ADMIN_TOKEN" in (await response.json())["detail"]
    assert (await client.get("/health")).status == 200


async def test_oversized_body_answers_413(client: TestClient):
    response = await client.post(
        "/api/reservations",
        data=b'{"x": "' + b"a" * (MAX_BODY_BYTES + 10) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert "detail" in await response.json()


async def test_unknown_route_answers_json_404(client: TestClient):
    response = await client.get("/api/nothing-here")
    assert response.status == 404
    assert await response.json() == {"detail": "Not Found"}


async def test_health_detailed_reports_database_and_engines(client: TestClient):
    response = await client.get("/health/detailed")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "healthy"
    assert body["database"]["status"] == "up" and body["database"]["latency_ms"] >= 0
    assert body["engines"] == {"deepgram": "missing", "groq": "missing", "plivo": "missing"}
    assert body["admin_api"] == "enabled"
    assert TOKEN not in await response.text()


async def test_health_detailed_degraded_when_database_fails(client: TestClient, app, monkeypatch):
    async def broken() -> None:
        raise ConnectionError("database is gone")

    monkeypatch.setattr(app[DATABASE], "ping", broken)
    response = await client.get("/health/detailed")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "degraded"
    assert body["database"] == {"status": "down", "error": "ConnectionError"}
