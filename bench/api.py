"""Admin API throughput and latency (list, get, create), side by side with the FastAPI peer.

Usage::

    python -m bench.api [--rows 100000] [--connections 16] [--seconds 10] [--warmup 2]
                        [--peer PATH/fastapi_crud_peer.py] [--peer-python PATH]
                        [--only ours|peer]

Both servers get a fresh SQLite database in a temporary folder holding ``--rows`` reservations
of the same synthetic data: the rows the peer's own ``--seed`` writes (5 businesses ``biz-1`` ..
``biz-5``, December 2026, 17:00-22:30, parties of 1-8), which this module regenerates for our
schema with the same random sequence. Our server is ``python -m bot serve`` with a bench
``bots.yaml`` holding one business, ``bench-bistro``, open every day and big enough that the
creates (spread over the next 300 days, on 15-minute slots) never run out of room.

Each route is loaded by :mod:`bench.loadgen` in a process of its own: ``--connections`` closed
loops for ``--warmup`` seconds, then ``--seconds`` measured. Both servers stay up for the whole
run but only one is loaded at a time: for each route in turn (list, then get, then create) ours
is loaded, then the peer, with the same request pool (list: a page of 50 at a random ``skip`` in
0..1000; get: the same random rows; create: the same bodies). Figures are printed next to each
other with the ratio of throughputs, since only ratios measured in the same run mean much on a
noisy machine, and written to ``bench/results/api.json``.

The peer is not part of the project: it is run from the path given with ``--peer``, by
``--peer-python`` or else by a ``.venv-peers`` next to the project, created on first use with
the peer's pinned requirements. Without ``--peer`` only our side runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert

from bench.loadgen import Call, Plan
from store.codes import CODE_ALPHABET
from store.db import Database
from store.migrate import upgrade
from store.models import Reservation, ReservationSource, ReservationStatus

PROJECT = Path(__file__).resolve().parents[1]
PEER_VENV = PROJECT / ".venv-peers"
PEER_REQUIREMENTS = (
    "fastapi==0.165.0",
    "uvicorn==0.55.0",
    "sqlalchemy[asyncio]==2.1.9",
    "aiosqlite==0.22.1",
    "pydantic==2.14.4",
)
ROUTES = ("list", "get", "create")
BUSINESS = "bench-bistro"
ZONE = ZoneInfo("Asia/Kolkata")
TARGET_RATIO = 5.0
TARGET_P99_MS = 50.0
PAGE = 50
MAX_SKIP = 1000
POOL = {"list": 5_000, "get": 20_000, "create": 20_000}
CREATE_DAYS = 300
CREATE_SLOTS = [dt.time(hour, minute) for hour in range(11, 22) for minute in (0, 15, 30, 45)]
SEED_BATCH = 10_000

Side = Literal["ours", "peer"]
SIDES: tuple[Side, ...] = ("ours", "peer")
LABELS: dict[Side, str] = {"ours": "vartalaap", "peer": "peer"}

BOTS_YAML = """\
# Written by bench/api.py: one business that is always open and never full.
businesses:
  - slug: {slug}
    name: Bench Bistro
    phone_numbers:
      - "+91 80 4000 1234"
    timezone: Asia/Kolkata
    languages: [en]
    greeting:
      en: "Hello, Bench Bistro. How many of you, and when?"
    hours:
{hours}
    reservations:
      slot_minutes: 15
      dining_minutes: 90
      seat_capacity: 10000
      max_party_size: 20
      min_party_size: 1
      min_notice_minutes: 0
      horizon_days: 365
      last_seating_minutes: 0
      alternatives: 3
    engines:
      stt: {{provider: deepgram, model: nova-3, language: en-IN}}
      llm: {{provider: groq, model: llama-3.3-70b-versatile, temperature: 0.2}}
      tts: {{provider: deepgram, voice: aura-2-thalia-en, language: en}}
