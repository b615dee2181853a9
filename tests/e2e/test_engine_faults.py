"""Groq, Deepgram STT and Deepgram TTS failing mid-call: the caller hears an apology within 3 s.

Whole calls against the fakes. The latency is the caller's: from their last voiced frame to the
first ``playAudio`` after it, as ``FakePlivoCaller`` measures it.
"""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from processors.apology import APOLOGIES, CLIPS, chime
from store.models import CallLog
from tests.e2e.conftest import write_bots
from tests.e2e.test_phone_call import finished_record
from tests.fakes.groq_script import Failure, Reply
from tests.fakes.plivo_caller import FakePlivoCaller
from tests.fakes.voice import Voice

HEARD_WITHIN = 3.0
APOLOGY = APOLOGIES["en"]
# English first, a short greeting and a quick voice: the calls wait for less bot audio to play.
ENGLISH = {"languages": ["en", "hi"], "greeting": {"en": "Hello, Himalayan Kitchen.", "hi": "Hi."}}
QUICK_VOICE = Voice(secs_per_char=0.012)
HELLO = "Hello"  # what the recorded "hello" says: smart-turn hears a complete turn in it
# (it hears "book_table" as unfinished and waits for more: 0.8 s that these checks would time)
ANSWER = "Of course. For how many people, and on which day?"


@pytest.fixture(autouse=True)
def no_cached_clips():
    """Each call starts with no spoken apology clip in the process."""
    CLIPS.clear()
    yield
    CLIPS.clear()


async def line_up(phone, tmp_path, transcripts, replies, *, tts=None, **stt):
    return await phone(
        transcripts,
        replies,
        bots=write_bots(tmp_path, **ENGLISH),
        tts={"voice": QUICK_VOICE, **(tts or {})},
        **stt,
    )


async def greeted(caller: FakePlivoCaller) -> None:
    await caller.start()
    async with asyncio.timeout(10):
        await caller.wait_for_bot_audio()
    await caller.wait_until_bot_quiet()


async def reply_to(caller: FakePlivoCaller, utterance: str) -> float:
    """Say a recorded utterance; the seconds until the bot's next audio reached the caller."""
    turn = await caller.say_utterance(utterance)
    async with asyncio.timeout(10):
        return await caller.wait_for_reply(turn)


async def hang_up(line: Any, caller: FakePlivoCaller) -> CallLog:
    """Hang up like a caller (whatever the bot is saying) and read the call's record."""
    line.plivo.end_call(caller.call_uuid)
    await caller.hang_up()
    return await finished_record(line.database, caller.call_uuid)


def failures(record: CallLog) -> list[tuple[str, str]]:
    """The watchdog's entries of the CallLog's errors: (source, message)."""
    return [
        (e["source"], e["error"]) for e in record.errors if e["source"] in ("stt", "llm", "tts")
    ]


def bot_lines(record: CallLog) -> list[str]:
    return [turn["text"] for turn in record.transcript if turn["role"] == "bot"]


def first_turn_fails(failure: Failure) -> Callable[[dict[str, Any]], Reply]:
    """Groq fails every attempt at the caller's first turn (the SDK retries), then answers."""

    def reply(body: dict[str, Any]) -> Reply:
        users = [m for m in body["messages"] if m["role"] == "user"]
        return Reply.fail(failure) if len(users) == 1 else Reply(ANSWER)

    return reply


@pytest.mark.parametrize(
    ("failure", "recorded"),
    [
        (Failure.HTTP_500, "llm error: HTTP 500"),
        (Failure.STALL, "llm stall: no reply 2 s after the request"),
    ],
)
async def test_groq_failing_the_first_turn_is_apologised_for_within_3s(
    phone, tmp_path, failure, recorded
):
    line = await line_up(phone, tmp_path, [HELLO], first_turn_fails(failure))
    async with line.caller() as caller:
        await greeted(caller)
        latency = await reply_to(caller, "hello")
        record = await hang_up(line, caller)

    print(f"{failure}: apology heard {latency:.2f}s after the caller stopped")
    assert latency < HEARD_WITHIN
    assert ("llm", recorded) in failures(record)
    # What the caller heard was the spoken clip, synthesised once with the business's voice.
    assert bot_lines(record)[-1] == APOLOGY
    assert line.tts.texts.count(APOLOGY) == 1


async def test_a_groq_request_stuck_once_is_reissued_and_answered_in_time(phone, tmp_path):
    stuck_then_fine = [Reply.fail(Failure.STALL), Reply(ANSWER)]
    line = await line_up(phone, tmp_path, [HELLO], stuck_then_fine)
    async with line.caller() as caller:
        await greeted(caller)
        latency = await reply_to(caller, "hello")
        record = await hang_up(line, caller)

    print(f"stall, then a re-issued request: answer heard {latency:.2f}s after the caller stopped")
    assert latency < HEARD_WITHIN
    assert len(line.llm.requests) == 2  # re-issued once, after 1.5 s without a response
    assert not failures(record)
    assert bot_lines(record)[-1] == ANSWER


