"""The command line: ``python -m bot serve`` and friends."""

from __future__ import annotations

import argparse
import sys

from loguru import logger

from bot.config import BusinessRegistry, ConfigError, Settings, load_or_exit, load_settings
from bot.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Vartalaap voice bot")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (webhooks, audio, API)")
    serve.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: PORT or 8080)")

    commands.add_parser("check-config", help="validate bots.yaml and the environment")

    args = parser.parse_args(argv)
    settings = _settings_or_exit()
    configure_logging(settings.log_level)
    if args.command == "check-config":
        directory = load_or_exit(settings.bots_path)
        print(f"{settings.bots_path}: {len(directory)} businesses: {', '.join(directory.slugs)}")
        return 0
    return _serve(settings, args.host, args.port)


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"error: invalid environment\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    # The CLI is the one place in `bot` that reaches up to `api`: it starts the server.
    from aiohttp import web

    from api.app import create_app

    registry = BusinessRegistry(settings.bots_path, load_or_exit(settings.bots_path))
    app = create_app(settings, registry)
    host = host or settings.host
    port = port or settings.port
    logger.info("serving {} businesses on http://{}:{}", len(registry.current), host, port)
    web.run_app(app, host=host, port=port, access_log=None, print=None)
    return 0