"""


# --- data -----------------------------------------------------------------------------------


def synthetic_rows(count: int) -> Iterator[dict[str, Any]]:
    """The rows ``fastapi_crud_peer.py --seed count`` inserts, in the same order.

    Same random seed (42) and the same draws in the same order as the peer's ``seed()``, so
    both databases hold the same reservations: ``biz-1`` .. ``biz-5`` in turn, ``Guest i``, a
    phone, a party of 1-8, a day in December 2026 and a time from 17:00 to 22:30.
    """
    rng = random.Random(42)
    for index in range(count):
        phone = f"+9198{rng.randrange(10**8):08d}"
        party = rng.randint(1, 8)
        day = rng.randint(1, 28)
        hour = rng.randint(17, 22)
        minute = rng.choice((0, 30))
        yield {
            "business_id": f"biz-{index % 5 + 1}",
            "customer_name": f"Guest {index}",
            "customer_phone": phone,
            "party_size": party,
            "starts_at": dt.datetime(2026, 12, day, hour, minute),
        }


def seed_ours(path: Path, count: int) -> None:
    """Insert :func:`synthetic_rows` into our migrated database, with Core executemany batches.

    The row ids are 1..count in order. Codes are six characters of the booking alphabet,
    unique per business as the schema requires.
    """
    rng = random.Random(7)
    codes: dict[str, set[str]] = {}
    now = dt.datetime.now(dt.UTC)
    engine = create_engine(f"sqlite:///{path}")
    batch: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for row in synthetic_rows(count):
            taken = codes.setdefault(row["business_id"], set())
            code = "".join(rng.choices(CODE_ALPHABET, k=6))
            while code in taken:
                code = "".join(rng.choices(CODE_ALPHABET, k=6))
            taken.add(code)
            batch.append(
                {
                    **row,
                    "code": code,
                    "duration_minutes": 90,
                    "status": ReservationStatus.CONFIRMED,
                    "source": ReservationSource.ADMIN,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == SEED_BATCH:
                connection.execute(insert(Reservation), batch)
                batch.clear()
        if batch:
            connection.execute(insert(Reservation), batch)
    engine.dispose()


def create_bodies(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Bodies for creates, spread over the next :data:`CREATE_DAYS` days and 15-minute slots."""
    today = dt.datetime.now(ZONE).date()
    bodies = []
    for index in range(count):
        day = today + dt.timedelta(days=rng.randint(1, CREATE_DAYS))
        bodies.append(
            {
                "business_id": BUSINESS,
                "customer_name": f"Guest {index}",
                "customer_phone": f"+9198765{index % 100_000:05d}",
                "party_size": rng.randint(1, 8),
                "date": day.isoformat(),
                "time": rng.choice(CREATE_SLOTS).strftime("%H:%M"),
            }
        )
    return bodies


def peer_body(body: dict[str, Any]) -> dict[str, Any]:
    """The same create in the peer's field names."""
    renamed = {key: value for key, value in body.items() if key not in ("date", "time")}
    return {**renamed, "reservation_date": body["date"], "reservation_time": body["time"]}


