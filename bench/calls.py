"""Many phone calls at once: a load and latency benchmark of the whole call path.

Usage: ``python -m bot bench calls [--calls N | --sweep 1,10,25,50] [--turns 3] [--json FILE]``.

Each simulated caller does what Plivo does (signed answer webhook, one-time token, websocket)
and streams recorded speech as 20 ms μ-law frames at real-time pace, turn after turn, waiting
for the bot's answer to play out before speaking again; the bot's last answer ends the call.
The server runs as a child process (``python -m bot serve``) with the production engines
pointed at local fakes that inject production-like latency (Deepgram STT final 150 ms after
speech ends, Groq's first token after 200 ms then 40 tokens/s, Deepgram TTS first audio after
150 ms), so that its CPU and memory can be sampled from its pid (and its workers'). The
fakes and callers run in this process.

Per call and overall it reports: turn latency (the caller's last voiced frame to the first
``playAudio`` back) p50/p95/p99; turns that waited out the end-of-turn model's fallback
timeout, counted apart (they make latency bimodal and hide load effects); greeting latency
(stream start to first ``playAudio``); playout underruns (gaps over 40 ms in the bot's audio
while it speaks); calls that failed; server CPU (% of one core) and resident memory, total and
per active call. ``--sweep`` runs each N in turn and names the largest that meets the targets.
``--peer PATH`` runs each level against the stock pipecat Plivo bot too (``pipecat_plivo_peer.py``,
in ``.venv-peers``, created on first use), right after ours, and prints the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.api import ensure_peer_python
from bench.loadgen import percentile
from bot.simulated_caller import SimulatedCaller, SimulatedPlivoApi

ROOT = Path(__file__).resolve().parents[1]
BUSINESS_NUMBER = "911140847730"  # Himalayan Kitchen in the shipped bots.yaml
LINES = ("hello", "book_table", "name_ravi", "yes_right", "thank_you_bye")
"""The recorded fixtures a caller says, in order (the last one says goodbye)."""
FALLBACK_SECS = 2.5
"""A turn this slow waited out the end-of-turn model's fallback rather than its verdict."""
TARGET_TURN_P95_MS = 1000.0
TARGET_GREETING_P95_MS = 1000.0
PEER_BOT_REQUIREMENTS = (
    "pipecat-ai[deepgram,groq,silero,websocket]==1.14.0",
    "fastapi==0.165.0",
    "uvicorn==0.55.0",
)
"""What the stock pipecat Plivo bot (the peer) was verified with."""
CLIENT_BUSY_PERCENT = 80.0
"""Above this much CPU the load generator's own event loop may be late."""


@dataclass(frozen=True)
class Latencies:
    """What the engines' fakes add, in seconds (tokens per second for the LLM's stream)."""

    stt_final: float = 0.15
    llm_first_token: float = 0.2
    llm_tokens_per_second: float = 40.0
    tts_first_byte: float = 0.15


@dataclass
class CallResult:
    """One simulated call's figures."""

    index: int
    turn_ms: list[float] = field(default_factory=list)
    fallback_turns: int = 0
    greeting_ms: float | None = None
    underruns: int = 0
    error: str | None = None


@dataclass
class RunReport:
    """One load level's figures."""

    calls: int
    seconds: float
    turn_ms: dict[str, float | None]
    fallback_turns: int
    answered_turns: int
    greeting_ms: dict[str, float | None]
    underruns: int
    failed_calls: int
    server_cpu_percent: float
    server_rss_mb: float
    server_rss_mb_per_call: float | None
    client_cpu_percent: float = 0.0
    server: str = "vartalaap"
    errors: list[str] = field(default_factory=list)

    @property
    def client_busy(self) -> bool:
        """Whether the load generator itself was near one core (one Python process)."""
        return self.client_cpu_percent > CLIENT_BUSY_PERCENT

    @property
    def meets_targets(self) -> bool:
        """Whether this level holds: every call worked, no underrun, latency in budget."""
        turn, greeting = self.turn_ms.get("p95"), self.greeting_ms.get("p95")
        return (
            self.failed_calls == 0
            and self.underruns == 0
            and turn is not None
            and turn <= TARGET_TURN_P95_MS
            and greeting is not None
            and greeting <= TARGET_GREETING_P95_MS
        )


