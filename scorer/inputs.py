"""Reading every live call's inputs with a fixed number of batched instant queries.

Each query selects a few of the exporter's per-call metrics by name and
aggregates with ``max by (__name__, call_id, ...)``: one answer carries every
call, whatever their number, and the aggregation drops the ``instance``/``job``
labels (and merges the copies of a redundant exporter pair).  Only one query
asks for ``provider``/``tenant`` and only one for ``codec``, and series at their
default value (a zero count, an aligned codec, random loss) are filtered out by
Prometheus: an absent series reads as that default.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from voice_monitoring.scorer.calibration import Rating
from voice_monitoring.scorer.emodel import Transport
from voice_monitoring.scorer.model import CallInputs
from voice_monitoring.scorer.promql import PrometheusClient, QueryError, Sample
from voice_monitoring.shared import catalogue


def _name(metric_name: str) -> str:
    return catalogue.metric(metric_name).name


ENDED = _name("ai_agent_call_ended")
TURNS = _name("ai_agent_call_turns")
TURN_RESPONSE_P95 = _name("ai_agent_call_turn_response_p95_seconds")
AGENT_SPEECH = _name("ai_agent_call_agent_speech_seconds")
UNDERFLOWS = _name("ai_agent_call_underflow_events")
FALLBACKS = _name("ai_agent_call_streaming_fallbacks")
BARGE_IN_P95 = _name("ai_agent_call_barge_in_reaction_p95_seconds")
CODEC_ALIGNMENT = _name("ai_agent_call_codec_alignment_ratio")
RMS_SPREAD = _name("ai_agent_call_rms_spread_db")
RTT = _name("ai_agent_call_transport_rtt_seconds")
JITTER = _name("ai_agent_call_transport_jitter_seconds")
LOSS = _name("ai_agent_call_transport_packet_loss_ratio")
BURST = _name("ai_agent_call_transport_burst_ratio")
PROMOTED = _name("ai_agent_call_promoted")
CODEC_INFO = _name("ai_agent_call_codec_info")
RATING = _name("ai_agent_call_feedback_rating")
RUNNING_COST = _name("ai_agent_call_running_cost_usd")


@dataclass(frozen=True)
class Query:
    """Some metrics of every call, optionally only where ``filter`` (a comparison such as "> 0") holds.

    (One filter per query: ``or`` would not do, as it matches series ignoring
    their names and so keeps one metric per call.)
    """

    names: tuple[str, ...]
    filter: str = ""
    labels: tuple[str, ...] = ()  # kept beside __name__ and call_id

    def expr(self, job: str | None, call_id: str | None = None) -> str:
        name = f'__name__="{self.names[0]}"' if len(self.names) == 1 else f'__name__=~"{"|".join(self.names)}"'
        matchers = [name] + ([f'job="{job}"'] if job else []) + ([f'call_id="{call_id}"'] if call_id else [])
        selector = f"{{{', '.join(matchers)}}}"
        if self.filter:
            selector = f"{selector} {self.filter}"
        by = ", ".join(("__name__", "call_id") + self.labels)
        return f"max by ({by}) ({selector})"


# The plan of one read: the number of queries is the number of queries per cycle, whatever the calls.
QUERIES: tuple[Query, ...] = (
    Query((TURNS, TURN_RESPONSE_P95, AGENT_SPEECH), labels=("provider", "tenant")),
    Query((ENDED, UNDERFLOWS, FALLBACKS, PROMOTED), "> 0"),
    Query((BARGE_IN_P95, RMS_SPREAD, RUNNING_COST)),
    Query((CODEC_ALIGNMENT,), "< 1"),
    Query((RTT, JITTER, LOSS)),
    Query((BURST,), "> 1"),
    Query((CODEC_INFO,), labels=("codec",)),
)

INPUT_NAMES = tuple(n for q in QUERIES for n in q.names)
# The feedback ratings published now, of calls live or gone: read beside the inputs, for calibration.
FEEDBACK = Query((RATING,), labels=("source", "scale"))


@dataclass
class CallSample:
    """One call's series values from one cycle."""

    call_id: str
    provider: str
    tenant: str
    values: dict[str, float]
    codec: str | None = None

    @property
    def ended(self) -> bool:
        return self.values.get(ENDED, 0.0) >= 1.0

    @property
    def cost_usd(self) -> float | None:
        return self.values.get(RUNNING_COST)

    @property
    def promoted(self) -> bool:
        """Outside the exporter's per-call sample, exposed because it breached a gate (exporter.sampling)."""
        return self.values.get(PROMOTED, 0.0) >= 1.0

    def inputs(self) -> CallInputs:
        v = self.values
        return CallInputs(
            turns=int(v.get(TURNS, 0.0)),
            turn_response_p95_seconds=v.get(TURN_RESPONSE_P95),
            agent_speech_seconds=v.get(AGENT_SPEECH, 0.0),
            underflows=v.get(UNDERFLOWS, 0.0),
            fallbacks=v.get(FALLBACKS, 0.0),
            barge_ins=1.0 if BARGE_IN_P95 in v else 0.0,
            barge_in_p95_seconds=v.get(BARGE_IN_P95),
            codec_alignment_ratio=v.get(CODEC_ALIGNMENT),
            rms_spread_db=v.get(RMS_SPREAD),
        )

    def transport(self) -> Transport:
        v = self.values
        return Transport(v.get(RTT), v.get(JITTER), v.get(LOSS), v.get(BURST), self.codec)


