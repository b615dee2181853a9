"""Typed keys for the state the application shares between its handlers."""

from __future__ import annotations

from aiohttp import web

from api.endpoint import Endpoint
from bot.call import CallResources
from bot.call_runner import CallRunner
from bot.config import BusinessRegistry, Settings
from bot.stream_token import StreamTokens
from store.booking import Bookings
from store.db import Database

SETTINGS = web.AppKey("settings", Settings)
BUSINESSES = web.AppKey("businesses", BusinessRegistry)
DATABASE = web.AppKey("database", Database)
BOOKINGS = web.AppKey("bookings", Bookings)
ENDPOINTS = web.AppKey("endpoints", list[Endpoint])
STREAM_TOKENS = web.AppKey("stream_tokens", StreamTokens)
CALL_RUNNER = web.AppKey("call_runner", CallRunner)
CALL_RESOURCES = web.AppKey("call_resources", CallResources)
