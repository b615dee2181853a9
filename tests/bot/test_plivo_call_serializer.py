import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import cast

import aiohttp
import pytest
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    TTSAudioRawFrame,
)
from pipecat.processors.frame_processor import FrameProcessorSetup

from bot.plivo_call_serializer import PlivoCallSerializer
from frames.playout import PlayoutCheckpointFrame, PlayoutCompleteFrame
from tests.bot.plivo_stream_bot import (
    AUTH_ID,
    AUTH_TOKEN,
    LogCapture,
    Script,
    played_secs,
    raw_stream,
    rig,
    send_media,
    tone,
)
from tests.fakes.plivo_rest import FakePlivoApi

CALL = "5a0b6c1e-call-uuid"
STREAM = "stream-1"


@pytest.fixture
async def api() -> AsyncIterator[FakePlivoApi]:
    async with FakePlivoApi(auth_id=AUTH_ID, auth_token=AUTH_TOKEN, calls=[CALL]) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def serializer_for(
    session: aiohttp.ClientSession | None,
    api_url: str = "http://127.0.0.1:9",
    *,
    rate: int = 8000,
    **params,
) -> PlivoCallSerializer:
    input_params = PlivoCallSerializer.InputParams(sample_rate=rate, **params)
    serializer = PlivoCallSerializer(
        STREAM, CALL, AUTH_ID, AUTH_TOKEN, input_params, session=session, api_url=api_url
    )
    await serializer.setup(cast(FrameProcessorSetup, object()))
    return serializer


def audio(seconds: float, rate: int = 8000) -> OutputAudioRawFrame:
    return OutputAudioRawFrame(tone(seconds, rate), rate, 1)


def ulaw_secs(message: str | bytes | None) -> float:
    assert isinstance(message, str)
    data = json.loads(message)
    assert data["event"] == "playAudio" and data["streamId"] == STREAM
    assert data["media"]["contentType"] == "audio/x-mulaw" and data["media"]["sampleRate"] == 8000
    return len(base64.b64decode(data["media"]["payload"])) / 8000


async def hang_up_delay(serializer: PlivoCallSerializer, api: FakePlivoApi) -> float:
    started = time.monotonic()
    assert await serializer.serialize(EndFrame()) is None
    hangups = api.hangups(CALL)
    assert len(hangups) == 1 and hangups[0].authorised
    return hangups[0].at - started


def test_constructor_needs_a_session_and_credentials_for_hang_up() -> None:
    with pytest.raises(ValueError, match="session"):
        PlivoCallSerializer(STREAM, CALL, AUTH_ID, AUTH_TOKEN)
    with pytest.raises(ValueError, match="auth_token"):
        PlivoCallSerializer(STREAM, CALL, AUTH_ID, session=cast(aiohttp.ClientSession, object()))
    params = PlivoCallSerializer.InputParams(auto_hang_up=False)
    assert PlivoCallSerializer(STREAM, params=params).unplayed_secs == 0


async def test_checkpoint_and_played_stream_round_trip(session: aiohttp.ClientSession) -> None:
    serializer = await serializer_for(session)
    message = await serializer.serialize(PlayoutCheckpointFrame("cp-7"))
    assert isinstance(message, str)
    assert json.loads(message) == {"event": "checkpoint", "streamId": STREAM, "name": "cp-7"}

    for event in ("playedStream", "played"):
        played = json.dumps({"event": event, "streamId": STREAM, "name": "cp-7"})
        frame = await serializer.deserialize(played)
        assert isinstance(frame, PlayoutCompleteFrame) and frame.checkpoint == "cp-7"
    cleared = json.dumps({"sequenceNumber": 9, "event": "clearedAudio", "streamId": STREAM})
    assert await serializer.deserialize(cleared) is None
    assert serializer.invalid_messages == serializer.ignored_messages == 0


async def test_media_and_dtmf_become_frames(session: aiohttp.ClientSession) -> None:
    serializer = await serializer_for(session)
    payload = base64.b64encode(b"\xff" * 160).decode()
    media = json.dumps({"event": "media", "media": {"track": "inbound", "payload": payload}})
    frame = await serializer.deserialize(media)
    assert isinstance(frame, InputAudioRawFrame)
    assert (frame.sample_rate, len(frame.audio), frame.audio.count(0)) == (8000, 320, 320)

    dtmf = json.dumps({"event": "dtmf", "dtmf": {"track": "inbound", "digit": "#"}})
    key = await serializer.deserialize(dtmf)
    assert isinstance(key, InputDTMFFrame) and key.button is KeypadEntry.POUND


