import asyncio
import datetime as dt
import json
import math
import sqlite3
import sys
from pathlib import Path

from aiohttp import web

from bench.api import (
    BUSINESS,
    _migrate,
    peer_body,
    request_pools,
    seed_ours,
    synthetic_rows,
)
from bench.loadgen import Call, Plan, percentile, run

ROOT = Path(__file__).resolve().parents[2]


def tiny_app() -> web.Application:
    async def item(request: web.Request) -> web.Response:
        await asyncio.sleep(0.001)
        return web.json_response({"id": int(request.match_info["id"])})

    async def create(request: web.Request) -> web.Response:
        return web.json_response({"id": 1, **await request.json()}, status=201)

    async def missing(_request: web.Request) -> web.Response:
        return web.json_response({"detail": "Reservation not found"}, status=404)

    app = web.Application()
    app.router.add_get("/items/{id}", item)
    app.router.add_post("/items", create)
    app.router.add_get("/missing", missing)
    return app


CALLS = [
    Call("GET", "/items/1"),
    Call("POST", "/items", json.dumps({"name": "Guest 1"}).encode()),
    Call("GET", "/items/2"),
    Call("GET", "/missing"),
]


async def test_loadgen_counts_requests_errors_and_orders_percentiles(aiohttp_server):
    server = await aiohttp_server(tiny_app())
    plan = Plan(str(server.make_url("/")), CALLS, connections=4, seconds=0.8, warmup=0.2)

    figures = await run(plan)

    assert figures["requests"] > 20
    assert figures["warmup_requests"] > 0
    assert sum(figures["statuses"].values()) == figures["requests"]
    assert set(figures["statuses"]) == {"200", "201", "404"}
    assert figures["errors"] == figures["statuses"]["404"]
    assert abs(figures["errors"] / figures["requests"] - 0.25) < 0.05
    assert "Reservation not found" in figures["error_samples"]["404"]
    assert 0 < figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert figures["seconds"] >= 0.8
    assert math.isclose(figures["rps"], figures["requests"] / figures["seconds"], rel_tol=0.01)


async def test_loadgen_command_line_prints_figures(aiohttp_server, tmp_path: Path):
    server = await aiohttp_server(tiny_app())
    plan = Plan(str(server.make_url("/")), CALLS[:2], connections=2, seconds=0.3, warmup=0.1)
    (tmp_path / "plan.json").write_text(json.dumps(plan.to_json()))

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        str(tmp_path / "plan.json"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()

    assert process.returncode == 0
    figures = json.loads(out)
    assert figures["requests"] > 0
    assert figures["errors"] == 0
    assert figures["p50_ms"] <= figures["p99_ms"]


async def test_loadgen_counts_refused_connections_as_errors(unused_tcp_port):
    plan = Plan(f"http://127.0.0.1:{unused_tcp_port}", CALLS[:1], 2, seconds=0.2, warmup=0)

    figures = await run(plan)

    assert figures["requests"] == figures["errors"] > 0
    assert "200" not in figures["statuses"]
    assert math.isnan(figures["p99_ms"])


def test_plan_survives_json():
    plan = Plan("http://x", CALLS, connections=3, seconds=1.5, warmup=0.5, headers={"A": "b"})
    assert Plan.from_json(json.loads(json.dumps(plan.to_json()))) == plan


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 50))


def test_synthetic_rows_have_the_peer_shape():
    rows = list(synthetic_rows(500))
    assert {row["business_id"] for row in rows} == {f"biz-{n}" for n in range(1, 6)}
    assert all(row["starts_at"].date().month == 12 for row in rows)
    assert min(row["starts_at"].time() for row in rows) >= dt.time(17)
    assert max(row["starts_at"].time() for row in rows) <= dt.time(22, 30)
    assert rows == list(synthetic_rows(500))


def test_both_sides_get_the_same_requests():
    ids = [f"uuid-{n}" for n in range(100)]
    pools = request_pools(100, ids, seed=3)
    ours, peer = pools["ours"], pools["peer"]
    assert ours["list"] == peer["list"]
    for mine, theirs in zip(ours["get"], peer["get"], strict=True):
        assert theirs.path == f"/api/reservations/uuid-{int(mine.path.rsplit('/', 1)[1]) - 1}"
    for mine, theirs in zip(ours["create"][:50], peer["create"][:50], strict=True):
        body = json.loads(mine.body or b"")
        assert body["business_id"] == BUSINESS
        assert json.loads(theirs.body or b"") == peer_body(body)
        assert dt.date.fromisoformat(body["date"]) > dt.date.today() - dt.timedelta(days=1)


def test_seed_ours_fills_the_migrated_schema(tmp_path: Path):
    path = tmp_path / "bench.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))

    seed_ours(path, 300)

    with sqlite3.connect(path) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM reservations ORDER BY id")]
        codes = connection.execute(
            "SELECT COUNT(DISTINCT business_id || code), MAX(LENGTH(code)) FROM reservations"
        ).fetchone()
        status = connection.execute("SELECT DISTINCT status, source FROM reservations").fetchall()
    connection.close()
    assert ids == list(range(1, 301))
    assert codes == (300, 6)
    assert status == [("confirmed", "admin")]
