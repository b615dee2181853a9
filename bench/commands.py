"""``python -m bot bench ...``: the benchmarks that run whole calls.

``calls`` loads the server with simulated phone calls (see :mod:`bench.calls`). The HTTP API
and availability benchmarks run as ``python -m bench.api`` and ``python -m bench.availability``.
"""

from __future__ import annotations

import argparse

from bot.config import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmarks, one sub-command each."""
    from bench import calls

    benchmarks = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    calls.add_arguments(
        benchmarks.add_parser("calls", help="many simulated phone calls at once: latency, CPU")
    )


def run(args: argparse.Namespace, _settings: Settings) -> int:
    """Run the chosen benchmark; returns the exit status."""
    from bench import calls

    if args.benchmark == "calls":
        return calls.run(args)
    raise AssertionError(f"unknown benchmark {args.benchmark!r}")