async def test_junk_is_counted_and_dropped(session: aiohttp.ClientSession) -> None:
    serializer = await serializer_for(session)
    logs = LogCapture("DEBUG")
    junk: list[str | bytes] = [
        "",
        "{",
        b"\x93\xff binary",
        "null",
        '"text"',
        json.dumps({"no": "event"}),
        json.dumps({"event": ["media"]}),
        json.dumps({"event": "media"}),
        json.dumps({"event": "media", "media": {"payload": 12}}),
        json.dumps({"event": "media", "media": {"payload": "a"}}),
        json.dumps({"event": "played", "name": None}),
        json.dumps({"event": "dtmf", "dtmf": "9"}),
        json.dumps({"event": "dtmf", "dtmf": {"digit": "98765"}}),
        "[" * 100_000,
    ]
    try:
        for message in junk:
            assert await serializer.deserialize(message) is None
        assert await serializer.deserialize(json.dumps({"event": "surprise"})) is None
    finally:
        logs.close()
    assert serializer.invalid_messages == len(junk)
    assert serializer.ignored_messages == 1
    assert all(level == "DEBUG" for level, _ in logs.records)
    assert not any("98765" in text for _, text in logs.records)


async def test_audio_goes_out_as_play_audio_and_unplayed_follows_the_clock(
    session: aiohttp.ClientSession,
) -> None:
    serializer = await serializer_for(session)
    assert serializer.playout_confirmed
    assert ulaw_secs(await serializer.serialize(audio(0.5))) == pytest.approx(0.5)
    assert serializer.unplayed_secs == pytest.approx(0.5, abs=0.02)
    assert not serializer.playout_confirmed
    await asyncio.sleep(0.2)
    assert serializer.unplayed_secs == pytest.approx(0.3, abs=0.03)
    assert ulaw_secs(await serializer.serialize(audio(0.5))) == pytest.approx(0.5)
    assert serializer.unplayed_secs == pytest.approx(0.8, abs=0.03)


async def test_flush_audio_returns_what_the_resampler_held_back(
    session: aiohttp.ClientSession,
) -> None:
    serializer = await serializer_for(session)
    pcm = tone(0.4, 16000)
    step = 1280  # 40 ms at 16 kHz, as the output transport sends it
    sent = 0.0
    for start in range(0, len(pcm), step):
        message = await serializer.serialize(TTSAudioRawFrame(pcm[start : start + step], 16000, 1))
        sent += ulaw_secs(message) if message else 0.0
    assert sent < 0.4 - 0.015  # the resampler keeps the end...
    tail = await serializer.flush_audio()
    assert sent + ulaw_secs(tail) == pytest.approx(0.4, abs=0.001)  # ...until flushed
    assert await serializer.flush_audio() is None

    # An interruption drops what the resampler held: it must not open the next utterance.
    for start in range(0, len(pcm), step):
        await serializer.serialize(TTSAudioRawFrame(pcm[start : start + step], 16000, 1))
    await serializer.serialize(InterruptionFrame())
    assert await serializer.flush_audio() is None


async def test_hang_up_waits_for_the_checkpoint_after_the_goodbye(
    session: aiohttp.ClientSession, api: FakePlivoApi
) -> None:
    serializer = await serializer_for(session, api.base_url)
    await serializer.serialize(audio(1.0))
    await serializer.serialize(PlayoutCheckpointFrame("bye"))

    async def play_out() -> None:
        await asyncio.sleep(0.3)
        await serializer.deserialize(json.dumps({"event": "playedStream", "name": "older"}))
        await asyncio.sleep(0.1)
        await serializer.deserialize(json.dumps({"event": "playedStream", "name": "bye"}))

    player = asyncio.create_task(play_out())
    delay = await hang_up_delay(serializer, api)
    await player
    assert delay == pytest.approx(0.4, abs=0.08)


async def test_without_a_checkpoint_the_hang_up_waits_for_the_clock(
    session: aiohttp.ClientSession, api: FakePlivoApi
) -> None:
    serializer = await serializer_for(session, api.base_url, playout_margin_secs=0.1)
    await serializer.serialize(audio(0.4))
    await serializer.serialize(PlayoutCheckpointFrame("greeting"))
    await serializer.deserialize(json.dumps({"event": "playedStream", "name": "greeting"}))
    await serializer.serialize(audio(0.3))  # the goodbye, after the last checkpoint
    assert await hang_up_delay(serializer, api) == pytest.approx(0.7 + 0.1, abs=0.06)


async def test_the_wait_is_capped(session: aiohttp.ClientSession, api: FakePlivoApi) -> None:
    serializer = await serializer_for(session, api.base_url, max_playout_wait_secs=0.3)
    await serializer.serialize(audio(20.0))
    await serializer.serialize(PlayoutCheckpointFrame("never-answered"))
    assert await hang_up_delay(serializer, api) == pytest.approx(0.3, abs=0.06)


