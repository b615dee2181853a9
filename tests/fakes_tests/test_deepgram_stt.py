import base64
import json
from types import SimpleNamespace

import aiohttp
import pytest
from pipecat.frames.frames import (
    ErrorFrame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.serializers.plivo import PlivoFrameSerializer
from pipecat.services.deepgram.stt import DeepgramSTTService

from tests.fakes.audio import load_utterance
from tests.fakes.deepgram_stt import FakeDeepgramListen
from tests.fakes.pcm import resample, silence, ulaw_encode
from tests.fakes_tests.harness import run_until

CHUNK_SECS = 0.02


def audio_frames(pcm: bytes, sample_rate: int, *, mulaw: bool = False) -> list[InputAudioRawFrame]:
    bytes_per_chunk = int(sample_rate * CHUNK_SECS) * 2
    frames = []
    for i in range(0, len(pcm), bytes_per_chunk):
        chunk = pcm[i : i + bytes_per_chunk]
        audio = ulaw_encode(chunk) if mulaw else chunk
        frames.append(InputAudioRawFrame(audio=audio, sample_rate=sample_rate, num_channels=1))
    return frames


def speech(name: str, sample_rate: int, *, lead: float = 0.2, tail: float = 0.2) -> bytes:
    pcm = resample(load_utterance(name), 8000, sample_rate)
    return silence(lead, sample_rate) + pcm + silence(tail, sample_rate)


def transcriptions(frames) -> list[TranscriptionFrame]:
    return [f for f in frames if isinstance(f, TranscriptionFrame)]


def got_transcripts(count: int = 1):
    return lambda down, up: len(transcriptions(down)) >= count


def got_error(down, up) -> bool:
    return any(isinstance(f, ErrorFrame) for f in up)


@pytest.mark.parametrize("sample_rate", [8000, 16000])
async def test_pipecat_linear16_finalize_gives_scripted_transcript(sample_rate: int) -> None:
    async with FakeDeepgramListen(["My name is Ravi"]) as fake:
        stt = DeepgramSTTService(api_key="test", base_url=fake.ws_url, sample_rate=sample_rate)
        frames = [
            *audio_frames(speech("name_ravi", sample_rate), sample_rate),
            VADUserStoppedSpeakingFrame(),
        ]
        down, _ = await run_until(stt, frames, got_transcripts())

    finals = transcriptions(down)
    assert [f.text for f in finals] == ["My name is Ravi"]
    assert finals[0].finalized  # from_finalize confirmed the Finalize pipecat sent
    assert any(isinstance(f, InterimTranscriptionFrame) for f in down)
    conn = fake.connections[0]
    assert conn.query["encoding"] == "linear16"
    assert conn.query["sample_rate"] == str(sample_rate)
    assert conn.query["model"] == "nova-3-general"
    assert conn.query["interim_results"] == "true"
    assert conn.authorization == "Token test"
    assert "Finalize" in conn.control_types
    assert fake.utterances[0].finalized_by == "finalize"


async def test_pipecat_mulaw_encoded_audio_is_decoded() -> None:
    # Pipecat sends frame.audio as-is, so μ-law frames are what encoding="mulaw" implies.
    async with FakeDeepgramListen(["Can I cancel my booking"]) as fake:
        stt = DeepgramSTTService(
            api_key="test", base_url=fake.ws_url, encoding="mulaw", sample_rate=8000
        )
        frames = [
            *audio_frames(speech("cancel_booking", 8000), 8000, mulaw=True),
            VADUserStoppedSpeakingFrame(),
        ]
        down, _ = await run_until(stt, frames, got_transcripts())

    assert [f.text for f in transcriptions(down)] == ["Can I cancel my booking"]
    assert fake.connections[0].query["encoding"] == "mulaw"
    assert 0.9 < fake.utterances[0].end - fake.utterances[0].start < 1.6


async def test_endpointing_without_finalize_and_callable_script() -> None:
    seen: list[tuple[int, int]] = []

    def script(index: int, audio: bytes) -> str:
        seen.append((index, len(audio)))
        return f"utterance {index}"

    async with FakeDeepgramListen(script, endpointing_ms=300) as fake:
        stt = DeepgramSTTService(api_key="test", base_url=fake.base_url, sample_rate=16000)
        pcm = speech("yes_right", 16000, tail=0.5) + speech("thank_you_bye", 16000, tail=0.5)
        down, _ = await run_until(stt, audio_frames(pcm, 16000), got_transcripts(2))

    assert [f.text for f in transcriptions(down)] == ["utterance 0", "utterance 1"]
    assert [u.finalized_by for u in fake.utterances] == ["endpointing", "endpointing"]
    assert all(n > 16000 for _, n in seen)  # each got ~1 s of 16 kHz PCM16


async def test_a_line_finalized_in_two_parts_is_transcribed_with_its_last_part() -> None:
    # A VAD that hears a pause inside a line has its first part finalized, then the rest.
    pcm = load_utterance("book_table")
    head, tail = pcm[: len(pcm) // 3], pcm[len(pcm) // 3 :]
    async with FakeDeepgramListen(["I would like to book a table", "Thank you, bye"]) as fake:
        fake.hear_line(pcm)
        stt = DeepgramSTTService(api_key="test", base_url=fake.ws_url, sample_rate=8000)
        frames = [
            *audio_frames(silence(0.2, 8000) + head + silence(0.1, 8000), 8000),
            VADUserStoppedSpeakingFrame(),
            *audio_frames(tail + silence(0.1, 8000), 8000),
            VADUserStoppedSpeakingFrame(),
            *audio_frames(speech("thank_you_bye", 8000), 8000),  # not announced: next entry
            VADUserStoppedSpeakingFrame(),
        ]
        down, _ = await run_until(stt, frames, got_transcripts(2))

    # The first part's final is empty, and pipecat pushes no frame for it.
    assert [f.text for f in transcriptions(down)] == [
        "I would like to book a table",
        "Thank you, bye",
    ]
    assert [(u.index, u.transcript) for u in fake.utterances] == [
        (0, ""),
        (0, "I would like to book a table"),
        (1, "Thank you, bye"),
    ]


async def test_final_latency_delays_the_final_result() -> None:
    async with FakeDeepgramListen(["Yes, that's right"], final_latency=0.15) as fake:
        stt = DeepgramSTTService(api_key="test", base_url=fake.ws_url, sample_rate=16000)
        frames = [*audio_frames(speech("yes_right", 16000), 16000), VADUserStoppedSpeakingFrame()]
        down, _ = await run_until(stt, frames, got_transcripts())

    assert [f.text for f in transcriptions(down)] == ["Yes, that's right"]
    conn = fake.connections[0]
    finalize_at = next(t for t, kind in conn.controls if kind == "Finalize")
    assert fake.utterances[0].final_sent_at is not None
    assert 0.14 <= fake.utterances[0].final_sent_at - finalize_at < 0.3


async def test_raw_protocol_finalize_with_nothing_pending_and_close_stream_metadata() -> None:
    async with (
        FakeDeepgramListen(["hello there"]) as fake,
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{fake.ws_url}/v1/listen?encoding=linear16&sample_rate=8000&vad_events=true"
            "&utterance_end_ms=1000&interim_results=false"
        ) as ws,
    ):
        await ws.send_str(json.dumps({"type": "Finalize"}))
        empty = json.loads((await ws.receive(timeout=2)).data)
        assert empty["type"] == "Results"
        assert empty["from_finalize"] is True and empty["is_final"] is True
        assert empty["channel"]["alternatives"][0]["transcript"] == ""

        await ws.send_bytes(speech("hello", 8000, tail=1.2))
        started = json.loads((await ws.receive(timeout=2)).data)
        assert started["type"] == "SpeechStarted"
        final = json.loads((await ws.receive(timeout=2)).data)
        assert final["speech_final"] is True and final["from_finalize"] is False
        alt = final["channel"]["alternatives"][0]
        assert alt["transcript"] == "hello there"
        assert [w["word"] for w in alt["words"]] == ["hello", "there"]
        end = json.loads((await ws.receive(timeout=2)).data)
        assert end["type"] == "UtteranceEnd"

        await ws.send_str(json.dumps({"type": "KeepAlive"}))
        await ws.send_str(json.dumps({"type": "CloseStream"}))
        meta = json.loads((await ws.receive(timeout=2)).data)
        assert meta["type"] == "Metadata" and meta["channels"] == 1
        assert meta["duration"] == pytest.approx(0.2 + 1.46 + 1.2, abs=0.05)
        closing = await ws.receive(timeout=2)
        assert closing.type == aiohttp.WSMsgType.CLOSE
    assert fake.connections[0].control_types == ["Finalize", "KeepAlive", "CloseStream"]


async def test_reject_with_401_makes_pipecat_give_up() -> None:
    async with FakeDeepgramListen(reject_with_status=401) as fake:
        stt = DeepgramSTTService(api_key="bad", base_url=fake.ws_url, sample_rate=16000)
        _, up = await run_until(stt, [], got_error)

    errors = [f for f in up if isinstance(f, ErrorFrame)]
    assert errors and "401" in errors[0].error
    assert len(fake.connections) == 1 and not fake.connections[0].accepted


async def test_drop_after_messages_aborts_and_pipecat_reports_it() -> None:
    # Pipecat reconnects only after a backoff of at least 4 s, so this test stops at the error.
    async with FakeDeepgramListen(drop_after_messages=5, faulty_connections=1) as fake:
        stt = DeepgramSTTService(api_key="test", base_url=fake.ws_url, sample_rate=16000)
        frames = audio_frames(silence(0.2, 16000), 16000)
        _, up = await run_until(stt, frames, got_error)
    assert fake.connections[0].dropped
    assert fake.connections[0].received == 5
    assert any(isinstance(f, ErrorFrame) for f in up)


async def test_faulty_connections_limits_failures_to_the_first_ones() -> None:
    url_query = "/v1/listen?encoding=linear16&sample_rate=8000"
    async with (
        FakeDeepgramListen(["one"], drop_after_sent=1, faulty_connections=1) as fake,
        aiohttp.ClientSession() as session,
    ):
        async with session.ws_connect(fake.ws_url + url_query) as ws:
            await ws.send_str(json.dumps({"type": "Finalize"}))
            assert json.loads((await ws.receive(timeout=2)).data)["type"] == "Results"
            assert (await ws.receive(timeout=2)).type in (
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )
        async with session.ws_connect(fake.ws_url + url_query) as ws:
            for _ in range(2):
                await ws.send_str(json.dumps({"type": "Finalize"}))
                assert json.loads((await ws.receive(timeout=2)).data)["from_finalize"] is True
    assert [c.dropped for c in fake.connections] == [True, False]


async def test_audio_through_pipecat_plivo_serializer_is_transcribed() -> None:
    # The inbound path of the real bot: Plivo μ-law 8 kHz -> serializer (16 kHz PCM16) -> STT.
    serializer = PlivoFrameSerializer(
        "stream-1", params=PlivoFrameSerializer.InputParams(auto_hang_up=False)
    )
    await serializer.setup(SimpleNamespace(audio_in_sample_rate=16000))  # type: ignore[arg-type]
    pcm8k = speech("book_table", 8000)
    frames: list[InputAudioRawFrame] = []
    for i in range(0, len(pcm8k), 320):
        payload = base64.b64encode(ulaw_encode(pcm8k[i : i + 320])).decode()
        message = json.dumps({"event": "media", "media": {"payload": payload}})
        frame = await serializer.deserialize(message)
        if isinstance(frame, InputAudioRawFrame):
            frames.append(frame)

    async with FakeDeepgramListen(["I would like to book a table"]) as fake:
        stt = DeepgramSTTService(api_key="test", base_url=fake.ws_url)
        down, _ = await run_until(stt, [*frames, VADUserStoppedSpeakingFrame()], got_transcripts())
    assert [f.text for f in transcriptions(down)] == ["I would like to book a table"]
    assert fake.connections[0].query["sample_rate"] == "16000"  # the pipeline's input rate
    utterance = fake.utterances[0]
    assert utterance.end - utterance.start == pytest.approx(3.46, abs=0.1)
