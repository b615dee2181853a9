"""A closed-loop HTTP load generator: N connections, each sending its next request on an answer.

Usage: ``python -m bench.loadgen PLAN.json`` prints one JSON object of figures on stdout.

The plan names the server's base URL, the headers to send, the connections, the warm-up and
measured seconds, and a pool of requests (method, path, optional JSON body) that the
connections take turns through, in order, starting over when the pool runs out. It runs in a
process of its own so that it never shares an event loop (or a GIL) with the server it loads.

Only requests *sent* during the measured window count; when the window ends no new request
is sent, the ones in flight are waited for and counted, and the throughput is divided by the
time until the last of them answered, so a slow server's long tail is neither lost nor
flattered. Latency is measured from just before the request is written to the end of reading
the body. A non-2xx answer, a connection error or a timeout is an error; answers that arrive
are in the latency figures whatever their status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Call:
    """One request of the pool: ``GET /api/reservations?skip=40&limit=50`` and the like."""

    method: str
    path: str
    body: bytes | None = None


@dataclass(frozen=True)
class Plan:
    """What to send where, how hard and for how long."""

    base_url: str
    calls: list[Call]
    connections: int = 16
    seconds: float = 10.0
    warmup: float = 2.0
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        """Read a plan written by :meth:`to_json`."""
        calls = [
            Call(
                call["method"],
                call["path"],
                None if call.get("json") is None else json.dumps(call["json"]).encode(),
            )
            for call in data["calls"]
        ]
        return cls(
            base_url=data["base_url"],
            calls=calls,
            connections=int(data.get("connections", 16)),
            seconds=float(data.get("seconds", 10.0)),
            warmup=float(data.get("warmup", 2.0)),
            headers=dict(data.get("headers", {})),
            timeout=float(data.get("timeout", 30.0)),
        )

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON-ready data (bodies decoded back to objects)."""
        return {
            "base_url": self.base_url,
            "connections": self.connections,
            "seconds": self.seconds,
            "warmup": self.warmup,
            "headers": self.headers,
            "timeout": self.timeout,
            "calls": [
                {
                    "method": call.method,
                    "path": call.path,
                    "json": None if call.body is None else json.loads(call.body),
                }
                for call in self.calls
            ],
        }


@dataclass
class _Tally:
    """What the connections saw during the measured window."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    warmup_requests: int = 0
    last_answer: float = 0.0

    def note(self, key: str, elapsed: float | None, ended: float, detail: str) -> None:
        """Count one answer (or failure) of the measured window."""
        self.statuses[key] += 1
        if elapsed is not None:
            self.latencies.append(elapsed)
        if not key.startswith("2") and key not in self.samples:
            self.samples[key] = detail[:300]
        self.last_answer = max(self.last_answer, ended)


def percentile(sorted_values: list[float], percent: float) -> float:
    """The nearest-rank percentile of an ascending list, ``nan`` when it is empty."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * percent // 100))  # ceil without floats drifting
    return sorted_values[min(len(sorted_values), int(rank)) - 1]


async def run(plan: Plan) -> dict[str, Any]:
    """Load ``plan.base_url`` with ``plan.connections`` closed loops and return the figures.

    Args:
        plan: The server, the request pool, the concurrency and the durations.

    Returns:
        ``requests``, ``errors``, ``rps``, latency ``p50_ms``/``p90_ms``/``p99_ms``/``max_ms``,
        answers counted by status, and the first body of each kind of error.
    """
    if not plan.calls:
        raise ValueError("the plan has no requests")
    tally = _Tally()
    next_call = 0
    connector = aiohttp.TCPConnector(limit=plan.connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=plan.timeout)
    headers = {"Content-Type": "application/json", **plan.headers}
    async with aiohttp.ClientSession(
        plan.base_url, connector=connector, timeout=timeout, headers=headers
    ) as session:
        began = time.perf_counter()
        measure_from = began + plan.warmup
        stop_at = measure_from + plan.seconds

        async def connection() -> None:
            nonlocal next_call
            while True:
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                call = plan.calls[next_call % len(plan.calls)]
                next_call += 1
                try:
                    async with session.request(call.method, call.path, data=call.body) as answer:
                        body = await answer.read()
                    ended = time.perf_counter()
                    key, elapsed, detail = str(answer.status), ended - sent, ""
                    if not 200 <= answer.status < 300:
                        detail = f"{call.method} {call.path}: {body.decode(errors='replace')}"
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    ended = time.perf_counter()
                    key, elapsed, detail = type(exc).__name__, None, f"{call.path}: {exc!r}"
                if sent < measure_from:
                    tally.warmup_requests += 1
                else:
                    tally.note(key, elapsed, ended, detail)

        await asyncio.gather(*(connection() for _ in range(plan.connections)))

    latencies = sorted(tally.latencies)
    measured = max(stop_at, tally.last_answer) - measure_from
    requests = sum(tally.statuses.values())
    errors = sum(count for key, count in tally.statuses.items() if not key.startswith("2"))
    return {
        "requests": requests,
        "errors": errors,
        "warmup_requests": tally.warmup_requests,
        "seconds": round(measured, 3),
        "rps": round(requests / measured, 1) if measured > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p90_ms": round(percentile(latencies, 90) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else float("nan"),
        "statuses": dict(sorted(tally.statuses.items())),
        "error_samples": tally.samples,
    }


def main(argv: list[str] | None = None) -> None:
    """Read a plan file, run it, print the figures as one line of JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("plan", type=Path, help="a JSON plan, as Plan.to_json writes it")
    args = parser.parse_args(argv)
    plan = Plan.from_json(json.loads(args.plan.read_text()))
    figures = asyncio.run(run(plan))
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
