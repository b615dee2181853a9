"""The command line: ``python -m bot serve`` and friends."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from bot.config import ConfigError, Settings, load_or_exit, load_settings
from bot.logs import configure_logging

LOCAL_COMMANDS = {
    "demo": (
        "bot.demo",
        "a simulated caller phones the bot and books a table, all on this machine",
    ),
    "chat": ("bot.chat", "type as the caller and read the bot's replies"),
    "scenarios": ("bot.scenarios", "run YAML conversation scenarios against the bot"),
    "mic": ("bot.mic", "talk to the bot with this machine's microphone and speakers"),
    "bench": ("bench.commands", "benchmarks of whole calls (bench calls: many calls at once)"),
}
"""Commands that run the bot locally: module (with ``add_arguments`` and ``run``), summary."""


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Vartalaap voice bot")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (webhooks, audio, API)")
    serve.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: PORT or 8080)")
    serve.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes sharing the port (default: one per core)",
    )

    commands.add_parser("check-config", help="validate bots.yaml and the environment")
    for name, (module, summary) in LOCAL_COMMANDS.items():
        importlib.import_module(module).add_arguments(commands.add_parser(name, help=summary))

    args = parser.parse_args(argv)
    settings = _settings_or_exit()
    configure_logging(settings.log_level)
    if args.command in LOCAL_COMMANDS:
        run: int = importlib.import_module(LOCAL_COMMANDS[args.command][0]).run(args, settings)
        return run
    if args.command == "check-config":
        directory = load_or_exit(settings.bots_path)
        print(f"{settings.bots_path}: {len(directory)} businesses: {', '.join(directory.slugs)}")
        return 0
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    from bot.serve import serve as run_server

    return run_server(
        settings, args.host or settings.host, args.port or settings.port, args.workers
    )


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"error: invalid environment\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None
