"""The voice panels the Asterisk AI Voice Agent fills with its own metrics: an engine serving the families that
docs/integrations/asterisk-ai-voice-agent.md describes (its names, labels and bucket edges, read from the doc's
table) while calls run, scraped as job ai_engine beside the stack as shipped (an idle exporter and the scorer);
then every voice panel's queries are run (tests/dashboards/panel_coverage.py)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from tests.dashboards.panel_coverage import ROOT, assert_panel_coverage, monitoring_stack
from tests.harness import free_port, query, wait_for

pytestmark = pytest.mark.binaries

DOC = ROOT / "docs" / "integrations" / "asterisk-ai-voice-agent.md"
PLAY_SECONDS = 5
TICK_SECONDS = 0.25
# AVA's stages and conversation states, as its engine names them.
STAGES = ("transport_in", "provider_out")
STATES = ("listening", "speaking")


@dataclass(frozen=True)
class Family:
    name: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...]


def documented_families() -> list[Family]:
    """The families of the doc's "How its series differ" table: each row's names, labels (one entry per name
    where the row lists them with " / ") and bucket edges."""
    text = DOC.read_text()
    table = text[text.index("| name (AVA) |") : text.index("No series carries")]
    families = []
    for row in table.splitlines()[2:]:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        names = re.findall(r"`(\w+)`", cells[0])
        label_cells = [part.strip() for part in cells[1].split("/")] if "/" in cells[1] else [cells[1]] * len(names)
        buckets = tuple(float(edge) for edge in cells[2].split(",")) if cells[2] else ()
        for name, labels in zip(names, label_cells, strict=True):
            families.append(Family(name, () if labels == "none" else tuple(re.split(r",\s*", labels)), buckets))
    return families


class Engine:
    """The engine's metrics while calls run: every tick, what a few calls' frames and turns would record."""

    def __init__(self, registry: CollectorRegistry):
        self.metrics = {}
        for family in documented_families():
            if family.buckets:
                metric = Histogram(family.name, family.name, family.labels, registry=registry, buckets=family.buckets)
            elif family.name.endswith("_total"):
                metric = Counter(family.name.removesuffix("_total"), family.name, family.labels, registry=registry)
            else:
                metric = Gauge(family.name, family.name, family.labels, registry=registry)
            self.metrics[family.name] = (metric, family.labels)
        self.rng = random.Random(7)

    def _child(self, name: str):
        metric, labels = self.metrics[name]
        values = {"pipeline": "local_hybrid", "provider": "openai_realtime"}
        values.update(stage=self.rng.choice(STAGES), state=self.rng.choice(STATES))
        return metric.labels(*(values[label] for label in labels)) if labels else metric

    def tick(self) -> None:
        rng = self.rng
        for name, (metric, _) in self.metrics.items():
            child = self._child(name)
            if isinstance(metric, Histogram):
                child.observe(rng.uniform(0.0, 1.0) if "vad" in name else rng.uniform(0.2, 1.5))
            elif isinstance(metric, Counter):
                child.inc()
            elif "dc_offset" in name:
                child.set(rng.uniform(-0.01, 0.01))
            elif "rms" in name:
                child.set(rng.uniform(500, 3000))
            else:
                child.set(1)


@contextmanager
def engine_serving() -> Iterator[tuple[str, Engine]]:
    registry = CollectorRegistry()
    engine = Engine(registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{port}", engine
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_doc_table_describes_as_many_families_as_the_doc_says_the_stack_reads():
    names = {family.name for family in documented_families()}
    assert len(names) == int(re.search(r"(\d+) carry names that this stack", DOC.read_text())[1])
    assert {"ai_agent_turn_response_seconds", "ai_agent_conversation_state", "ai_agent_codec_alignment"} <= names


def test_the_engines_own_metrics_fill_every_voice_panel_but_its_declared_gaps(tmp_path):
    with engine_serving() as (address, engine), monitoring_stack(tmp_path, engines=(address,)) as stack:
        started = time.monotonic()
        while time.monotonic() - started < PLAY_SECONDS:
            engine.tick()
            time.sleep(TICK_SECONDS)
        wait_for(
            lambda: query(stack.prometheus.url, 'provider:ai_agent_turns:rate5m{job="ai_engine"}')
            or query(stack.prometheus.url, 'provider:ai_agent_turn_response_seconds:p95_rate5m{job="ai_engine"}'),
            20,
            what="the rules recording the engine's series",
        )
        # The Call Detail variable lists no call: the engine's series carry no call_id.
        assert not query(stack.prometheus.url, "ai_agent_call_started_timestamp_seconds")
        assert_panel_coverage("asterisk_ai_voice_agent", stack.prometheus.url, "")
