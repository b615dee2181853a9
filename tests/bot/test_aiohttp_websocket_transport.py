import asyncio
import json
import time

import aiohttp
import pytest
from pipecat.serializers.plivo import PlivoFrameSerializer

from bot.plivo_call_serializer import PlivoCallSerializer
from tests.bot.plivo_stream_bot import (
    Script,
    drain,
    no_other_tasks,
    played_secs,
    raw_stream,
    rig,
    send_media,
)


@pytest.mark.parametrize("out_rate", [16000, 8000])
async def test_utterances_are_paced_checkpointed_and_the_goodbye_is_not_clipped(
    out_rate: int,
) -> None:
    script = Script(utterances=[0.5, 1.0])
    async with rig(script=script, out_rate=out_rate) as r, r.caller() as caller:
        await caller.start()
        r.api.add_call(caller.call_uuid, on_hangup=caller.remote_hang_up)
        call = await r.wait_done()
        async with asyncio.timeout(3):
            await caller.wait_closed()

    assert call.handler_error is None and call.connected and call.disconnected_at is None
    assert caller.protocol_errors == []
    chunks = caller.playout.chunks
    # Everything sent arrives (decoded from μ-law at 8 kHz) at the length the bot spoke.
    assert sum(c.duration for c in chunks) == pytest.approx(1.5, abs=0.04)

    # The second utterance was queued only once the first was confirmed played.
    bot = call.bot
    assert bot is not None and len(bot.utterance_queued_at) == 2
    second_queued = bot.utterance_queued_at[1]
    first = [c for c in chunks if c.received_at < second_queued]
    second = [c for c in chunks if c.received_at >= second_queued]
    assert sum(c.duration for c in first) == pytest.approx(0.5, abs=0.04)  # padded to 40 ms
    assert [name for _, name in bot.played] == ["cp-1"]
    assert bot.played[0][0] >= first[-1].play_end
    assert second[0].play_start == second[0].received_at  # the line had run dry

    # Each utterance: its first 250 ms go out at once, the rest at about real time.
    for utterance in (first, second):
        first_at = utterance[0].received_at
        head = sum(c.duration for c in utterance if c.received_at - first_at <= 0.05)
        assert head >= 0.25, "the head start did not go out at once"
        span = utterance[-1].received_at - first_at
        total = sum(c.duration for c in utterance)
        assert total - 0.25 - 0.1 <= span <= total + 0.05, f"sent over {span:.3f}s"
    assert caller.underruns == []

    # A checkpoint follows the last audio, and the hang-up waited for it to play.
    events = [e.event for e in caller.events]
    assert events.count("checkpoint") == 2 and events[-1] == "checkpoint"
    hangups = r.api.hangups(caller.call_uuid)
    assert [(h.status, h.authorised) for h in hangups] == [(204, True)]
    last_played = caller.playout.buffer_end
    assert last_played <= hangups[0].at < last_played + 0.3
    assert caller.truncated_secs == 0
    assert call.transport is not None and call.transport.unplayed_secs == 0
    assert r.logs.at("ERROR") == []


async def test_interruption_clears_the_line_and_the_end_does_not_wait_for_cleared_audio() -> None:
    script = Script(utterances=[2.0], interrupt_after=0.5, end_delay=0.2)
    async with rig(script=script) as r, r.caller() as caller:
        await caller.start()
        r.api.add_call(caller.call_uuid, on_hangup=caller.remote_hang_up)
        call = await r.wait_done()

    bot = call.bot
    assert bot is not None and bot.interrupted_at is not None and bot.end_requested_at is not None
    clears = [e for e in caller.events if e.event == "clearAudio"]
    assert len(clears) == 1
    assert clears[0].message["streamId"] == caller.stream_id
    assert clears[0].at - bot.interrupted_at < 0.1
    # Audio stopped at the clear: what went out covers the time until then plus the head start.
    assert sum(c.duration for c in caller.playout.chunks) < 0.5 + 0.25 + 0.15
    assert not any(c.received_at > clears[0].at + 0.05 for c in caller.playout.chunks)
    hangup = r.api.hangups(caller.call_uuid)[0]
    assert hangup.at - bot.end_requested_at < 0.3
    assert r.logs.at("ERROR") == []


