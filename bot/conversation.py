"""What every conversation with the bot starts from, on the phone or typed.

The caller as far as the store knows them, the language the bot starts in, its greeting, and
the language model (or the local dialogue engine) with the call's prompt and facts: the same
for a phone call (``bot.call``), a typed chat (``bot.chat``) and a scenario
(``bot.scenarios``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from loguru import logger
from pipecat.services.llm_service import LLMService

from bot.config import Business, Settings
from bot.phone import phone_hash
from bot.prompt import Caller, system_prompt
from bot.services import dialogue_facts, llm_service
from store.calls import caller_preferences
from store.db import Database


async def known_caller(
    database: Database, business: Business, caller_number: str | None, call_id: str
) -> Caller:
    """What the store remembers of the caller from earlier calls to ``business``.

    A withheld number gives an unknown caller; a failed look-up gives a caller known only by
    number, because a missing memory must not stop the call.
    """
    if caller_number is None:
        return Caller()
    try:
        known = await caller_preferences(database, business.slug, phone_hash(caller_number))
    except Exception:
        logger.bind(call=call_id).exception("could not read caller preferences")
        known = None
    if known is None:
        return Caller(number_known=True)
    return Caller(
        name=known.name,
        language=known.preferred_language,
        usual_party_size=known.usual_party_size,
        number_known=True,
    )


def call_language(business: Business, caller: Caller) -> str:
    """The language to start in: the caller's from last time if the business speaks it."""
    if caller.language in business.languages:
        return str(caller.language)
    return business.default_language


def greeting(business: Business, caller: Caller, language: str) -> str:
    """The bot's first words, welcoming a returning caller by name."""
    text = business.greeting_for(language)
    if not caller.name:
        return text
    if language == "hi":
        return f"{caller.name} ji, phir se swagat hai! {text}"
    return f"Welcome back, {caller.name}! {text}"


def conversation_llm(
    business: Business,
    settings: Settings,
    caller: Caller,
    *,
    can_transfer: bool,
    language: str,
    clock: Callable[[], dt.datetime],
) -> LLMService[Any]:
    """The call's language model with its system prompt, or the local dialogue engine.

    Args:
        business: The business called.
        settings: Process settings (the Groq key decides the engine, with the business's
            choice).
        caller: What is known of the caller.
        can_transfer: Whether the ``transfer_to_staff`` tool is offered.
        language: The language to start in.
        clock: The current instant (aware).
    """
    return llm_service(
        business,
        settings,
        system_prompt(business, caller, clock()),
        dialogue_facts(business, caller, can_transfer=can_transfer),
        language,
        clock,
    )
