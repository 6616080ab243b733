"""Playing simulated voice-engine traffic to the exporter over HTTP, in (optionally compressed) real time."""

from __future__ import annotations

import heapq
import itertools
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import requests

from voice_monitoring.exporter.simulator.profiles import (
    END_REASONS,
    FEEDBACK_DELAY_SECONDS,
    FEEDBACK_SHARE,
    FEEDBACK_SOURCES,
    KINDS,
    MATRIX,
    NEGATIVE_AT_RANDOM,
    NEGATIVE_OTHERWISE,
    NEGATIVE_WHEN_FAULTED,
    PROVIDERS,
    SCENARIOS,
    TENANTS,
    TRAFFIC_MIX,
    WORKERS,
    Kind,
    Provider,
)

HEARTBEAT_SECONDS = 5.0
BATCH_SECONDS = 0.1

# A call script yields (seconds since the call started, event type, attrs, envelope extras).
Step = tuple[float, str, dict[str, Any], dict[str, Any]]
# A step waiting to be played: (when, tie-breaker, the script's origin, step, the rest of its script).
_Due = tuple[float, int, float, Step, Iterator[Step]]

T = TypeVar("T")


def _pick(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    return rng.choices([name for name, _ in weighted], [weight for _, weight in weighted])[0]


class Simulator:
    """Drives an exporter with calls, heartbeats and faults.

    ``fault`` may be changed while ``run`` plays: every step generated after
    the change sees the new fault, as an engine would when a provider degrades.
    ``fault_share`` is the share of the provider's calls a fault touches (chosen by call id).

    With ``feedback`` "faults", three calls in four are rated a little after they end, negatively on most calls
    a fault callers feel touched and on a few others (noise); with "random", negatively at the same rate
    whatever happened.  ``felt`` keeps the ids of the calls a felt fault touched.
    """

    def __init__(
        self,
        url: str,
        seed: int = 1,
        speed: float = 1.0,
        token: str | None = None,
        feedback: str | None = None,
        fault_share: float = 1.0,
    ):
        if feedback not in (None, "faults", "random"):
            raise ValueError(f"feedback is faults, random or None, not {feedback!r}")
        self.url = url.rstrip("/") + "/v1/events"
        self.rng = random.Random(seed)
        self.seed = seed
        self.speed = speed
        self.fault: str | None = None
        self.affected: set[str] = set()
        self.felt: set[str] = set()
        self.feedback = feedback
        self.fault_share = fault_share
        self.rated: dict[str, bool] = {}  # call id -> whether its simulated rating is negative
        self.played: list[str] = []  # ids of every call this simulator has started
        self.sent = 0
        self.errors: list[str] = []
        self._session = requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self._ids = itertools.count(1)
        self._run = uuid.uuid4().hex[:6]  # ids differ between runs; the traffic itself follows the seed
        self._stop = threading.Event()

    # --- public API ----------------------------------------------------------------

    def run(self, duration: float, calls: int = 10, scenario: str | None = None) -> set[str]:
        """Keep ``calls`` calls going for ``duration`` wall seconds (0: until ``stop()``).

        Returns the ids of calls the fault touched.
        """
        if scenario is not None:
            self.set_fault(scenario)
        start = time.monotonic()
        queue: list[_Due] = []
        seq = itertools.count()
        live = [0]

        def add_call() -> None:
            kind = KINDS[_pick(self.rng, TRAFFIC_MIX)]
            provider = self.rng.choice(list(PROVIDERS))
            duration_s = self.rng.uniform(0.6, 2.0) * kind.duration
            call_id = f"sim-{self._run}-{next(self._ids):06d}"
            script = self._call_script(call_id, provider, kind, duration_s, f"{self.seed}-{self.rng.random()}")
            self._push(queue, seq, time.monotonic(), script)
            live[0] += 1

        for _ in range(calls):
            add_call()
        heartbeat = self._heartbeats()
        self._push(queue, seq, time.monotonic(), heartbeat)
        ended_before = [0]

        def on_end() -> None:
            live[0] -= 1
            ended_before[0] += 1
            if not self._stop.is_set() and (duration == 0 or time.monotonic() - start < duration):
                add_call()

        self._play(
            queue,
            seq,
            until=lambda: self._stop.is_set() or (duration and time.monotonic() - start >= duration),
            on_call_end=on_end,
        )
        return set(self.affected)

    def play_scenario(self, name: str, calls: int = 10, duration: float = 60.0) -> set[str]:
        """Normal traffic with fault ``name`` throughout; returns the affected call ids."""
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
        self.affected = set()
        try:
            return self.run(duration, calls, scenario=name)
        finally:
            self.set_fault(None)

    def play_matrix(self) -> dict[str, tuple[str, int]]:
        """The seed plan's validation matrix for both providers; returns once every call has ended."""
        expected: dict[str, tuple[str, int]] = {}
        queue: list[_Due] = []
        seq = itertools.count()
        now = time.monotonic()
        for kind_name, minimum in MATRIX:
            for provider in PROVIDERS:
                call_id = f"matrix-{provider}-{kind_name}-{self._run}"
                expected[call_id] = (kind_name, minimum)
                kind = KINDS[kind_name]
                script = self._call_script(
                    call_id, provider, kind, kind.duration, f"{self.seed}-{provider}-{kind_name}"
                )
                self._push(queue, seq, now, script)
        self._play(queue, seq, until=lambda: self._stop.is_set())
        return expected

    def generate(self, calls: int) -> list[dict[str, Any]]:
        """The events of ``calls`` whole calls, in play order, without sending or waiting (for benchmarks)."""
        queue: list[_Due] = []
        seq = itertools.count()
        for _ in range(calls):
            kind = KINDS[_pick(self.rng, TRAFFIC_MIX)]
            call_id = f"sim-{self._run}-{next(self._ids):06d}"
            script = self._call_script(
                call_id, self.rng.choice(list(PROVIDERS)), kind, kind.duration, f"{self.seed}-{self.rng.random()}"
            )
            self._push(queue, seq, 0.0, script)
        out: list[dict[str, Any]] = []
        while queue:
            _, _, origin, step, script = heapq.heappop(queue)
            out.append(self._event(step))
            self._push(queue, seq, origin, script)
        return out

    def set_fault(self, name: str | None) -> None:
        if name is not None and name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
        self.fault = name

    def stop(self) -> None:
        self._stop.set()

    # --- the player ----------------------------------------------------------------

    def _push(self, queue: list[_Due], seq: Iterator[int], origin: float, script: Iterator[Step]) -> None:
        step = next(script, None)
        if step is not None:
            heapq.heappush(queue, (origin + step[0] / self.speed, next(seq), origin, step, script))

    def _play(
        self,
        queue: list[_Due],
        seq: Iterator[int],
        until: Callable[[], object],
        on_call_end: Callable[[], None] | None = None,
    ) -> None:
        batch: list[dict[str, Any]] = []
        while queue and not until():
            due = queue[0][0]
            now = time.monotonic()
            if due > now:
                self._flush(batch)
                time.sleep(min(due - now, BATCH_SECONDS))
                continue
            _, _, origin, step, script = heapq.heappop(queue)
            batch.append(self._event(step))
            if step[1] == "call.ended" and on_call_end is not None:
                self._push(queue, seq, origin, script)
                on_call_end()
            else:
                self._push(queue, seq, origin, script)
            if len(batch) >= 500:
                self._flush(batch)
        self._flush(batch)

    def _event(self, step: Step) -> dict[str, Any]:
        _, etype, attrs, extra = step
        event = {"type": etype, "ts": time.time(), "id": f"{self._run}-{next(self._ids)}", **extra}
        if attrs:
            event["attrs"] = attrs
        return event

    def _flush(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        try:
            response = self._session.post(self.url, json=batch, timeout=10)
            if response.status_code != 200:
                self.errors.append(f"{response.status_code}: {response.text[:300]}")
        except requests.RequestException as exc:
            self.errors.append(str(exc))
        self.sent += len(batch)
        batch.clear()

    # --- scripts -------------------------------------------------------------------

    def _heartbeats(self) -> Iterator[Step]:
        t = 0.0
        rng = self.rng
        while True:
            for worker in WORKERS:
                memory = rng.uniform(0.35, 0.6)
                if self.fault == "memory_pressure" and worker == "worker-1":
                    memory = rng.uniform(0.9, 0.95)
                yield (
                    t,
                    "health",
                    {
                        "worker": worker,
                        "memory_ratio": round(memory, 3),
                        "cpu_ratio": round(rng.uniform(0.2, 0.6), 3),
                        "active_calls": rng.randint(2, 8),
                    },
                    {},
                )
            for provider in PROVIDERS.values():
                for service in ("stt", "llm", "tts") if provider.pipeline == "cascade" else ("llm",):
                    down = self.fault == "provider_outage" and provider.name == "deepgram" and service == "stt"
                    yield t, "health", {"service": service, "up": not down}, {"provider": provider.name}
                    broken = (
                        self.fault in ("circuit_breaker_open", "provider_outage")
                        and provider.name == "deepgram"
                        and service == "stt"
                    )
                    yield (
                        t,
                        "health",
                        {"breaker": f"{provider.name}_{service}", "breaker_state": "open" if broken else "closed"},
                        {},
                    )
            t += HEARTBEAT_SECONDS

    def _faulty(self, call_id: str, provider: Provider, *names: str) -> bool:
        if self.fault in names and provider.name == SCENARIOS[self.fault].provider:
            if self.fault_share < 1.0 and random.Random(call_id).random() >= self.fault_share:
                return False
            self.affected.add(call_id)
            if SCENARIOS[self.fault].felt:
                self.felt.add(call_id)
            return True
        return False

    def _rating(self, rng: random.Random, call_id: str) -> dict[str, Any] | None:
        """The feedback attrs of an ended call, or None when the caller does not rate it."""
        if self.feedback is None or rng.random() >= FEEDBACK_SHARE:
            return None
        if self.feedback == "random":
            negative = rng.random() < NEGATIVE_AT_RANDOM
        else:
            negative = rng.random() < (NEGATIVE_WHEN_FAULTED if call_id in self.felt else NEGATIVE_OTHERWISE)
        source, scale = _pick(rng, [((s, sc), w) for s, sc, w in FEEDBACK_SOURCES])
        if scale == "thumbs":
            rating = 0 if negative else 1
        else:  # stars and csat: 1-2 negative, 3-5 not
            rating = rng.randint(1, 2) if negative else rng.choice((3, 4, 4, 5, 5))
        self.rated[call_id] = negative
        return {"scale": scale, "rating": rating, "source": source}

    def _call_script(
        self, call_id: str, provider_name: str, kind: Kind, duration: float, script_seed: str
    ) -> Iterator[Step]:
        rng = random.Random(script_seed)
        provider = PROVIDERS[provider_name]
        tenant = rng.choice(TENANTS)
        transport = "webrtc" if rng.random() < 0.2 else "audiosocket"
        codec = "opus" if transport == "webrtc" else "pcmu"
        scope = {"call_id": call_id}
        self.played.append(call_id)
        yield (
            0.0,
            "call.started",
            {"transport": transport, "codec": codec},
            {**scope, "tenant": tenant, "provider": provider.name, "pipeline": provider.pipeline},
        )
        yield 0.0, "state", {"state": "greeting", "audio_capture": True, "tts_gating": True}, scope
        base_level = rng.uniform(-24, -18)
        t = rng.uniform(2.0, 3.0)  # greeting
        tokens_context = 400
        ended_reason = None
        while t < duration:
            yield t, "state", {"state": "listening", "tts_gating": False}, scope
            user = rng.uniform(*kind.user_speech)
            t += user
            if provider.pipeline == "cascade":
                yield (
                    t,
                    "usage",
                    {"service": "stt", "unit": "audio_seconds", "quantity": round(user, 2)},
                    {**scope, "provider": provider.vendors["stt"][0]},
                )
            yield t, "state", {"state": "processing"}, scope
            if self._faulty(call_id, provider, "provider_outage"):
                yield t, "error", {"component": "stt", "kind": "timeout", "service": "stt"}, scope
                if rng.random() < 0.5:
                    ended_reason = "stt provider error"
                    break
            turn = self._turn(rng, call_id, provider, kind)
            t += turn["latency_seconds"]
            agent = rng.uniform(*kind.agent_speech)
            interrupted = rng.random() < kind.barge_in_chance
            if interrupted:
                agent *= rng.uniform(0.3, 0.7)
                turn["interrupted"] = True
            turn["agent_speech_seconds"] = round(agent, 3)
            yield t, "turn", turn, scope
            yield t, "state", {"state": "speaking", "tts_gating": True}, scope
            yield from self._usage(t, rng, call_id, provider, agent, tokens_context, scope)
            tokens_context += rng.randint(60, 160)
            yield t + agent / 2, "audio", self._audio(rng, call_id, provider, kind, base_level, agent), scope
            yield t + agent / 2, "transport", self._transport(rng, kind, codec, agent + user), scope
            if interrupted:
                yield (
                    t + agent,
                    "interruption",
                    {"kind": "barge_in", "reaction_seconds": round(rng.uniform(0.22, 0.42), 3)},
                    scope,
                )
            elif rng.random() < kind.false_interruption_chance:
                yield t + agent / 3, "interruption", {"kind": "false_interruption"}, scope
            t += agent
        if ended_reason is None:
            ended_reason = _pick(rng, END_REASONS)
        t = min(t, max(duration, t))
        yield (
            t,
            "usage",
            {"service": "transport", "unit": "minutes", "quantity": round(t / 60, 3)},
            {**scope, "provider": "twilio"},
        )
        if provider.reports_cost:
            yield (
                t,
                "cost",
                {"service": "llm", "usd": round(0.06 * t / 60 + rng.uniform(0, 0.01), 4)},
                {**scope, "provider": provider.vendors["llm"][0]},
            )
        yield t, "call.ended", {"duration_seconds": round(t, 2), "reason": ended_reason}, scope
        rating = self._rating(rng, call_id)
        if rating is not None:
            yield t + rng.uniform(*FEEDBACK_DELAY_SECONDS), "feedback", rating, scope

    def _turn(self, rng: random.Random, call_id: str, provider: Provider, kind: Kind) -> dict[str, float]:
        def jitter(median: float) -> float:
            return round(median * math.exp(rng.gauss(0, 0.18)), 4)

        llm = provider.llm_ttft + kind.llm_extra
        if self._faulty(call_id, provider, "latency_spike"):
            llm *= 6
        parts = {"endpointing_seconds": jitter(provider.endpointing), "llm_ttft_seconds": jitter(llm)}
        if provider.stt is not None:
            parts["stt_seconds"] = jitter(provider.stt)
            if self._faulty(call_id, provider, "provider_outage"):
                parts["stt_seconds"] = round(rng.uniform(2.5, 4.5), 4)
        if provider.tts_ttfb is not None:
            parts["tts_ttfb_seconds"] = jitter(provider.tts_ttfb)
        latency = sum(parts.values()) + jitter(provider.network)
        parts["latency_seconds"] = round(latency, 4)
        parts["stt_to_tts_seconds"] = round(parts["llm_ttft_seconds"] + parts.get("tts_ttfb_seconds", 0.0), 4)
        return parts

    def _usage(
        self,
        t: float,
        rng: random.Random,
        call_id: str,
        provider: Provider,
        agent: float,
        tokens_context: int,
        scope: dict[str, Any],
    ) -> Iterator[Step]:
        llm_vendor, model = provider.vendors["llm"]
        tokens_in = tokens_context
        if self._faulty(call_id, provider, "cost_spike"):
            model, tokens_in = "gpt-4o", tokens_context * 40
        yield (
            t,
            "usage",
            {"service": "llm", "unit": "tokens_in", "quantity": tokens_in},
            {**scope, "provider": llm_vendor, "model": model},
        )
        yield (
            t,
            "usage",
            {"service": "llm", "unit": "tokens_out", "quantity": rng.randint(30, 140)},
            {**scope, "provider": llm_vendor, "model": model},
        )
        if "tts" in provider.vendors:
            yield (
                t,
                "usage",
                {"service": "tts", "unit": "characters", "quantity": int(agent * 15)},
                {**scope, "provider": provider.vendors["tts"][0]},
            )

    def _audio(
        self, rng: random.Random, call_id: str, provider: Provider, kind: Kind, base_level: float, agent: float
    ) -> dict[str, Any]:
        underflows = 1 if rng.random() < kind.underflow_chance else 0
        if self._faulty(call_id, provider, "underflow_storm"):
            underflows = int(agent * rng.uniform(6, 10))
        aligned = not self._faulty(call_id, provider, "codec_mismatch")
        level = base_level + rng.gauss(0, kind.rms_spread_db)
        return {
            "stage": "agent_out",
            "underflow": underflows,
            "fallback": 1 if underflows >= 3 and rng.random() < 0.5 else 0,
            "jitter_buffer_depth": max(0, round(rng.gauss(6, 1.5))) if underflows < 3 else rng.randint(0, 1),
            "codec_alignment": aligned,
            "rms": round(10 ** (level / 20), 5),
            "dc_offset": round(rng.gauss(0, 0.002), 5),
            "clipping_ratio": 0.0,
            "vad_confidence": round(rng.uniform(*kind.vad_confidence), 3),
        }

    def _transport(self, rng: random.Random, kind: Kind, codec: str, seconds: float) -> dict[str, Any]:
        frames = seconds * 50  # 20 ms frames
        bytes_per_frame = 160 if codec == "pcmu" else 80
        rtt = round(rng.uniform(0.04, 0.07), 4)
        jitter = round(rng.uniform(0.003, 0.008), 4)
        loss = round(kind.packet_loss * rng.uniform(0.5, 1.5), 5)
        return {
            "rtt_seconds": rtt,
            "jitter_seconds": jitter,
            "packet_loss_ratio": loss,
            "burst_ratio": 1.0,
            "concealment_ratio": loss,  # every lost packet concealed
            "codec": codec,
            "bytes_rx": int(frames * bytes_per_frame),
            "bytes_tx": int(frames * bytes_per_frame),
        }
