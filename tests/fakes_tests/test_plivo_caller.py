import asyncio
import json
import time
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from pipecat.frames.frames import InputAudioRawFrame, InterruptionFrame, OutputAudioRawFrame
from pipecat.serializers.plivo import PlivoFrameSerializer

from tests.fakes.audio import load_utterance
from tests.fakes.plivo_caller import FakePlivoCaller
from tests.fakes.plivo_rest import FakePlivoApi
from tests.fakes_tests.stream_server import StreamServer, play_audio, tone

AUTH_ID = "MAFAKEACCOUNT0000001"
AUTH_TOKEN = "secret-token"


def caller_for(server: StreamServer, **kwargs) -> FakePlivoCaller:
    return FakePlivoCaller(server.base_url, auth_id=AUTH_ID, auth_token=AUTH_TOKEN, **kwargs)


def sent(server: StreamServer, event: str) -> list[dict]:
    return [m for _, m in server.log.received if m["event"] == event]


async def test_call_flow_greeting_checkpoint_turn_latency_and_hangup() -> None:
    async with (
        StreamServer(AUTH_TOKEN, greeting_secs=0.4, reply_delay=0.1) as server,
        caller_for(server, fast=True) as caller,
    ):
        await caller.start()
        assert caller.stream is not None and caller.stream.bidirectional
        assert caller.stream.extra_headers == "botId=demo"
        async with asyncio.timeout(2):
            await caller.wait_for_bot_audio()
        assert caller.greeting_latency is not None and caller.greeting_latency < 0.2

        # playedStream comes once the 0.4 s greeting has played out in real time
        played = None
        for _ in range(100):
            played = next(iter(sent(server, "playedStream")), None)
            if played:
                break
            await asyncio.sleep(0.02)
        assert played is not None and played["name"] == "hi"
        played_at = next(t for t, m in server.log.received if m["event"] == "playedStream")
        first_audio = caller.playout.chunks[0]
        assert 0.38 <= played_at - first_audio.received_at < 0.55

        turn = await caller.say(load_utterance("name_ravi"))
        async with asyncio.timeout(3):
            latency = await caller.wait_for_reply(turn)
        assert 0.1 <= latency < 0.35
        async with asyncio.timeout(3):
            await caller.wait_until_bot_quiet(quiet_for=0.1)
        result = await caller.hang_up()

    assert result is not None and result.status == 200
    start = server.log.start
    assert start is not None
    assert start["sequenceNumber"] == 1
    assert start["start"]["callId"] == caller.call_uuid
    assert start["start"]["accountId"] == AUTH_ID
    assert start["start"]["tracks"] == ["inbound"]
    assert start["start"]["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000}
    assert start["extra_headers"] == "botId=demo"
    media = sent(server, "media")
    assert all(len(m["media"]["payload"]) == 216 for m in media)  # 160 bytes, base64
    assert [m["media"]["chunk"] for m in media[:3]] == [1, 2, 3]
    assert [m["media"]["timestamp"] for m in media[:3]] == ["0", "20", "40"]
    sequence = [m["sequenceNumber"] for _, m in server.log.received]
    assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence)
    answer_params = server.log.webhooks[0][1]
    assert answer_params["Direction"] == "inbound" and answer_params["CallStatus"] == "ringing"
    hangup_path, hangup_params, hangup_valid = server.log.webhooks[-1]
    assert hangup_path == "/plivo/hangup" and hangup_valid
    assert hangup_params["CallStatus"] == "completed"
    assert hangup_params["HangupCause"] == "NORMAL_CLEARING"
    assert int(hangup_params["Duration"]) >= 1 and int(hangup_params["BillDuration"]) == 60
    assert len(caller.bot_audio) == round((0.4 + 0.3) * 8000) * 2
    assert caller.protocol_errors == []


async def test_real_time_pacing_of_media_frames() -> None:
    async with StreamServer(AUTH_TOKEN) as server, caller_for(server) as caller:
        await caller.start()
        await asyncio.sleep(0.5)
        frames = sent(server, "media")
    assert 22 <= len(frames) <= 27


async def test_clear_audio_drops_playout_and_releases_checkpoints() -> None:
    async with StreamServer(AUTH_TOKEN, greeting_secs=2.0) as server:
        async with caller_for(server) as caller:
            await caller.start()
            async with asyncio.timeout(2):
                await caller.wait_for_bot_audio()
            await asyncio.sleep(0.2)
            ws = next(iter(server._websockets))
            await ws.send_str(json.dumps({"event": "clearAudio", "streamId": caller.stream_id}))
            await asyncio.sleep(0.1)
            assert caller.playout.remaining(time.monotonic()) == 0
            assert caller.playout.chunks[0].cleared_at is not None
            cleared = sent(server, "clearedAudio")
            played = sent(server, "playedStream")
    assert cleared and cleared[0]["streamId"] == caller.stream_id
    assert played and played[0]["name"] == "hi"  # released early by the clear


async def test_underrun_is_detected_in_a_gappy_reply() -> None:
    server = StreamServer(AUTH_TOKEN, greeting_secs=0.1, reply_secs=0.4, gap_in_reply=0.15)
    async with server, caller_for(server, fast=True) as caller:
        await caller.start()
        async with asyncio.timeout(2):
            await caller.wait_for_bot_audio()
            await caller.wait_until_bot_quiet(quiet_for=0.1)
        turn = await caller.say(load_utterance("yes_right"))
        async with asyncio.timeout(3):
            await caller.wait_for_reply(turn)
        async with asyncio.timeout(3):
            await caller.wait_until_bot_quiet(quiet_for=0.4)
    assert len(caller.underruns) == 1
    assert 0.1 <= caller.underruns[0].gap < 0.3