def request_pools(rows: int, peer_ids: list[str] | None, seed: int) -> dict[Side, dict[str, Any]]:
    """The requests of each route for each side: the same pages, rows and bodies for both."""
    rng = random.Random(seed)
    skips = [rng.randint(0, MAX_SKIP) for _ in range(POOL["list"])]
    picks = [rng.randrange(rows) for _ in range(POOL["get"])]
    bodies = create_bodies(POOL["create"], rng)
    lists = [Call("GET", f"/api/reservations?skip={skip}&limit={PAGE}") for skip in skips]
    pools: dict[Side, dict[str, Any]] = {
        "ours": {
            "list": lists,
            "get": [Call("GET", f"/api/reservations/{pick + 1}") for pick in picks],
            "create": [
                Call("POST", "/api/reservations", json.dumps(body).encode()) for body in bodies
            ],
        }
    }
    if peer_ids is not None:
        pools["peer"] = {
            "list": lists,
            "get": [Call("GET", f"/api/reservations/{peer_ids[pick]}") for pick in picks],
            "create": [
                Call("POST", "/api/reservations", json.dumps(peer_body(body)).encode())
                for body in bodies
            ],
        }
    return pools


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A server process, its port, its log file, and the token its API wants (if any)."""

    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    port: int
    token: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        """Where the server's output goes."""
        return self.cwd / f"{self.name}.log"

    @property
    def headers(self) -> dict[str, str]:
        """The headers every API request carries."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def start(self, timeout: float = 60.0) -> None:
        """Start the process and wait until ``GET /health`` answers 200.

        Raises:
            RuntimeError: If the process exits or is not healthy within ``timeout`` seconds.
        """
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Ask the process to stop (SIGTERM), and kill it if it has not after 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def cpu_seconds(self) -> float | None:
        """CPU time the server and its live worker processes have used so far (Linux only)."""
        if self.process is None:
            return None
        pids = [self.process.pid, *_child_pids(self.process.pid)]
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's output."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def probe(self, call: Call) -> tuple[int, str]:
        """Send one request; its status and the start of its body (0 and the error if none)."""
        request = urllib.request.Request(
            self.base_url + call.path,
            data=call.body,
            method=call.method,
            headers={"Content-Type": "application/json", **self.headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read(300).decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read(300).decode(errors="replace")
        except OSError as error:
            return 0, repr(error)


def ensure_peer_python(
    requirements: Sequence[str] = PEER_REQUIREMENTS, stamp_name: str = ".bench-requirements"
) -> Path:
    """The Python of ``.venv-peers``, created with a peer's pinned requirements if missing.

    Args:
        requirements: What the peer needs (the FastAPI peer's by default).
        stamp_name: The file in the venv that records them once installed, one per peer.
    """
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / stamp_name
    wanted = "\n".join(requirements) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        print(f"creating {PEER_VENV} for the peer", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    print(f"installing the peer's requirements: {' '.join(requirements)}", flush=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + list(requirements),
        check=True,
    )
    stamp.write_text(wanted)
    return python


def prepare_ours(folder: Path, rows: int) -> tuple[Server, float]:
    """Write and check a bots.yaml, migrate and seed a database; the server (not started yet)."""
    bots = folder / "bots.yaml"
    hours = "\n".join(
        f'      {day}: ["11:00-23:30"]' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    bots.write_text(BOTS_YAML.format(slug=BUSINESS, hours=hours))
    database = folder / "bench.db"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "BOTS_PATH": str(bots),
        "ADMIN_TOKEN": secrets.token_hex(16),
        "LOG_LEVEL": "WARNING",
        "CONFIG_WATCH_SECS": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")])),
    }
    check = subprocess.run(
        [sys.executable, "-m", "bot", "check-config"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise RuntimeError(f"the bench bots.yaml does not validate:\n{check.stderr}{check.stdout}")
    began = time.perf_counter()
    asyncio.run(_migrate(env["DATABASE_URL"]))
    seed_ours(database, rows)
    seeded = time.perf_counter() - began
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port"]
    port = free_port()
    server = Server("vartalaap", [*command, str(port)], folder, env, port, env["ADMIN_TOKEN"])
    return server, seeded


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await upgrade(database)
    finally:
        await database.close()


def prepare_peer(
    folder: Path, rows: int, script: Path, python: Path
) -> tuple[Server, list[str], float]:
    """Seed the peer's database with its own ``--seed``; the server and the seeded ids."""
    database = folder / "peer.db"
    env = {**os.environ, "PEER_DB_URL": f"sqlite+aiosqlite:///{database}"}
    began = time.perf_counter()
    subprocess.run(
        [str(python), str(script), "--seed", str(rows)],
        cwd=folder,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seeded = time.perf_counter() - began
    with sqlite3.connect(database) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM reservations ORDER BY rowid")]
    connection.close()
    if len(ids) != rows:
        raise RuntimeError(f"the peer seeded {len(ids)} rows, not {rows}")
    port = free_port()
    command = [str(python), str(script), "--host", "127.0.0.1", "--port", str(port)]
    return Server("peer", command, folder, env, port), ids, seeded


# --- measuring --------------------------------------------------------------------------------


def load(
    server: Server, calls: list[Call], args: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    """Run :mod:`bench.loadgen` against ``server`` in a process of its own; its figures."""
    plan = Plan(
        base_url=server.base_url,
        calls=calls,
        connections=args.connections,
        seconds=args.seconds,
        warmup=args.warmup,
        headers=server.headers,
    )
    plan_path = folder / "plan.json"
    plan_path.write_text(json.dumps(plan.to_json()))
    cpu_before = server.cpu_seconds()
    children_before = os.times()
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(plan_path)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=args.warmup + args.seconds + 180,
    )
    wall = time.perf_counter() - began
    cpu_after = server.cpu_seconds()
    children_after = os.times()
    if result.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{result.stderr}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if cpu_before is not None and cpu_after is not None:
        figures["server_cpu_pct"] = round(100 * (cpu_after - cpu_before) / wall, 1)
    loadgen_cpu = sum(children_after[2:4]) - sum(children_before[2:4])
    figures["loadgen_cpu_pct"] = round(100 * loadgen_cpu / wall, 1)
    return figures


def ratio(ours: dict[str, Any] | None, peer: dict[str, Any] | None) -> float | None:
    """Our throughput over the peer's, when both were measured."""
    if not ours or not peer or not peer.get("rps"):
        return None
    return round(float(ours["rps"]) / float(peer["rps"]), 2)


def verdicts(ours: dict[str, Any] | None, times: float | None) -> dict[str, bool | None]:
    """Whether a route meets the targets: 5x the peer's throughput, p99 under 50 ms."""
    p99 = None if not ours else ours.get("p99_ms")
    return {
        "throughput_5x": None if times is None else times >= TARGET_RATIO,
        "p99_under_50ms": None if p99 is None else float(p99) < TARGET_P99_MS,
        "no_errors": None if not ours else ours.get("errors") == 0,
    }


def _cell(figures: dict[str, Any] | None) -> str:
    if not figures:
        return f"{'-':>8} {'-':>7} {'-':>7} {'-':>5}"
    return (
        f"{figures['rps']:>8.1f} {figures['p50_ms']:>7.1f} {figures['p99_ms']:>7.1f} "
        f"{figures['errors']:>5}"
    )


def print_table(results: dict[str, dict[str, Any]]) -> None:
    """The figures of both sides, route by route, and the targets met or not."""
    head = f"{'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'err':>5}"
    print()
    print(f"{'route':<7} | {LABELS['ours']:<9} {head} | {LABELS['peer']:<4} {head} | ratio")
    for route, row in results.items():
        times = row.get("ratio")
        shown = "-" if times is None else f"{times:.1f}x"
        print(
            f"{route:<7} | {'':<9} {_cell(row.get('ours'))} | {'':<4} {_cell(row.get('peer'))} "
            f"| {shown}"
        )
    print()
    for route, row in results.items():
        checks = row["targets"]
        words = {True: "met", False: "NOT met", None: "not measured"}
        print(
            f"{route:<7} throughput >= {TARGET_RATIO:g}x peer: {words[checks['throughput_5x']]}; "
            f"p99 < {TARGET_P99_MS:g} ms: {words[checks['p99_under_50ms']]}; "
            f"no errors: {words[checks['no_errors']]}"
        )
    for route, row in results.items():
        for side in SIDES:
            samples = (row.get(side) or {}).get("error_samples") or {}
            for status, sample in samples.items():
                print(f"{route} {LABELS[side]} {status}: {sample}")


def _child_pids(pid: int) -> list[int]:
    """The direct children of a process (a server's workers)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in children]


def main(argv: list[str] | None = None) -> int:
    """Prepare both servers, load each route on each side in turn, print and save the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=100_000, help="reservations seeded per side")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per route")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--peer", type=Path, help="path of fastapi_crud_peer.py (default: none)")
    parser.add_argument(
        "--peer-python", type=Path, help=f"Python to run the peer (default: {PEER_VENV.name})"
    )
    parser.add_argument("--only", choices=SIDES, help="run one side only")
    parser.add_argument("--routes", default=",".join(ROUTES), help="comma-separated subset")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the request pools")
    parser.add_argument("--out", type=Path, default=PROJECT / "bench" / "results" / "api.json")
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    args = parser.parse_args(argv)

    routes = [route for route in args.routes.split(",") if route]
    if unknown := set(routes) - set(ROUTES):
        parser.error(f"unknown routes: {', '.join(sorted(unknown))}")
    notes: list[str] = []
    sides: list[Side] = [args.only] if args.only else list(SIDES)
    if "peer" in sides and args.peer is None:
        if args.only == "peer":
            parser.error("--only peer needs --peer PATH")
        sides.remove("peer")
        notes.append("peer skipped: pass --peer PATH/fastapi_crud_peer.py to compare")
        print(notes[-1])
    if args.peer is not None and not args.peer.is_file():
        parser.error(f"--peer {args.peer}: no such file")

    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    servers: dict[Side, Server] = {}
    seed_secs: dict[str, float] = {}
    peer_ids: list[str] | None = None
    with ExitStack() as cleanup:
        if not args.keep:
            cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        else:
            print(f"keeping {folder}")
        if "peer" in sides:
            python = args.peer_python or ensure_peer_python()
            print(f"seeding the peer with {args.rows} rows", flush=True)
            servers["peer"], peer_ids, seed_secs["peer"] = prepare_peer(
                folder, args.rows, args.peer.resolve(), python
            )
            print(f"  {seed_secs['peer']:.1f} s", flush=True)
        if "ours" in sides:
            print(f"seeding ours with {args.rows} rows", flush=True)
            servers["ours"], seed_secs["ours"] = prepare_ours(folder, args.rows)
            print(f"  {seed_secs['ours']:.1f} s (migration included)", flush=True)
        pools = request_pools(args.rows, peer_ids, args.seed)
        for side, server in servers.items():
            cleanup.callback(server.stop)
            server.start()
            print(f"{LABELS[side]} up at {server.base_url}", flush=True)

        results: dict[str, dict[str, Any]] = {}
        for route in routes:
            row: dict[str, Any] = {}
            for side in (side for side in SIDES if side in servers):
                server = servers[side]
                status, body = server.probe(pools[side][route][0])
                if not 200 <= status < 300:
                    note = f"{route} on {LABELS[side]} not measured: probe got {status} {body}"
                    notes.append(note)
                    print(note, flush=True)
                    continue
                print(f"loading {route} on {LABELS[side]} ...", flush=True)
                row[side] = load(server, pools[side][route], args, folder)
                print(f"  {_cell(row[side])}", flush=True)
            row["ratio"] = ratio(row.get("ours"), row.get("peer"))
            row["targets"] = verdicts(row.get("ours"), row["ratio"])
            results[route] = row

    print_table(results)
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "params": {
            "rows": args.rows,
            "connections": args.connections,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "page": PAGE,
            "max_skip": MAX_SKIP,
            "peer": str(args.peer) if args.peer else None,
        },
        "targets": {"throughput_ratio": TARGET_RATIO, "p99_ms": TARGET_P99_MS},
        "seed_secs": {side: round(secs, 1) for side, secs in seed_secs.items()},
        "results": results,
        "notes": notes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 1 if any("not measured" in note for note in notes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
