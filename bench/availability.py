"""Availability-check latency as the reservation table grows: 1k, 10k, 100k, 1M rows.

Usage: ``python -m bench.availability [--sizes 1000,10000,100000,1000000] [--queries 3000]``.

Each size gets a fresh SQLite database (WAL, migrated like the server's) seeded with
restaurant-shaped data: about 35 reservations per business per day (120-odd covers in a 40-seat
restaurant), businesses and days added as the table grows, so that the rows one check looks at
stay what a real restaurant has. Each query is a random business, day, slot and party size,
timed end to end through ``Bookings.availability`` (the hop to SQLite's reader thread included);
slots that are full also compute their alternatives, and are reported separately.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, insert

from store.booking import Bookings
from store.codes import CODE_ALPHABET
from store.db import Database
from store.migrate import upgrade
from store.models import Reservation
from store.policy import BookingPolicy, OpeningWindow

PER_BUSINESS_DAY = 35
DAYS_PER_BUSINESS = 365
FIRST_DAY = dt.date(2027, 1, 1)
NOW = dt.datetime(2026, 12, 31, 12, tzinfo=dt.UTC)
HOURS = (OpeningWindow(dt.time(12), dt.time(15, 30)), OpeningWindow(dt.time(19), dt.time(23, 30)))


def policy_for(business: str) -> BookingPolicy:
    """A 40-seat restaurant open for lunch and dinner every day, booking a year ahead."""
    return BookingPolicy(
        business_id=business,
        weekly_hours=dict.fromkeys(range(1, 8), HOURS),
        seat_capacity=40,
        max_party_size=10,
        horizon_days=400,
        min_notice_minutes=0,
    )


def slot_starts() -> list[dt.time]:
    """Every bookable start of the day: 12:00-14:30 and 19:00-22:30, on the half hour."""
    starts = []
    for window in HOURS:
        minute = window.opens.hour * 60
        last = window.closes.hour * 60 + window.closes.minute - 60
        while minute <= last:
            starts.append(dt.time(minute // 60, minute % 60))
            minute += 30
    return starts


def layout(size: int) -> tuple[int, int]:
    """How many businesses and days hold ``size`` rows at about 35 per business-day."""
    business_days = max(1, size // PER_BUSINESS_DAY)
    businesses = max(1, math.ceil(business_days / DAYS_PER_BUSINESS))
    return businesses, math.ceil(business_days / businesses)


def seed(path: Path, size: int, rng: random.Random) -> tuple[int, int]:
    """Insert ``size`` confirmed or cancelled reservations with plain executemany batches."""
    businesses, days = layout(size)
    engine = create_engine(f"sqlite:///{path}")
    table = Reservation
    starts = slot_starts()
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, object]] = []
    with engine.begin() as connection:
        for index in range(size):
            business = index % businesses
            day = FIRST_DAY + dt.timedelta(days=(index // businesses) % days)
            rows.append(
                {
                    "code": "".join(rng.choice(CODE_ALPHABET) for _ in range(6)) + str(index),
                    "business_id": f"biz-{business}",
                    "customer_name": "Guest",
                    "customer_phone": None,
                    "party_size": rng.choice((2, 2, 2, 3, 4, 4, 5, 6)),
                    "starts_at": dt.datetime.combine(day, rng.choice(starts)),
                    "duration_minutes": 90,
                    "status": "cancelled" if rng.random() < 0.1 else "confirmed",
                    "source": "phone",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(rows) == 50_000:
                connection.execute(insert(table), rows)
                rows.clear()
        if rows:
            connection.execute(insert(table), rows)
    engine.dispose()
    return businesses, days


async def measure(size: int, queries: int, rng: random.Random) -> dict[str, object]:
    """Seed a fresh database of ``size`` rows and time ``queries`` availability checks."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        began = time.perf_counter()
        businesses, days = seed(path, size, rng)
        seed_secs = time.perf_counter() - began
        bookings = Bookings(db, clock=lambda: NOW)
        policies = [policy_for(f"biz-{b}") for b in range(businesses)]
        starts = slot_starts()

        timings: dict[bool, list[float]] = {True: [], False: []}
        for round_index in range(queries + 200):
            policy = rng.choice(policies)
            day = FIRST_DAY + dt.timedelta(days=rng.randrange(days))
            starts_at = dt.datetime.combine(day, rng.choice(starts))
            party = rng.randint(1, 8)
            began = time.perf_counter()
            answer = await bookings.availability(policy, starts_at, party)
            elapsed = (time.perf_counter() - began) * 1000
            if round_index >= 200:  # the first 200 warm the page cache and the pool
                timings[answer.available].append(elapsed)
        await db.close()

    every = timings[True] + timings[False]
    return {
        "size": size,
        "businesses": businesses,
        "days": days,
        "seed_secs": round(seed_secs, 1),
        "queries": len(every),
        "p50_ms": _percentile(every, 50),
        "p99_ms": _percentile(every, 99),
        "available_p99_ms": _percentile(timings[True], 99),
        "full_share": round(len(timings[False]) / len(every), 3),
        "full_p99_ms": _percentile(timings[False], 99),
    }


def _percentile(values: list[float], percent: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[percent - 1], 3)


def main() -> None:
    """Run every size, print a table, and write the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("bench/results/availability.json"))
    args = parser.parse_args()

    rng = random.Random(args.seed)
    sizes = [int(size) for size in args.sizes.split(",")]
    results = []
    print(
        f"{'rows':>9} {'biz':>4} {'days':>4} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'avail p99':>9} {'full %':>6} {'full p99':>8} {'seed s':>6}"
    )
    for size in sizes:
        result = asyncio.run(measure(size, args.queries, rng))
        results.append(result)
        print(
            f"{size:>9} {result['businesses']:>4} {result['days']:>4} {result['p50_ms']:>7} "
            f"{result['p99_ms']:>7} {result['available_p99_ms']:>9} "
            f"{float(str(result['full_share'])) * 100:>6.1f} {result['full_p99_ms']:>8} "
            f"{result['seed_secs']:>6}"
        )
    first, last = results[0], results[-1]
    growth = float(str(last["p50_ms"])) / float(str(first["p50_ms"]))
    log_growth = math.log(int(str(last["size"]))) / math.log(int(str(first["size"])))
    print(
        f"p50 grew {growth:.2f}x from {first['size']} to {last['size']} rows "
        f"(log n grew {log_growth:.2f}x)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"when": dt.datetime.now(dt.UTC).isoformat(), "results": results}, indent=2)
    )


if __name__ == "__main__":
    main()
