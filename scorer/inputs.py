"""Reading every live call's inputs with a fixed number of batched instant queries.

Each query selects a group of the exporter's per-call metrics by name and
aggregates with ``max by (__name__, call_id, provider, tenant, codec)``: one
answer carries every call, whatever their number, and the aggregation drops the
``instance``/``job`` labels (and merges the copies of a redundant exporter pair).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from exporter import catalogue
from scorer.emodel import Transport
from scorer.model import CallInputs
from scorer.promql import PrometheusClient, QueryError


def _name(metric_name: str) -> str:
    return catalogue.metric(metric_name).name


ENDED = _name("ai_agent_call_ended")
TURNS = _name("ai_agent_call_turns")
TURN_P95 = _name("ai_agent_call_turn_response_p95_seconds")
AGENT_SPEECH = _name("ai_agent_call_agent_speech_seconds")
UNDERFLOWS = _name("ai_agent_call_underflow_events")
FALLBACKS = _name("ai_agent_call_streaming_fallbacks")
BARGE_INS = _name("ai_agent_call_barge_ins")
BARGE_IN_P95 = _name("ai_agent_call_barge_in_reaction_p95_seconds")
CODEC_ALIGNMENT = _name("ai_agent_call_codec_alignment_ratio")
RMS_SPREAD = _name("ai_agent_call_rms_spread_db")
RTT = _name("ai_agent_call_transport_rtt_seconds")
JITTER = _name("ai_agent_call_transport_jitter_seconds")
LOSS = _name("ai_agent_call_transport_packet_loss_ratio")
BURST = _name("ai_agent_call_transport_burst_ratio")
CODEC_INFO = _name("ai_agent_call_codec_info")

# Which metrics each query asks for.  The number of groups is the number of queries per cycle.
QUERY_GROUPS: tuple[tuple[str, ...], ...] = (
    (ENDED, TURNS, TURN_P95, AGENT_SPEECH),
    (UNDERFLOWS, FALLBACKS, BARGE_INS, BARGE_IN_P95),
    (CODEC_ALIGNMENT, RMS_SPREAD, CODEC_INFO),
    (RTT, JITTER, LOSS, BURST),
)

GROUP_BY = ("__name__",) + catalogue.CALL_LABELS + ("codec",)


def group_query(names: tuple[str, ...], job: str | None) -> str:
    matchers = [f'__name__=~"{"|".join(names)}"']
    if job:
        matchers.append(f'job="{job}"')
    return f"max by ({', '.join(GROUP_BY)}) ({{{', '.join(matchers)}}})"


def call_query(names: tuple[str, ...], job: str | None, call_id: str) -> str:
    """The same read restricted to one call (what a one-query-per-call reader would send)."""
    matchers = [f'__name__=~"{"|".join(names)}"', f'call_id="{call_id}"']
    if job:
        matchers.append(f'job="{job}"')
    return f"max by ({', '.join(GROUP_BY)}) ({{{', '.join(matchers)}}})"


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

    def inputs(self) -> CallInputs:
        v = self.values
        return CallInputs(
            turns=int(v.get(TURNS, 0.0)),
            turn_p95_seconds=v.get(TURN_P95),
            agent_speech_seconds=v.get(AGENT_SPEECH, 0.0),
            underflows=v.get(UNDERFLOWS, 0.0),
            fallbacks=v.get(FALLBACKS, 0.0),
            barge_ins=v.get(BARGE_INS, 0.0),
            barge_in_p95_seconds=v.get(BARGE_IN_P95),
            codec_alignment_ratio=v.get(CODEC_ALIGNMENT),
            rms_spread_db=v.get(RMS_SPREAD),
        )

    def transport(self) -> Transport:
        v = self.values
        return Transport(v.get(RTT), v.get(JITTER), v.get(LOSS), v.get(BURST), self.codec)


def merge(results: list[list[dict]]) -> dict[str, CallSample]:
    """Vectors of the group queries folded into one sample per call."""
    calls: dict[str, CallSample] = {}
    for vector in results:
        for item in vector:
            labels = item["metric"]
            call_id = labels.get("call_id")
            name = labels.get("__name__")
            if not call_id or not name:
                continue
            value = float(item["value"][1])
            if not math.isfinite(value):
                continue
            sample = calls.get(call_id)
            if sample is None:
                sample = calls[call_id] = CallSample(call_id, labels.get("provider", ""), labels.get("tenant", ""), {})
            if name == CODEC_INFO:
                sample.codec = labels.get("codec") or sample.codec
            else:
                sample.values[name] = value
    return calls


class InputReader:
    """Reads all calls' inputs: ``len(QUERY_GROUPS)`` queries per read, sent concurrently."""

    def __init__(self, client: PrometheusClient, job: str | None = "voice_exporter",
                 groups: tuple[tuple[str, ...], ...] = QUERY_GROUPS, on_query=None, on_error=None):
        self.client = client
        self.queries = [group_query(names, job) for names in groups]
        self.on_query = on_query or (lambda: None)
        self.on_error = on_error or (lambda reason: None)
        self._pool = ThreadPoolExecutor(max_workers=len(self.queries), thread_name_prefix="query")

    def _run(self, expr: str) -> list[dict]:
        self.on_query()
        try:
            return self.client.instant(expr)
        except QueryError as exc:
            self.on_error(exc.reason)
            raise

    def read(self) -> dict[str, CallSample]:
        """Every call's sample; raises QueryError when any query fails (a partial read is no read)."""
        futures = [self._pool.submit(self._run, expr) for expr in self.queries]
        results = [f.result() for f in futures]
        return merge(results)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