async def test_an_interruption_clears_what_was_waiting_to_play(
    session: aiohttp.ClientSession, api: FakePlivoApi
) -> None:
    serializer = await serializer_for(session, api.base_url)
    await serializer.serialize(audio(5.0))
    await serializer.serialize(PlayoutCheckpointFrame("cut"))
    clear = await serializer.serialize(InterruptionFrame())
    assert isinstance(clear, str)
    assert json.loads(clear) == {"event": "clearAudio", "streamId": STREAM}
    assert serializer.unplayed_secs == 0 and serializer.playout_confirmed
    assert await hang_up_delay(serializer, api) < 0.05


async def test_cancel_hangs_up_at_once_and_only_once(
    session: aiohttp.ClientSession, api: FakePlivoApi
) -> None:
    serializer = await serializer_for(session, api.base_url)
    await serializer.serialize(audio(5.0))
    started = time.monotonic()
    assert await serializer.serialize(CancelFrame()) is None
    assert await serializer.serialize(EndFrame()) is None
    hangups = api.hangups(CALL)
    assert [h.status for h in hangups] == [204]
    assert hangups[0].at - started < 0.05
    assert hangups[0].path == f"/v1/Account/{AUTH_ID}/Call/{CALL}/"


@pytest.mark.parametrize(
    ("api_kwargs", "status", "level"),
    [
        ({"calls": []}, 404, "INFO"),
        ({"calls": [CALL], "fail_with_status": 500}, 500, "ERROR"),
        ({"calls": [CALL], "auth_token": "a-different-token"}, 401, "ERROR"),
    ],
)
async def test_hang_up_answers_are_logged_without_secrets(
    session: aiohttp.ClientSession, api_kwargs: dict, status: int, level: str
) -> None:
    kwargs = {"auth_id": AUTH_ID, "auth_token": AUTH_TOKEN, **api_kwargs}
    logs = LogCapture("INFO")
    try:
        async with FakePlivoApi(**kwargs) as fake:
            serializer = await serializer_for(session, fake.base_url)
            await serializer.serialize(EndFrame())
            assert [r.status for r in fake.hangups(CALL)] == [status]
    finally:
        logs.close()
    hang_up_lines = [(lvl, text) for lvl, text in logs.records if "ang-up" in text]
    assert [lvl for lvl, _ in hang_up_lines] == [level]
    assert not any(AUTH_TOKEN in text or AUTH_ID in text for _, text in logs.records)


async def test_an_unreachable_api_is_logged_not_raised(session: aiohttp.ClientSession) -> None:
    logs = LogCapture("ERROR")
    try:
        serializer = await serializer_for(session, "http://127.0.0.1:9", hang_up_timeout_secs=1)
        assert await serializer.serialize(EndFrame()) is None
    finally:
        logs.close()
    assert logs.at("ERROR") == ["Plivo hang-up request failed: ClientConnectorError"]


async def test_the_goodbye_plays_out_when_checkpoints_are_never_answered() -> None:
    # A line that plays audio but ignores checkpoints: the end of the call goes by the clock.
    async with rig(script=Script(utterances=[0.6])) as r:
        ws = await raw_stream(r)
        sending = asyncio.create_task(send_media(ws))
        arrivals: list[tuple[float, dict]] = []
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                arrivals.append((time.monotonic(), json.loads(msg.data)))
        await sending
        await r.wait_done()

    play_end = 0.0
    for at, message in arrivals:
        if message["event"] == "playAudio":
            play_end = max(play_end, at) + played_secs([message])
    assert played_secs([m for _, m in arrivals]) == pytest.approx(0.6, abs=0.04)
    assert [m["event"] for _, m in arrivals][-1] == "checkpoint"
    hangup = r.api.hangups("call-raw-1")[0]
    assert play_end <= hangup.at <= play_end + 1.2
    assert r.logs.at("ERROR") == []


@pytest.mark.parametrize("end", [EndFrame, CancelFrame])
async def test_a_handed_over_call_is_left_up(
    session: aiohttp.ClientSession, api: FakePlivoApi, end: type
) -> None:
    serializer = await serializer_for(session, api.base_url)
    await serializer.serialize(audio(5.0))  # not waited for either: the call is not ours now
    serializer.keep_call_up()
    assert not serializer.hangs_up
    started = time.monotonic()
    assert await serializer.serialize(end()) is None
    assert time.monotonic() - started < 0.05
    assert api.hangups(CALL) == []


async def test_keep_call_up_can_be_undone(
    session: aiohttp.ClientSession, api: FakePlivoApi
) -> None:
    serializer = await serializer_for(session, api.base_url)
    serializer.keep_call_up()
    serializer.keep_call_up(False)  # the transfer was refused: the bot's goodbye hangs up again
    assert serializer.hangs_up
    await serializer.serialize(EndFrame())
    assert [h.status for h in api.hangups(CALL)] == [204]