async def test_tool_use_failed_is_apologised_for_and_the_next_turn_works(phone, tmp_path):
    line = await line_up(
        phone, tmp_path, [HELLO, "Yes that's right"], first_turn_fails(Failure.TOOL_USE_FAILED)
    )
    async with line.caller() as caller:
        await greeted(caller)
        first = await reply_to(caller, "hello")
        await caller.wait_until_bot_quiet()
        second = await reply_to(caller, "yes_right")
        record = await hang_up(line, caller)

    print(f"tool_use_failed: apology after {first:.2f}s, next answer after {second:.2f}s")
    assert first < HEARD_WITHIN and second < HEARD_WITHIN
    assert ("llm", "llm error: tool_use_failed (HTTP 400)") in failures(record)
    assert bot_lines(record)[-2:] == [APOLOGY, ANSWER]
    # The LLM knows what it offered: the apology is its last word before the caller's answer.
    last = line.llm.requests[-1]
    assert last.roles[-3:] == ["user", "assistant", "user"]
    assert last.messages[-2]["content"] == APOLOGY


async def test_a_dropped_stt_socket_is_apologised_for_recorded_and_recovered(phone, tmp_path):
    line = await line_up(
        phone, tmp_path, [HELLO, HELLO], lambda body: Reply(ANSWER), faulty_connections=1
    )
    async with line.caller() as caller:
        await greeted(caller)
        # Deepgram drops the socket about half a second into the caller's sentence (pipecat
        # sends it ~100 ms of audio a message).
        line.stt.drop_after_messages = line.stt.connections[0].received + 5
        latency = await reply_to(caller, "hello")
        assert line.stt.connections[0].dropped
        async with asyncio.timeout(10):
            await line.stt.wait_for_connections(2)  # pipecat reconnects after its back-off
        await caller.wait_until_bot_quiet()
        again = await reply_to(caller, "hello")
        record = await hang_up(line, caller)

    print(f"STT drop: apology after {latency:.2f}s; after reconnecting, answer after {again:.2f}s")
    assert latency < HEARD_WITHIN
    stt_failures = [message for source, message in failures(record) if source == "stt"]
    assert stt_failures and stt_failures[0].startswith("stt error: ")
    assert APOLOGY in bot_lines(record)
    assert again < HEARD_WITHIN
    assert bot_lines(record)[-1] == ANSWER


async def test_tts_failing_mid_call_plays_the_cached_apology_clip(phone, tmp_path):
    line = await line_up(phone, tmp_path, [HELLO, "Yes"], lambda body: Reply(ANSWER))
    async with line.caller() as caller:
        await greeted(caller)
        turn = await caller.say_utterance("hello", wait=False)
        async with asyncio.timeout(5):
            while not len(CLIPS):  # cached once the caller started speaking
                await asyncio.sleep(0.02)
        line.tts.fail_with_status = 500  # from now on every synthesis fails...
        heard_before = len(caller.playout.chunks)
        async with asyncio.timeout(10):
            latency = await caller.wait_for_reply(turn)
        await caller.wait_until_bot_quiet()
        heard = sum(chunk.duration for chunk in caller.playout.chunks[heard_before:])
        line.tts.fail_with_status = None  # ...until the TTS is back
        again = await reply_to(caller, "yes_right")
        record = await hang_up(line, caller)

    print(f"TTS 500: apology clip ({heard:.2f}s) heard {latency:.2f}s after the caller stopped")
    assert latency < HEARD_WITHIN
    clip_secs = len(QUICK_VOICE.render(APOLOGY, 8000)) / 2 / 8000
    assert abs(heard - clip_secs) < 0.2  # the clip, all of it, and nothing else
    assert ("tts", "tts error: HTTP 500") in failures(record)
    # The recorder notes the TTS's words as the TTS pushes them: it also lists the words of the
    # failed sentence that pipecat pushes anyway ("Of course."), though nobody heard them.
    assert any(line.startswith(APOLOGY) for line in bot_lines(record))
    assert again < HEARD_WITHIN and bot_lines(record)[-1] == ANSWER
    # The LLM's context has the apology, not the words the TTS failed to voice.
    last = line.llm.requests[-1]
    assert last.roles[-3:] == ["user", "assistant", "user"]
    assert last.messages[-2]["content"] == APOLOGY
    assert not caller.protocol_errors


async def test_tts_down_from_the_start_plays_the_chime_instead_of_silence(phone, tmp_path):
    line = await line_up(phone, tmp_path, [], [], tts={"fail_with_status": 500})
    async with line.caller() as caller:
        await caller.start()
        async with asyncio.timeout(5):
            await caller.wait_for_bot_audio()
        await caller.wait_until_bot_quiet()
        heard = sum(chunk.duration for chunk in caller.playout.chunks)
        record = await hang_up(line, caller)

    assert caller.greeting_latency is not None
    print(f"TTS down: chime ({heard:.2f}s) {caller.greeting_latency:.2f}s after the call began")
    assert caller.greeting_latency < HEARD_WITHIN
    assert abs(heard - len(chime(8000)) / 2 / 8000) < 0.1
    assert ("tts", "tts error: HTTP 500") in failures(record)