async def test_api_hangup_closes_the_stream_and_measures_truncation() -> None:
    async with (
        StreamServer(AUTH_TOKEN, greeting_secs=1.0) as server,
        FakePlivoApi(auth_id=AUTH_ID, auth_token=AUTH_TOKEN) as api,
        caller_for(server) as caller,
    ):
        await caller.start()
        api.add_call(caller.call_uuid, on_hangup=caller.remote_hang_up)
        async with asyncio.timeout(2):
            await caller.wait_for_bot_audio()
        async with (
            aiohttp.ClientSession() as session,
            session.delete(
                f"{api.base_url}/v1/Account/{AUTH_ID}/Call/{caller.call_uuid}/",
                headers={"Authorization": aiohttp.encode_basic_auth(AUTH_ID, AUTH_TOKEN)},
            ) as resp,
        ):
            assert resp.status == 204
        async with asyncio.timeout(2):
            await caller.wait_closed()
        for _ in range(50):
            if caller.hangup_result is not None:
                break
            await asyncio.sleep(0.02)
    assert caller.truncated_secs is not None and 0.7 < caller.truncated_secs <= 1.0
    assert caller.hangup_result is not None and caller.hangup_result.status == 200
    assert caller.hangup_result.params["HangupSource"] == "API Request"
    with pytest.raises(ConnectionError, match="the stream is closed"):
        await caller.say(b"\x00\x00" * 160)  # refused at once rather than never sent


async def test_default_content_type_is_l16_and_bad_play_audio_is_flagged() -> None:
    async with StreamServer(AUTH_TOKEN, content_type=None) as server, caller_for(server) as caller:
        await caller.start()
        assert caller.stream is not None
        assert caller.stream.content_type == "audio/x-l16;rate=8000"
        await asyncio.sleep(0.1)
        media = sent(server, "media")
        ws = next(iter(server._websockets))
        await ws.send_str(play_audio("some-other-stream", tone(0.1)))
        await asyncio.sleep(0.1)
    assert server.log.start is not None
    assert server.log.start["start"]["mediaFormat"]["encoding"] == "audio/x-l16"
    assert len(media[0]["media"]["payload"]) == 428  # 320 bytes of PCM16, base64
    assert any("unknown streamId" in e for e in caller.protocol_errors)


async def test_interop_with_pipecat_plivo_serializer() -> None:
    inbound: list[InputAudioRawFrame] = []

    class SerializerBot(StreamServer):
        async def _stream(self, request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            self.track_websocket(ws)
            serializer: PlivoFrameSerializer | None = None
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                self.log.received.append((time.monotonic(), data))
                if data["event"] == "start":
                    start = data["start"]
                    serializer = PlivoFrameSerializer(
                        start["streamId"],
                        start["callId"],
                        params=PlivoFrameSerializer.InputParams(auto_hang_up=False),
                    )
                    await serializer.setup(SimpleNamespace(audio_in_sample_rate=16000))  # type: ignore[arg-type]
                    # 8 kHz output, as the pipeline should produce: no resampler delay.
                    out = OutputAudioRawFrame(audio=tone(0.3), sample_rate=8000, num_channels=1)
                    await ws.send_str(str(await serializer.serialize(out)))
                elif serializer is not None:
                    frame = await serializer.deserialize(msg.data)
                    if isinstance(frame, InputAudioRawFrame):
                        inbound.append(frame)
                    if data["event"] == "media" and data["media"]["chunk"] == 10:
                        await ws.send_str(str(await serializer.serialize(InterruptionFrame())))
            self.untrack_websocket(ws)
            return ws

    async with SerializerBot(AUTH_TOKEN) as server, caller_for(server) as caller:
        await caller.start()
        async with asyncio.timeout(2):
            await caller.wait_for_bot_audio()
        await asyncio.sleep(0.35)
    assert caller.protocol_errors == []
    assert caller.playout.chunks[0].duration == pytest.approx(0.3, abs=0.01)
    # The serializer upsamples 8 kHz μ-law to 16 kHz PCM16 through a streaming resampler, which
    # holds some audio back, so frames are not one-to-one with media events.
    assert inbound and all(f.sample_rate == 16000 for f in inbound)
    expected = 640 * len(sent(server, "media"))
    assert 0.5 * expected <= sum(len(f.audio) for f in inbound) <= expected
    assert [e.event for e in caller.events] == ["playAudio", "clearAudio"]
    assert sent(server, "clearedAudio")


async def test_hang_up_mid_sentence_closes_the_stream_and_wakes_the_speaker() -> None:
    async with StreamServer(AUTH_TOKEN) as server, caller_for(server) as caller:
        await caller.start()
        speaking = asyncio.create_task(caller.say(load_utterance("book_table")))
        await asyncio.sleep(0.5)
        result = await caller.hang_up()
        turn = await asyncio.wait_for(speaking, 1)
        assert turn.last_speech_frame_at is None  # cut off before the end
        with pytest.raises(ConnectionError):
            await caller.wait_for_reply(turn)
        await asyncio.sleep(0.1)
    assert result is not None and result.params["HangupSource"] == "Caller"
    media = sent(server, "media")
    assert 20 <= len(media) <= 30  # about 0.5 s of a 3.5 s utterance went out
    assert caller.server_closed_at is None and caller.hung_up_at is not None
