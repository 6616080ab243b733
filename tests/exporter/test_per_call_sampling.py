"""--per-call-sample-ratio: a call's per-call series are all in or all out, chosen by its id, plus every call that
breaches a quality gate; the fleet metrics count every call whatever the ratio."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.exporter.full_call import call_end, full_call
from tests.harness import BIN, post_events, start_exporter
from voice_monitoring.exporter import sampling
from voice_monitoring.exporter.core import Exporter, Limits
from voice_monitoring.shared import catalogue

PER_CALL = {m.name for m in catalogue.per_call(catalogue.EXPORTER)}
# What the exporter says about its own per-call series, which the ratio changes by design.
ABOUT_PER_CALL = {
    "ai_agent_exporter_per_call_series",
    "ai_agent_exporter_per_call_sample_ratio",
    "ai_agent_exporter_per_call_withheld_calls",
    "ai_agent_exporter_calls_promoted_total",
}


PER_PROCESS = {catalogue.STANDARD_PROCESS_START}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def per_call_ids(text: str) -> dict[str, set[str]]:
    """{call_id: names of its per-call series}."""
    out: dict[str, set[str]] = {}
    for (name, labels), _ in samples(text).items():
        if name in PER_CALL:
            out.setdefault(dict(labels)["call_id"], set()).add(name)
    return out


def traffic(calls: int, slow_every: int = 7) -> list[dict]:
    """``calls`` calls with every event type; every ``slow_every``-th has 3 s turns, beyond the p95 gate."""
    now = time.time()
    events = []
    for i in range(calls):
        turn = 3.0 if i % slow_every == 0 else 0.7
        events += full_call(f"call-{i:04d}", now, turn_seconds=turn, provider=("deepgram", "openai")[i % 2])
        if i % 3 == 0:
            events.append(call_end(f"call-{i:04d}", now, reason=("Caller hung up", "error")[i % 2]))
    return events


def test_the_sample_is_decided_by_the_call_id_alone_and_has_the_ratio():
    ids = [f"c-{i}" for i in range(20_000)]
    chosen = [i for i in ids if sampling.in_sample(i, 0.1)]
    assert 1800 < len(chosen) < 2200
    assert chosen == [i for i in ids if sampling.in_sample(i, 0.1)]
    assert set(chosen) <= {i for i in ids if sampling.in_sample(i, 0.5)}, "a larger sample holds the smaller one"
    assert all(sampling.in_sample(i, 1.0) for i in ids[:100])
    assert not any(sampling.in_sample(i, 0.0) for i in ids[:100])


def test_fleet_metrics_are_the_same_whatever_the_ratio():
    events = traffic(200)
    outputs = {}
    for ratio in (1.0, 0.1, 0.0):
        exporter = Exporter(Limits(per_call_sample_ratio=ratio))
        accepted, _, rejected = exporter.ingest(events)
        assert rejected == [] and accepted == len(events)
        outputs[ratio] = exporter.render().decode()
    fleet = {
        ratio: {k: v for k, v in samples(text).items() if k[0] not in PER_CALL | ABOUT_PER_CALL | PER_PROCESS}
        for ratio, text in outputs.items()
    }
    assert len(fleet[1.0]) > 100
    assert fleet[0.1] == fleet[1.0]
    assert fleet[0.0] == fleet[1.0]
    assert len(per_call_ids(outputs[0.1])) < len(per_call_ids(outputs[1.0])) == 200


def test_each_call_is_all_in_or_all_out_and_the_exposed_calls_are_the_sample_plus_the_breaches():
    exporter = Exporter(Limits(per_call_sample_ratio=0.2))
    exporter.ingest(traffic(300))
    text = exporter.render().decode()
    exposed = per_call_ids(text)
    reference = Exporter()
    reference.ingest(traffic(300))
    full = per_call_ids(reference.render().decode())
    sampled = {c for c in full if sampling.in_sample(c, 0.2)}
    slow = {f"call-{i:04d}" for i in range(0, 300, 7)}
    assert set(exposed) == sampled | slow
    for call_id, names in exposed.items():
        promoted = {"ai_agent_call_promoted"} if call_id not in sampled else set()
        assert names == full[call_id] | promoted, f"{call_id} is exposed in part"
    values = samples(text)
    assert values[("ai_agent_exporter_per_call_withheld_calls", ())] == 300 - len(exposed)
    assert values[("ai_agent_exporter_calls_promoted_total", ())] == len(slow - sampled)
    assert values[("ai_agent_exporter_per_call_sample_ratio", ())] == 0.2
    assert values[("ai_agent_exporter_per_call_series", ())] == sum(len(n) for n in exposed.values())


def test_a_call_that_breaches_a_gate_is_exposed_with_its_whole_history_and_stays_exposed():
    call_id = next(f"x-{i}" for i in range(1000) if not sampling.in_sample(f"x-{i}", 0.5))
    exporter = Exporter(Limits(per_call_sample_ratio=0.5))
    now = time.time()
    exporter.ingest(full_call(call_id, now, turn_seconds=0.7))
    assert call_id not in per_call_ids(exporter.render().decode())
    slow = {"latency_seconds": sampling.PROMOTE_P95_SECONDS + 1.0}
    exporter.ingest([{"type": "turn", "ts": now, "call_id": call_id, "attrs": slow}])
    text = exporter.render().decode()
    assert call_id in per_call_ids(text)
    assert (
        samples(text)[("ai_agent_call_turns", (("call_id", call_id), ("provider", "deepgram"), ("tenant", "acme")))]
        == 4
    )
    fast = {"latency_seconds": 0.3}
    exporter.ingest([{"type": "turn", "ts": now, "call_id": call_id, "attrs": fast} for _ in range(40)])
    text = exporter.render().decode()
    assert call_id in per_call_ids(text), "a promoted call lost its series"
    assert samples(text)[("ai_agent_exporter_calls_promoted_total", ())] == 1


def test_an_underflow_promotes_a_call():
    call_id = next(f"u-{i}" for i in range(1000) if not sampling.in_sample(f"u-{i}", 0.01))
    exporter = Exporter(Limits(per_call_sample_ratio=0.01))
    now = time.time()
    exporter.ingest(full_call(call_id, now))
    assert per_call_ids(exporter.render().decode()) == {}
    exporter.ingest([{"type": "audio", "ts": now, "call_id": call_id, "attrs": {"underflow": 1}}])
    assert call_id in per_call_ids(exporter.render().decode())


def test_the_ratio_comes_from_the_flag_or_the_environment_and_is_checked(tmp_path):
    bad = subprocess.run(
        [str(BIN / "voice-exporter"), "--per-call-sample-ratio", "1.5"], capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 2 and "--per-call-sample-ratio must be between 0 and 1" in bad.stderr
    with start_exporter(tmp_path, env={"EXPORTER_PER_CALL_SAMPLE_RATIO": "0"}) as exporter:
        call_id = "live-1"
        response = post_events(exporter.url, full_call(call_id, time.time()))
        assert response.status_code == 200, response.text
        text = requests.get(f"{exporter.url}/metrics", timeout=5).text
        assert per_call_ids(text) == {}
        values = samples(text)
        assert values[("ai_agent_exporter_per_call_sample_ratio", ())] == 0.0
        assert values[("ai_agent_exporter_per_call_withheld_calls", ())] == 1
        assert (
            values[
                (
                    "ai_agent_calls_started_total",
                    (("pipeline", "cascade"), ("provider", "deepgram"), ("tenant", "acme")),
                )
            ]
            == 1
        )


@pytest.mark.parametrize("ratio", [-0.1, 1.01])
def test_limits_refuse_a_ratio_outside_0_to_1(ratio):
    with pytest.raises(ValueError, match="between 0 and 1"):
        Exporter(Limits(per_call_sample_ratio=ratio))
