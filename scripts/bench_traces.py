"""OTLP traces benchmark: spans per exporter CPU-second on POST /v1/traces, beside the same calls' events on
POST /v1/events, against one real exporter process in the same run.

Traffic: Pipecat-shaped calls (a conversation, four turns, an STT, LLM and TTS span under each: 17 spans giving 33
events), made with the OpenTelemetry SDK and encoded by its OTLP exporter's own encoder into protobuf requests of
512 spans (the SDK's default batch).  The /v1/events traffic is the events the mapping tables make of the same spans,
as JSON batches of the same calls.  Each of three rounds sends fresh calls down both routes; the exporter's CPU time
(user plus system, from /proc) over each pass gives the rates, best of three.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import requests
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from scripts.bench_exporter import cpu_seconds
from tests.harness import free_port, wait_for
from tests.otlp.spans import pipecat_call
from voice_monitoring.exporter.otlp.receiver import SpanEvents

CALLS = 1500
BATCH_SPANS = 512
TURN = {"latency": 0.8, "stt_ttfb": 0.1, "audio": 2.0, "llm_ttfb": 0.3, "tts_ttfb": 0.12}
TURN |= {"tokens_in": 150, "tokens_out": 20, "characters": 60}


def traffic(calls: int) -> tuple[list[bytes], list[bytes], int, int]:
    """(protobuf requests, JSON event batches, spans, events) for ``calls`` new calls."""
    spans = [span for _ in range(calls) for span in pipecat_call([TURN] * 4)]
    requests_ = [
        encode_spans(spans[i : i + BATCH_SPANS]).SerializeToString() for i in range(0, len(spans), BATCH_SPANS)
    ]
    batches, events = [], 0
    for body in requests_:
        mapped = SpanEvents({})
        mapped.add_request(ExportTraceServiceRequest.FromString(body))
        batch, _ = mapped.batch()
        events += len(batch)
        batches.append(orjson.dumps(batch))
    return requests_, batches, len(spans), events


def one_pass(session: requests.Session, pid: int, url: str, bodies: list[bytes], content_type: str) -> float:
    """Exporter CPU seconds to take ``bodies``."""
    start = cpu_seconds(pid)
    for body in bodies:
        response = session.post(url, data=body, headers={"Content-Type": content_type})
        assert response.status_code == 200, response.text[:300]
        assert b"rejected" not in response.content.lower(), response.content[:300]
    return cpu_seconds(pid) - start


def main() -> int:
    port = free_port()
    exporter = Path(sys.executable).parent / "voice-exporter"
    args = [str(exporter), "--port", str(port), "--max-live-calls", "200000", "--max-batch", "10000"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    rounds = []
    try:
        wait_for(lambda: requests.get(f"{url}/ready", timeout=1).ok, 20, what="the exporter")
        session = requests.Session()
        for _ in range(3):
            protobuf, _, spans, events = traffic(CALLS)
            _, json_batches, _, _ = traffic(CALLS)  # other calls: the events route sees new ids too
            traces_cpu = one_pass(session, proc.pid, f"{url}/v1/traces", protobuf, "application/x-protobuf")
            events_cpu = one_pass(session, proc.pid, f"{url}/v1/events", json_batches, "application/json")
            rounds.append((spans / traces_cpu, events / traces_cpu, events / events_cpu))
    finally:
        proc.terminate()
        proc.wait(10)
    spans_rate = max(r[0] for r in rounds)
    traced_events_rate = max(r[1] for r in rounds)
    events_rate = max(r[2] for r in rounds)
    passes = ", ".join(f"{r[0]:,.0f}" for r in rounds)
    print(f"OTLP /v1/traces (protobuf, {BATCH_SPANS}-span requests)  {spans_rate:12,.0f} spans per exporter CPU-second")
    print(f"  the events those spans give                  {traced_events_rate:12,.0f} events per exporter CPU-second")
    print(f"/v1/events, the same calls' events as JSON     {events_rate:12,.0f} events per exporter CPU-second")
    print(
        f"  traces over events, per event: {traced_events_rate / events_rate:.2f}x "
        f"(spans per CPU-s, best of 3: {passes})"
    )
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"  ({time.perf_counter() - started:.0f} s)")
    sys.exit(code)
