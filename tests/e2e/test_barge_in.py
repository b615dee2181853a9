"""Barge-in: a caller who talks over the bot is heard, and Plivo's queued audio is dropped."""

import asyncio
import time

from store.models import CallOutcome
from tests.e2e.conftest import write_bots
from tests.e2e.test_phone_call import finished_record
from tests.e2e.test_silence import ENGLISH
from tests.fakes.groq_script import Reply
from tests.fakes.voice import synthesize

LONG_ANSWER = "We have tables by the window and in the garden, and both are lovely at night. " * 4
SHORT_ANSWER = "Of course, half past seven then."


async def test_talking_over_the_bot_clears_its_queued_audio_and_gets_an_answer(phone, tmp_path):
    said: list[str] = []

    def transcript(_index: int, _audio: bytes) -> str:
        return said.pop(0) if said else ""

    def conversation(body: dict) -> Reply:
        users = [m for m in body["messages"] if m["role"] == "user"]
        return Reply(LONG_ANSWER) if len(users) == 1 else Reply(SHORT_ANSWER)

    line = await phone(transcript, conversation, bots=write_bots(tmp_path, **ENGLISH))
    async with line.caller() as caller:
        await caller.start()
        async with asyncio.timeout(10):
            await caller.wait_for_bot_audio()
        await caller.wait_until_bot_quiet()
        said.append("I would like to book a table for four tomorrow at eight pm")
        first = await caller.say_utterance("book_table")
        async with asyncio.timeout(15):
            await caller.wait_for_reply(first)
        await asyncio.sleep(1.0)  # a second of the long answer plays, then the caller cuts in
        last_audio = caller.playout.chunks[-1].received_at
        assert time.monotonic() - last_audio < 0.2, "the bot should still be speaking"
        said.append("Make it seven thirty")
        barge = await caller.say_utterance("seven_thirty")
        async with asyncio.timeout(15):
            await caller.wait_for_reply(barge)
        await caller.wait_until_bot_quiet()
        line.plivo.end_call(caller.call_uuid)
        await caller.hang_up()
        record = await finished_record(line.database, caller.call_uuid)

    # Plivo was told to drop the queued audio soon after the caller started talking.
    assert barge.speech_started_at is not None
    clears = [
        e.at
        for e in caller.events
        if e.event == "clearAudio" and e.at > barge.speech_started_at  # not the earlier turn's
    ]
    assert clears, "no clearAudio was sent"
    cleared_after = clears[0] - barge.speech_started_at
    print(f"clearAudio {cleared_after * 1000:.0f} ms after the caller cut in")
    assert 0 < cleared_after < 1.0
    # The long answer stopped there: the caller heard a fraction of it, and no more of it came.
    full = len(synthesize(LONG_ANSWER, 8000)) / 2 / 8000
    sent = sum(
        chunk.duration
        for chunk in caller.playout.chunks
        if first.last_speech_frame_at < chunk.received_at < clears[0]
    )
    resumed = [c for c in caller.playout.chunks if c.received_at > clears[0]]
    print(f"{sent:.1f}s of the {full:.1f}s answer were sent before the caller cut in")
    assert sent < 0.5 * full
    assert resumed and resumed[0].received_at > barge.last_speech_frame_at  # the next answer
    # The caller's words reached the LLM, and its short answer was spoken.
    assert any("seven thirty" in str(m.get("content")) for m in line.llm.requests[-1].messages)
    assert SHORT_ANSWER in " ".join(line.tts.texts)
    # The record shows the bot's turn as interrupted.
    bot_turns = [t for t in record.transcript if t["role"] == "bot"]
    assert any(t.get("interrupted") for t in bot_turns), bot_turns
    assert record.outcome in (CallOutcome.ENQUIRY, CallOutcome.ABANDONED)