async def test_junk_is_dropped_and_counted_without_ending_the_call() -> None:
    junk: list[str | bytes] = [
        "{not json",
        b"\x00\xff\xfe\x80binary junk",
        json.dumps([1, 2, 3]),
        json.dumps({"event": 5}),
        json.dumps({"event": "media", "media": {"payload": "!!not base64*"}}),
        json.dumps({"event": "media", "media": "nope"}),
        json.dumps({"event": "playedStream"}),
        json.dumps({"event": "dtmf", "dtmf": {"digit": "x"}}),
        json.dumps({"event": "mystery", "streamId": "stream-raw-1"}),
        json.dumps({"event": "clearedAudio", "streamId": "stream-raw-1"}),
    ]
    dtmf = json.dumps({"event": "dtmf", "dtmf": {"digit": "5"}})
    async with rig(script=Script(utterances=[0.3]), read_after_start=1) as r:
        ws = await raw_stream(r)
        await ws.send_str(dtmf)  # read by the server after start: handed in as initial_messages
        for message in junk:
            if isinstance(message, bytes):
                await ws.send_bytes(message)
            else:
                await ws.send_str(message)
        receiving = asyncio.create_task(drain(ws))
        sending = asyncio.create_task(send_media(ws))
        call = await r.wait_done()
        received = await receiving
        await sending

    assert call.handler_error is None and call.disconnected_at is None
    assert call.bot is not None and call.bot.dtmf == ["5"]
    assert played_secs(received) == pytest.approx(0.3, abs=0.04)
    assert [m["event"] for m in received][-1] == "checkpoint"
    serializer = call.serializer
    assert isinstance(serializer, PlivoCallSerializer)
    assert serializer.invalid_messages == 8
    assert serializer.ignored_messages == 1
    assert call.transport is not None and call.transport.dropped_messages == 0
    assert len(r.api.hangups("call-raw-1")) == 1
    assert r.logs.at("ERROR") == []


async def test_messages_the_serializer_raises_on_are_dropped_and_counted() -> None:
    def stock(start: dict) -> PlivoFrameSerializer:
        # pipecat's own serializer raises on binary that is not UTF-8.
        params = PlivoFrameSerializer.InputParams(auto_hang_up=False)
        return PlivoFrameSerializer(start["streamId"], params=params)

    async with rig(script=Script(utterances=[0.2]), serializer_factory=stock) as r:
        ws = await raw_stream(r)
        await ws.send_bytes(b"\xff\xfe\x00junk")
        await ws.send_bytes(b"\x80\x81")
        receiving = asyncio.create_task(drain(ws))
        sending = asyncio.create_task(send_media(ws))
        call = await r.wait_done()
        received = await receiving
        await sending

    assert call.transport is not None and call.transport.dropped_messages == 2
    assert played_secs(received) > 0  # (without flush_audio, the resampler keeps the tail)
    assert call.disconnected_at is None and r.logs.at("ERROR") == []


async def test_caller_hanging_up_mid_utterance_ends_the_pipeline_cleanly() -> None:
    async with rig(script=Script(utterances=[3.0])) as r, r.caller() as caller:
        await caller.start()
        async with asyncio.timeout(3):
            await caller.wait_for_bot_audio()
        await asyncio.sleep(0.2)
        hung_up_at = time.monotonic()
        await caller.hang_up()
        call = await r.wait_done()

    assert call.connected and call.disconnected_at is not None
    assert call.handler_error is None
    assert call.finished_at is not None and call.finished_at - hung_up_at < 1.5
    assert r.logs.at("ERROR") == []
    assert not [w for w in r.logs.at("WARNING") if "dangling" in w]
    # The cancel still asks Plivo to hang up, without waiting for any playout.
    assert len(r.api.hangups(caller.call_uuid)) == 1
    assert await no_other_tasks() == []


async def test_an_oversized_message_closes_the_socket_without_crashing() -> None:
    async with rig(script=Script(utterances=[0.2], after_frames=10_000), max_msg_size=8192) as r:
        ws = await raw_stream(r)
        await send_media(ws, 3)
        await ws.send_str(json.dumps({"event": "media", "media": {"payload": "A" * 20_000}}))
        async with asyncio.timeout(3):
            await drain(ws)
        call = await r.wait_done()
        assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG

    assert call.disconnected_at is not None and call.handler_error is None
    assert r.logs.at("ERROR") == []
    assert await no_other_tasks() == []


async def test_session_timeout_fires_its_event() -> None:
    script = Script(utterances=[0.2], end=False)
    params = {"session_timeout": 1}
    async with rig(script=script, transport_params=params) as r, r.caller() as caller:
        await caller.start()
        started = time.monotonic()
        call = await r.wait_done()

    assert call.timed_out_at is not None
    assert call.timed_out_at - started == pytest.approx(1.0, abs=0.2)
    assert call.disconnected_at is None and call.handler_error is None
    assert caller.protocol_errors == [] and r.logs.at("ERROR") == []
