"""The voice panels a framework's OpenTelemetry traces fill: a real LiveKit AgentSession and a real Pipecat pipeline,
traced through the OpenTelemetry SDK's OTLP/HTTP exporter into the stack as shipped (exporter, Prometheus with the
rule files, scorer), then every voice panel's queries are run (tests/dashboards/panel_coverage.py). Each framework
plays an earlier call first, so rates see the measured call's increase. The sessions' in-process adapters send to an
exporter nobody scrapes, so only the traces reach the stack."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.dashboards.panel_coverage import assert_panel_coverage, monitoring_stack
from tests.harness import query, start_exporter, wait_for

pytestmark = pytest.mark.binaries
ROOT = Path(__file__).resolve().parent.parent.parent
QUIET = {"VOICE_MONITORING_HEALTH_INTERVAL": "0"}


def _call_ids(prometheus_url: str) -> set[str]:
    return {r["metric"]["call_id"] for r in query(prometheus_url, "ai_agent_call_started_timestamp_seconds")}


def _measure(tmp_path: Path, integration: str, play) -> None:
    """Plays an earlier call and then the measured one through ``play(traces_url, adapter_url, earlier)``, waits for
    the measured call's end and final record, and checks the panels against the coverage source."""
    sink_dir = tmp_path / "adapter"
    sink_dir.mkdir()
    with start_exporter(sink_dir) as sink, monitoring_stack(tmp_path, exporter_env=QUIET) as stack:
        traces = f"{stack.exporter.url}/v1/traces"
        play(traces, sink.url, earlier=True)
        wait_for(lambda: _call_ids(stack.prometheus.url), 20, interval=0.5, what="the earlier call scraped")
        earlier = _call_ids(stack.prometheus.url)
        play(traces, sink.url, earlier=False)
        wait_for(lambda: _call_ids(stack.prometheus.url) - earlier, 20, interval=0.5, what="the measured call scraped")
        (call_id,) = _call_ids(stack.prometheus.url) - earlier
        wait_for(
            lambda: query(stack.prometheus.url, f'ai_agent_call_ended{{call_id="{call_id}"}}')
            and query(stack.prometheus.url, f'ai_agent_call_final_quality_score{{call_id="{call_id}"}}'),
            20,
            interval=0.5,
            what="the measured call's end and final record",
        )
        time.sleep(3)  # the recording rules' next evaluations see the measured call's increase
        assert_panel_coverage(integration, stack.prometheus.url, call_id)


def _pipecat(traces_url: str, adapter_url: str, earlier: bool) -> None:
    env = dict(os.environ, OTEL_RESOURCE_ATTRIBUTES="voice.tenant=acme", **QUIET)
    run = subprocess.run(
        [sys.executable, "-m", "tests.otlp.pipecat_traced", traces_url, adapter_url],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.frameworks("pipecat")
def test_pipecat_traces_fill_every_voice_panel_but_their_declared_gaps(tmp_path):
    _measure(tmp_path, "pipecat_otel", _pipecat)


@pytest.mark.frameworks("livekit")
def test_livekit_traces_fill_every_voice_panel_but_their_declared_gaps(tmp_path):
    _measure(tmp_path, "livekit_otel", _livekit)


def _livekit(traces_url: str, adapter_url: str, earlier: bool) -> None:
    """The audio call of tests/frameworks/livekit_call.py, traced; the earlier call is the same."""
    from livekit.agents.telemetry import set_tracer_provider
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from tests.frameworks import livekit_call, livekit_fakes
    from voice_monitoring.client import EventClient

    provider = TracerProvider(resource=Resource.create({"service.name": "livekit-agent", "voice.tenant": "acme"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url, timeout=5)))
    set_tracer_provider(provider)
    with EventClient(adapter_url) as client:
        livekit_call.play(
            "earlier" if earlier else "call", "acme", client, room=livekit_fakes.StatsRoom(), interval=2.0
        )
    provider.shutdown()  # flushes the batch span processor through the OTLP exporter
