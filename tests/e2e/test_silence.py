"""Silence, the call's time limit and a caller who hangs up: whole calls against the fakes."""

import asyncio
import time

from bot.call import GOODBYES, REPROMPTS, TIME_UP
from bot.config import Business
from store.models import CallOutcome
from tests.e2e.conftest import write_bots
from tests.e2e.test_phone_call import finished_record
from tests.fakes.groq_script import Reply
from tests.fakes.plivo_caller import FakePlivoCaller

GREETING = "Hello, Himalayan Kitchen."
# English first and a short greeting, to keep the calls short.
ENGLISH = {"languages": ["en", "hi"], "greeting": {"en": GREETING, "hi": "Namaste."}}
GAP_SECS = 0.5  # silence between two bot utterances, as the caller hears them


def utterances(caller: FakePlivoCaller) -> list[tuple[float, float]]:
    """When each bot utterance started and stopped playing, as the caller heard it."""
    spans: list[tuple[float, float]] = []
    for chunk in caller.playout.chunks:
        if spans and chunk.play_start - spans[-1][1] < GAP_SECS:
            spans[-1] = (spans[-1][0], chunk.play_end)
        else:
            spans.append((chunk.play_start, chunk.play_end))
    return spans


async def wait_hung_up(caller: FakePlivoCaller, secs: float) -> None:
    """Wait until the stream closed and Plivo reported the hang-up it was asked for."""
    async with asyncio.timeout(secs):
        await caller.wait_closed()
        while caller.hangup_result is None:
            await asyncio.sleep(0.05)


def spoken(texts: list[str]) -> str:
    return " ".join(" ".join(texts).split())


async def test_a_silent_caller_is_asked_again_then_told_goodbye_and_hung_up(phone, tmp_path):
    silence = {"reprompt_secs": 1, "hangup_secs": 2.5, "max_call_secs": 30}
    line = await phone([], [], bots=write_bots(tmp_path, **ENGLISH, silence=silence))
    async with line.caller() as caller:
        await caller.start()
        await wait_hung_up(caller, 25)
        record = await finished_record(line.database, caller.call_uuid)

    # Greeting, one re-prompt after 1 s of silence, the goodbye when the silence reaches 2.5 s
    # (the bot's own re-prompt does not count as silence).
    assert spoken(line.tts.texts) == f"{GREETING} {REPROMPTS['en']} {GOODBYES['en']}"
    spans = utterances(caller)
    assert len(spans) == 3, spans
    greeting, reprompt, goodbye = spans
    first_wait, second_wait = reprompt[0] - greeting[1], goodbye[0] - reprompt[1]
    print(f"silences heard: {first_wait:.2f}s, then {second_wait:.2f}s")
    assert 0.85 <= first_wait <= 1.5
    assert 2.35 <= first_wait + second_wait <= 3.2

    # Hung up once, after the goodbye had played in full.
    assert len(line.plivo.hangups(caller.call_uuid)) == 1
    assert not caller.truncated_secs
    assert caller.hung_up_at is not None and caller.hung_up_at >= goodbye[1] - 0.05
    assert not line.llm.requests

    assert record.outcome is CallOutcome.ABANDONED
    assert record.ended_at is not None and record.caller_number is None


def four_second_limit(business: Business) -> Business:
    # bots.yaml refuses limits under 30 s; the runner takes what it is given.
    silence = business.silence.model_copy(update={"max_call_secs": 4.0})
    return business.model_copy(update={"silence": silence})


async def test_a_call_past_its_time_limit_ends_with_the_time_up_line(phone, tmp_path):
    line = await phone([], [], bots=write_bots(tmp_path, **ENGLISH), edit=four_second_limit)
    async with line.caller() as caller:
        await caller.start()
        await wait_hung_up(caller, 20)
        record = await finished_record(line.database, caller.call_uuid)

    assert spoken(line.tts.texts) == f"{GREETING} {TIME_UP['en']}"
    assert caller.start_sent_at is not None
    spans = utterances(caller)
    assert len(spans) == 2, spans
    time_up = spans[1]
    print(f"time-up line at {time_up[0] - caller.start_sent_at:.2f}s")
    assert 3.8 <= time_up[0] - caller.start_sent_at <= 5.0
    assert len(line.plivo.hangups(caller.call_uuid)) == 1
    assert not caller.truncated_secs
    assert caller.hung_up_at is not None and caller.hung_up_at >= time_up[1] - 0.05
    assert record.outcome is CallOutcome.ABANDONED
    assert record.ended_at is not None


async def test_a_caller_hanging_up_mid_sentence_ends_the_call_at_once(phone, tmp_path):
    long_reply = "We serve momos, thukpa and butter tea, and the shapta is very popular. " * 4
    line = await phone(["Hello"], [Reply(long_reply)], bots=write_bots(tmp_path, **ENGLISH))
    async with line.caller() as caller:
        await caller.start()
        async with asyncio.timeout(10):
            await caller.wait_for_bot_audio()
        await caller.wait_until_bot_quiet()
        turn = await caller.say_utterance("hello")
        async with asyncio.timeout(15):
            await caller.wait_for_reply(turn)
        await asyncio.sleep(1.0)
        line.plivo.end_call(caller.call_uuid)  # what Plivo knows once the caller is gone
        hung_up = time.monotonic()
        await caller.hang_up()
        record = await finished_record(line.database, caller.call_uuid)
        took = time.monotonic() - hung_up

    print(f"record written {took:.2f}s after the hang-up")
    # Mid-sentence: audio was still playing, and most of the reply was never sent.
    assert caller.truncated_secs is not None and caller.truncated_secs > 0
    assert sum(chunk.duration for chunk in caller.playout.chunks) < 0.5 * 0.06 * len(long_reply)
    assert took < 2.0
    assert record.outcome in (CallOutcome.ENQUIRY, CallOutcome.ABANDONED)
    assert record.ended_at is not None and record.caller_number is None
    assert "Hello" in [t["text"] for t in record.transcript if t["role"] == "user"]
    # Nothing was hung up that was not live any more (Plivo would answer 404).
    assert all(h.status in (204, 404) for h in line.plivo.hangups(caller.call_uuid))
