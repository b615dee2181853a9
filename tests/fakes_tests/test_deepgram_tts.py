import json
import time

import aiohttp
import pytest
from pipecat.frames.frames import ErrorFrame, TTSAudioRawFrame, TTSSpeakFrame, TTSStoppedFrame
from pipecat.services.deepgram.tts import DeepgramHttpTTSService, DeepgramTTSService
from pipecat.tests.utils import run_test

from tests.fakes.audio import load_utterance
from tests.fakes.deepgram_tts import FakeDeepgramSpeak
from tests.fakes.pcm import rms, samples, ulaw_decode
from tests.fakes.voice import SECS_PER_CHAR, synthesize
from tests.fakes_tests.harness import run_until


def audio_of(frames) -> bytes:
    return b"".join(f.audio for f in frames if isinstance(f, TTSAudioRawFrame))


async def test_http_service_gets_prerendered_fixture_audio() -> None:
    async with FakeDeepgramSpeak() as fake, aiohttp.ClientSession() as session:
        tts = DeepgramHttpTTSService(
            api_key="test", aiohttp_session=session, base_url=fake.base_url, sample_rate=8000
        )
        down, _ = await run_test(tts, frames_to_send=[TTSSpeakFrame("Yes, that's right")])

    audio = audio_of(down)
    assert audio == load_utterance("yes_right")
    assert all(f.sample_rate == 8000 for f in down if isinstance(f, TTSAudioRawFrame))
    record = fake.requests[0]
    assert (record.text, record.transport, record.encoding) == (
        "Yes, that's right",
        "http",
        "linear16",
    )
    assert record.model == "aura-2-helena-en"
    assert fake.authorizations == ["Token test"]


async def test_http_service_synthetic_audio_grows_with_text() -> None:
    short, long = "Okay.", "Your table for four is booked for eight tonight."
    async with FakeDeepgramSpeak() as fake, aiohttp.ClientSession() as session:
        tts = DeepgramHttpTTSService(
            api_key="test", aiohttp_session=session, base_url=fake.base_url, sample_rate=16000
        )
        down_short, _ = await run_test(tts, frames_to_send=[TTSSpeakFrame(short)])
    async with FakeDeepgramSpeak() as fake, aiohttp.ClientSession() as session:
        tts = DeepgramHttpTTSService(
            api_key="test", aiohttp_session=session, base_url=fake.base_url, sample_rate=16000
        )
        down_long, _ = await run_test(tts, frames_to_send=[TTSSpeakFrame(long)])

    secs_short = len(audio_of(down_short)) / 2 / 16000
    secs_long = len(audio_of(down_long)) / 2 / 16000
    assert secs_long == pytest.approx(len(long) * SECS_PER_CHAR, rel=0.1)
    assert secs_short < secs_long
    assert rms(audio_of(down_long)) > 1000  # audible


async def test_websocket_service_streams_audio_and_flushes() -> None:
    text = "Hello from the websocket voice."
    async with FakeDeepgramSpeak() as fake:
        tts = DeepgramTTSService(api_key="test", base_url=fake.ws_url, sample_rate=16000)
        down, _ = await run_until(
            tts, [TTSSpeakFrame(text)], lambda d, u: any(isinstance(f, TTSStoppedFrame) for f in d)
        )

    audio = audio_of(down)
    assert len(audio) / 2 / 16000 == pytest.approx(len(text) * SECS_PER_CHAR, rel=0.1)
    assert fake.requests[0].transport == "ws"
    assert fake.requests[0].text.strip() == text
    kinds = [m["type"] for _, m in fake.ws_messages]
    assert kinds[0] == "Speak" and "Flush" in kinds
    assert kinds[-1] == "Close"


async def test_first_byte_latency_and_realtime_pacing() -> None:
    text = "A sentence of about two seconds long, give or take."
    fake = FakeDeepgramSpeak(first_byte_latency=0.15, realtime_factor=10, chunk_ms=100)
    async with fake, aiohttp.ClientSession() as session:
        started = time.monotonic()
        async with session.post(
            f"{fake.base_url}/v1/speak",
            params={
                "model": "m",
                "encoding": "linear16",
                "sample_rate": "8000",
                "container": "none",
            },
            json={"text": text},
        ) as resp:
            audio = await resp.read()
    record = fake.requests[0]
    assert record.first_byte_at is not None and record.finished_at is not None
    assert 0.14 <= record.first_byte_at - started < 0.3
    secs = len(audio) / 2 / 8000
    assert (secs - 0.1) / 10 - 0.02 <= record.finished_at - record.first_byte_at < secs / 10 + 0.15


async def test_raw_websocket_protocol_clear_and_mulaw() -> None:
    fake = FakeDeepgramSpeak(realtime_factor=1.0)  # slow enough to interrupt
    async with (
        fake,
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{fake.ws_url}/v1/speak?model=m&encoding=mulaw&sample_rate=8000") as ws,
    ):
        meta = json.loads((await ws.receive(timeout=2)).data)
        assert meta["type"] == "Metadata" and meta["model_name"] == "m"
        await ws.send_str(json.dumps({"type": "Speak", "text": "This will be cut off early."}))
        first = await ws.receive(timeout=2)
        assert first.type == aiohttp.WSMsgType.BINARY
        assert len(first.data) == 800  # 100 ms of 8 kHz μ-law
        await ws.send_str(json.dumps({"type": "Clear"}))
        while (msg := await ws.receive(timeout=2)).type == aiohttp.WSMsgType.BINARY:
            pass
        assert json.loads(msg.data) == {"type": "Cleared", "sequence_id": 1}

        await ws.send_str(json.dumps({"type": "Speak", "text": "Okay."}))
        await ws.send_str(json.dumps({"type": "Flush"}))
        received = b""
        while (msg := await ws.receive(timeout=3)).type == aiohttp.WSMsgType.BINARY:
            received += msg.data
        assert json.loads(msg.data) == {"type": "Flushed", "sequence_id": 2}
        pcm = ulaw_decode(received)
        expected = synthesize("Okay.", 8000)
        assert len(pcm) == len(expected)
        assert abs(int(samples(pcm).max()) - int(samples(expected).max())) < 400
        await ws.send_str(json.dumps({"type": "Close"}))
        assert (await ws.receive(timeout=2)).type == aiohttp.WSMsgType.CLOSE
    assert fake.requests[0].cleared
    assert [r.text for r in fake.requests] == ["This will be cut off early.", "Okay."]


async def test_http_failure_and_container_default() -> None:
    async with (
        FakeDeepgramSpeak(fail_with_status=503, faulty_requests=1) as fake,
        aiohttp.ClientSession() as session,
    ):
        url = f"{fake.base_url}/v1/speak"
        async with session.post(url, params={"sample_rate": "8000"}, json={"text": "x"}) as r:
            assert r.status == 503
        async with session.post(url, params={"sample_rate": "8000"}, json={"text": "Hi."}) as r:
            body = await r.read()
            assert r.status == 200
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"  # linear16 defaults to a WAV container


async def test_pipecat_surfaces_http_errors() -> None:
    async with (
        FakeDeepgramSpeak(fail_with_status=500) as fake,
        aiohttp.ClientSession() as session,
    ):
        tts = DeepgramHttpTTSService(api_key="t", aiohttp_session=session, base_url=fake.base_url)
        _, up = await run_test(tts, frames_to_send=[TTSSpeakFrame("Hello.")])
    assert any(isinstance(f, ErrorFrame) and "500" in f.error for f in up)