def merge(results: list[list[Sample]]) -> dict[str, CallSample]:
    """Vectors of the queries folded into one sample per call.

    A call counts only when its turn count came back (every exporter call has
    one): a call appearing in only some answers was scraped in between them.
    """
    calls: dict[str, CallSample] = {}
    for vector in results:
        for labels, value in vector:
            call_id = labels.get("call_id")
            name = labels.get("__name__")
            if not call_id or not name or not math.isfinite(value):
                continue
            sample = calls.get(call_id)
            if sample is None:
                sample = calls[call_id] = CallSample(call_id, "", "", {})
            if "provider" in labels:
                sample.provider = labels["provider"]
                sample.tenant = labels.get("tenant", "")
            if name == CODEC_INFO:
                sample.codec = labels.get("codec") or sample.codec
            else:
                sample.values[name] = value
    return {call_id: s for call_id, s in calls.items() if TURNS in s.values}


class InputReader:
    """Reads all calls' inputs: ``len(queries)`` instant queries per read, sent concurrently."""

    def __init__(
        self,
        client: PrometheusClient,
        job: str | None = "voice_exporter",
        queries: tuple[Query, ...] = QUERIES,
        on_query: Callable[[], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ):
        self.client = client
        self.queries = [q.expr(job) for q in queries]
        self.feedback_query = FEEDBACK.expr(job)
        self.on_query: Callable[[], None] = on_query or (lambda: None)
        self.on_error: Callable[[str], None] = on_error or (lambda reason: None)
        self._pool = ThreadPoolExecutor(max_workers=len(self.queries), thread_name_prefix="query")

    def _run(self, expr: str) -> list[Sample]:
        self.on_query()
        try:
            return self.client.instant(expr)
        except QueryError as exc:
            self.on_error(exc.reason)
            raise

    def read(self) -> dict[str, CallSample]:
        """Every call's sample; raises QueryError when any query fails (a partial read is no read)."""
        futures = [self._pool.submit(self._run, expr) for expr in self.queries]
        return merge([f.result() for f in futures])

    def read_feedback(self) -> list[Rating]:
        """(call_id, source, scale, rating) of every feedback rating published now; raises QueryError."""
        ratings: list[Rating] = []
        for labels, value in self._run(self.feedback_query):
            call_id, source, scale = labels.get("call_id"), labels.get("source"), labels.get("scale")
            if call_id and source and scale and math.isfinite(value):
                ratings.append((call_id, source, scale, value))
        return ratings

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