def _figures(values: Sequence[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    return {
        "p50": round(percentile(ordered, 50), 1),
        "p95": round(percentile(ordered, 95), 1),
        "p99": round(percentile(ordered, 99), 1),
        "max": round(ordered[-1], 1),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ProcessSampler:
    """CPU time and resident memory of a process and its children, from ``/proc``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _tree(self) -> list[int]:
        pids, index = [self.pid], 0
        while index < len(pids):
            children = Path(f"/proc/{pids[index]}/task/{pids[index]}/children")
            with contextlib.suppress(OSError):
                pids.extend(int(p) for p in children.read_text().split())
            index += 1
        return pids

    def cpu_seconds(self) -> float:
        """User plus system CPU seconds used so far by the tree."""
        total = 0
        for pid in self._tree():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / self._ticks

    def rss_mb(self) -> float:
        """Resident memory of the tree, in MB."""
        total = 0
        for pid in self._tree():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        return total * self._page / 1e6


class Stack:
    """The fakes in this process and the server in a child process, on loopback."""

    def __init__(
        self,
        latencies: Latencies,
        workers: int = 1,
        turns: int = 3,
        peer: tuple[Path, Path] | None = None,
    ) -> None:
        from tests.fakes.deepgram_stt import FakeDeepgramListen
        from tests.fakes.deepgram_tts import FakeDeepgramSpeak
        from tests.fakes.groq_llm import FakeGroq

        self.auth_id = "MA" + secrets.token_hex(9).upper()
        self.auth_token = secrets.token_urlsafe(24)
        self.workers = workers
        self.stt = FakeDeepgramListen(transcript_of, final_latency=latencies.stt_final)
        self.peer = peer  # (its Python, its script): the stock pipecat bot in our place
        self.llm = FakeGroq(
            functools.partial(peer_reply if peer else conversation_reply, turns=turns),
            first_token_latency=latencies.llm_first_token,
            tokens_per_second=latencies.llm_tokens_per_second,
        )
        self.tts = FakeDeepgramSpeak(first_byte_latency=latencies.tts_first_byte)
        self.plivo = SimulatedPlivoApi(auth_id=self.auth_id, auth_token=self.auth_token)
        self.url = ""
        self.process: asyncio.subprocess.Process | None = None
        self._scratch = tempfile.TemporaryDirectory(prefix="vartalaap-bench-")

    async def __aenter__(self) -> Stack:
        for fake in (self.stt, self.llm, self.tts, self.plivo):
            await fake.start()
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{self._scratch.name}/bench.db",
            "BOTS_PATH": str(ROOT / "bots.yaml"),
            "DEEPGRAM_API_KEY": "bench-deepgram-key",
            "GROQ_API_KEY": "bench-groq-key",
            "DEEPGRAM_URL": self.stt.base_url,
            "DEEPGRAM_TTS_URL": self.tts.base_url,
            "GROQ_URL": self.llm.openai_base_url,
            "PLIVO_API_URL": self.plivo.base_url,
            "PLIVO_AUTH_ID": self.auth_id,
            "PLIVO_AUTH_TOKEN": self.auth_token,
            "PUBLIC_BASE_URL": self.url,
            "ADMIN_TOKEN": secrets.token_urlsafe(24),
            "LOG_LEVEL": "WARNING",
            "CONFIG_WATCH_SECS": "0",
            "PYTHONPATH": str(ROOT),
        }
        command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(self.workers)]
        if self.peer is not None:
            python, script = self.peer
            command = [str(python), str(script.resolve()), "--host", "127.0.0.1"]
            command += ["--port", str(port)]
            env |= {
                "PEER_DEEPGRAM_STT_URL": self.stt.base_url,
                "PEER_DEEPGRAM_TTS_URL": self.tts.base_url,
                "PEER_GROQ_URL": self.llm.openai_base_url,
                "PEER_LOG_LEVEL": "WARNING",
            }
        self.process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=self._scratch.name
        )
        await self._wait_healthy()
        return self

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.returncode is not None:
                    raise RuntimeError(f"the server exited with status {self.process.returncode}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/health") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise RuntimeError("the server did not answer /health within 60 s")

    async def __aexit__(self, *_exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                async with asyncio.timeout(20):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        for fake in (self.stt, self.llm, self.tts, self.plivo):
            await fake.stop()
        self._scratch.cleanup()

    def caller(self, index: int, session: aiohttp.ClientSession) -> SimulatedCaller:
        """A caller with its own number, whose hang-up by the bot reaches it."""
        caller = SimulatedCaller(
            self.url,
            auth_id=self.auth_id,
            auth_token=self.auth_token,
            from_number=f"9198{index:08d}",
            to_number=BUSINESS_NUMBER,
            session=session,
        )
        self.plivo.add_call(caller.call_uuid, on_hangup=caller.remote_hang_up)
        return caller


def transcript_of(_index: int, audio: bytes) -> str:
    """What a caller said: the text of the line whose recording is nearest the audio in length.

    The fake STT hears many calls at once, so the order of what it hears says nothing; the
    length does, near enough (the turn decision reads the words: see
    ``processors.worded_turn_stop``). The lines the bench speaks differ in length except
    "My name is Ravi" and "Thank you, bye", whose words serve the turn decision alike.
    """
    from tests.fakes.audio import UTTERANCES, load_utterance

    nearest = min(LINES, key=lambda name: abs(len(load_utterance(name)) - len(audio)))
    return UTTERANCES[nearest]


def peer_reply(body: dict[str, Any], turns: int = 3) -> Any:
    """The fake LLM's side of a call to the peer: the same replies, in text.

    The peer has one tool (``book_table``) and none to check a table or end the call, so the
    reply that would check availability says the table is free, and the caller hangs up after
    the last answer.
    """
    from tests.fakes.groq_script import Reply

    turn = sum(1 for m in body["messages"] if m["role"] == "user")
    if turn >= turns:
        return Reply("Thank you for calling. Goodbye!")
    if turn == 1:
        return Reply("Yes, this is Himalayan Kitchen. How can I help you today?")
    if turn == 2:
        return Reply("A table for four is free then. May I have a name for the booking?")
    return Reply("Thank you. Shall I book the table for four at eight?")


def conversation_reply(body: dict[str, Any], turns: int = 3) -> Any:
    """The fake LLM's side of every call, chosen by how far the conversation has got.

    Turn 1 answers; turn 2 checks availability and then offers the table; the turns between
    get short answers; turn ``turns`` (the caller's goodbye) and any later one end the call.
    """
    import datetime as dt

    from tests.fakes.groq_script import Reply

    messages = body["messages"]
    if messages[-1]["role"] == "tool":
        result = json.loads(messages[-1]["content"])
        if "available" in result:
            return Reply("A table for four is free then. May I have a name for the booking?")
        return Reply(f"Done. Your booking code is {result.get('code', '')}. Anything else?")
    turn = sum(1 for m in messages if m["role"] == "user")
    day = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    if turn >= turns:
        return Reply.call("end_call", farewell="Thank you for calling. Goodbye!")
    if turn == 1:
        return Reply("Yes, this is Himalayan Kitchen. How can I help you today?")
    if turn == 2:
        return Reply.call("check_availability", date=day, time="20:00", party_size=4)
    return Reply("Thank you. Shall I book the table for four at eight?")


async def one_call(
    stack: Stack, index: int, speech: Sequence[bytes], session: aiohttp.ClientSession
) -> CallResult:
    """Place one call, say every line after the bot's answer, and measure it."""
    result = CallResult(index)
    caller = stack.caller(index, session)
    try:
        await caller.start()
        async with asyncio.timeout(30):
            await caller.wait_for_bot_audio()
        for line in speech:
            async with asyncio.timeout(90):
                await caller.wait_until_bot_quiet(quiet_for=0.5)
            if not caller.connected:
                break
            turn = await caller.say(line)
            async with asyncio.timeout(30):
                await caller.wait_for_reply(turn)
        if stack.peer is not None:  # it cannot hang up: the caller does, once it has heard it
            async with asyncio.timeout(90):
                await caller.wait_until_bot_quiet(quiet_for=0.5)
            await caller.hang_up(send_webhook=False)  # it has no hangup webhook either
        async with asyncio.timeout(30):
            await caller.wait_closed()
    except (TimeoutError, ConnectionError, aiohttp.ClientError) as exc:
        result.error = f"call {index}: {type(exc).__name__}: {exc}"
    finally:
        await caller.close()
    latencies = [t.latency for t in caller.turns if t.latency is not None]
    result.turn_ms = [round(s * 1000, 1) for s in latencies if s < FALLBACK_SECS]
    result.fallback_turns = sum(1 for s in latencies if s >= FALLBACK_SECS)
    if caller.greeting_latency is not None:
        result.greeting_ms = round(caller.greeting_latency * 1000, 1)
    result.underruns = len(caller.underruns)
    return result


async def run_level(stack: Stack, calls: int, turns: int, stagger: float) -> RunReport:
    """Run ``calls`` calls at once (started ``stagger`` seconds apart) and report them."""
    from tests.fakes.audio import load_utterance

    speech = [load_utterance(name) for name in (*LINES[: max(1, turns - 1)], LINES[-1])]
    assert stack.process is not None
    sampler = ProcessSampler(stack.process.pid)
    cpu_before, started = sampler.cpu_seconds(), time.monotonic()
    client_before = time.process_time()  # the callers and fakes, in this process
    peak_rss = sampler.rss_mb()
    done = asyncio.Event()

    async def watch_memory() -> None:
        nonlocal peak_rss
        while not done.is_set():
            peak_rss = max(peak_rss, sampler.rss_mb())
            await asyncio.sleep(0.5)

    async def staggered(index: int, session: aiohttp.ClientSession) -> CallResult:
        await asyncio.sleep(index * stagger)
        return await one_call(stack, index, speech, session)

    idle_rss = peak_rss
    watcher = asyncio.create_task(watch_memory())
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        results = await asyncio.gather(*(staggered(i, session) for i in range(calls)))
    done.set()
    await watcher
    seconds = time.monotonic() - started
    cpu = (sampler.cpu_seconds() - cpu_before) / seconds * 100
    client_cpu = (time.process_time() - client_before) / seconds * 100
    turn_ms = [ms for r in results for ms in r.turn_ms]
    greetings = [r.greeting_ms for r in results if r.greeting_ms is not None]
    return RunReport(
        calls=calls,
        seconds=round(seconds, 1),
        turn_ms=_figures(turn_ms),
        fallback_turns=sum(r.fallback_turns for r in results),
        answered_turns=len(turn_ms) + sum(r.fallback_turns for r in results),
        greeting_ms=_figures(greetings),
        underruns=sum(r.underruns for r in results),
        failed_calls=sum(1 for r in results if r.error),
        server_cpu_percent=round(cpu, 1),
        server_rss_mb=round(peak_rss, 1),
        server_rss_mb_per_call=round((peak_rss - idle_rss) / calls, 1) if calls else None,
        client_cpu_percent=round(client_cpu, 1),
        server="peer" if stack.peer is not None else "vartalaap",
        errors=[r.error for r in results if r.error][:10],
    )


def table(reports: Sequence[RunReport]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| server | calls | turn p50 / p95 / p99 ms | fallback turns | greeting p95 ms | underruns "
        "| failed | server CPU | RSS MB (per call) | load generator CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        t = r.turn_ms
        lines.append(
            f"| {r.server} | {r.calls} | {t['p50']} / {t['p95']} / {t['p99']} "
            f"| {r.fallback_turns} of {r.answered_turns} | {r.greeting_ms['p95']} "
            f"| {r.underruns} | {r.failed_calls} | {r.server_cpu_percent:.0f} % "
            f"| {r.server_rss_mb:.0f} ({r.server_rss_mb_per_call}) "
            f"| {r.client_cpu_percent:.0f} %{' (busy)' if r.client_busy else ''} |"
        )
    if any(r.client_busy for r in reports):
        lines.append(
            f"(busy: the callers and fakes used over {CLIENT_BUSY_PERCENT:.0f} % of a core, so "
            "they may have been late themselves; those figures understate the server)"
        )
    return "\n".join(lines)


def ratios(reports: Sequence[RunReport]) -> list[str]:
    """Per level run against both, the peer's figures over ours (above 1: ours are better)."""

    def over(theirs: float | None, ours: float | None) -> str:
        return f"{theirs / ours:.1f}x" if theirs and ours else "-"

    lines = []
    for ours in (r for r in reports if r.server == "vartalaap"):
        peer = next((r for r in reports if r.server == "peer" and r.calls == ours.calls), None)
        if peer is None:
            continue
        lines.append(
            f"peer / vartalaap at {ours.calls} calls: turn p50 "
            f"{over(peer.turn_ms['p50'], ours.turn_ms['p50'])}, p95 "
            f"{over(peer.turn_ms['p95'], ours.turn_ms['p95'])} (fallback turns "
            f"{peer.fallback_turns} vs {ours.fallback_turns}), greeting p95 "
            f"{over(peer.greeting_ms['p95'], ours.greeting_ms['p95'])}, underruns "
            f"{peer.underruns} vs {ours.underruns}, CPU "
            f"{over(peer.server_cpu_percent, ours.server_cpu_percent)}, memory per call "
            f"{over(peer.server_rss_mb_per_call, ours.server_rss_mb_per_call)}"
        )
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``bench calls`` options."""
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--calls", type=int, default=1, help="concurrent calls (default 1)")
    size.add_argument(
        "--sweep", metavar="N,N,...", help="run each number of calls in turn, e.g. 1,10,25,50"
    )
    parser.add_argument(
        "--turns", type=int, default=3, help="caller lines per call, goodbye included (default 3)"
    )
    parser.add_argument(
        "--stagger", type=float, default=0.1, help="seconds between call starts (default 0.1)"
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--peer",
        type=Path,
        metavar="PATH",
        help="also run every level against this peer (pipecat_plivo_peer.py), for ratios",
    )
    parser.add_argument(
        "--peer-python",
        type=Path,
        help="Python to run the peer (default: .venv-peers, created with pipecat 1.14)",
    )
    parser.add_argument("--stt-latency", type=float, default=Latencies.stt_final)
    parser.add_argument("--llm-latency", type=float, default=Latencies.llm_first_token)
    parser.add_argument("--tts-latency", type=float, default=Latencies.tts_first_byte)


def levels(args: argparse.Namespace) -> list[int]:
    """The numbers of calls to run.

    Raises:
        ValueError: A number that is not a positive integer.
    """
    raw = args.sweep.split(",") if args.sweep else [str(args.calls)]
    counts = []
    for item in raw:
        if not item.strip().isdigit() or int(item) < 1:
            raise ValueError(f"not a positive number of calls: {item.strip()!r}")
        counts.append(int(item))
    return counts


async def bench(args: argparse.Namespace) -> list[RunReport]:
    """Run every level against one server, printing each as it finishes."""
    latencies = Latencies(args.stt_latency, args.llm_latency, 40.0, args.tts_latency)
    reports = []
    servers: list[tuple[Path, Path] | None] = [None]
    if args.peer is not None:
        python = args.peer_python or ensure_peer_python(PEER_BOT_REQUIREMENTS, ".bench-bot")
        servers.append((python, args.peer))
    for calls in levels(args):  # each level against each server in turn, for fair ratios
        for peer in servers:
            stack = Stack(latencies, workers=args.workers, turns=args.turns, peer=peer)
            async with stack:
                report = await run_level(stack, calls, args.turns, args.stagger)
            reports.append(report)
            print(table([report]).splitlines()[-1], flush=True)
            for error in report.errors:
                print(f"    {error}", flush=True)
    return reports


def run(args: argparse.Namespace) -> int:
    """``python -m bot bench calls``: 0 when the runs complete (whatever their figures)."""
    from bot.logs import configure_logging

    try:
        levels(args)
    except ValueError as exc:
        print(f"error: --sweep: {exc}", file=sys.stderr)
        return 2
    if args.turns < 1 or args.workers < 1:
        print("error: --turns and --workers must be at least 1", file=sys.stderr)
        return 2
    configure_logging("ERROR")
    print(table([]).splitlines()[0])
    print(table([]).splitlines()[1], flush=True)
    reports = asyncio.run(bench(args))
    holding = [r.calls for r in reports if r.meets_targets and r.server == "vartalaap"]
    for line in ratios(reports):
        print(line)
    print(
        f"Largest load meeting the targets (turn and greeting p95 <= 1 s, no underrun, no "
        f"failure): {max(holding) if holding else 'none'} calls"
    )
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0
