"""Per-call series in the text format (``exporter/call_series.py``): the nearest-rank p95, the series a call has
for what it holds, and a rendering that Prometheus's own parser reads back whatever the label values."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from voice_monitoring.exporter.call_series import p95, render, series
from voice_monitoring.exporter.calls import Call
from voice_monitoring.exporter.feedback import RATING
from voice_monitoring.shared import catalogue

PER_CALL = {m.name: m for m in catalogue.per_call(catalogue.EXPORTER)}
HOSTILE = 'a"b\\c\nd},e="f'


def fresh(call_id: str = "c-1", tenant: str = "acme", provider: str = "deepgram") -> Call:
    return Call(call_id, tenant, provider, "cascade", now=1_800_000_000.0)


def by_name(call: Call) -> dict[str, tuple[float, tuple[str, ...]]]:
    found = {}
    for name, value, extra in series(call):
        assert name not in found, f"{name} twice"
        found[name] = (value, extra)
    return found


def parsed(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


@pytest.mark.parametrize(
    "values, expected",
    [
        ([4.0], 4.0),
        ([1.0, 2.0], 2.0),
        ([float(i) for i in range(1, 13)], 12.0),  # ceil(11.4) = 12, not the nearest integer
        ([float(i) for i in range(1, 21)], 19.0),  # ceil(0.95 * 20) = 19
        ([float(i) for i in range(1, 22)], 20.0),  # ceil(0.95 * 21) = 20
        ([float(i) for i in range(1, 101)], 95.0),
        ([float(i) for i in range(1, 102)], 96.0),  # ceil(95.95) = 96
    ],
)
def test_p95_is_the_nearest_rank_of_an_ascending_list(values, expected):
    assert p95(values) == expected


ALWAYS = {
    "ai_agent_call_started_timestamp_seconds",
    "ai_agent_call_ended",
    "ai_agent_call_turns",
    "ai_agent_call_agent_info",
    "ai_agent_call_agent_speech_seconds",
    "ai_agent_call_underflow_events",
    "ai_agent_call_streaming_fallbacks",
    "ai_agent_call_barge_ins",
    "ai_agent_call_false_interruptions",
    "ai_agent_call_running_cost_usd",
}


def test_a_fresh_call_has_only_the_series_every_call_has_with_their_starting_values():
    call = fresh()
    found = by_name(call)
    assert set(found) == ALWAYS
    assert found["ai_agent_call_started_timestamp_seconds"] == (1_800_000_000.0, ())
    assert found["ai_agent_call_ended"] == (0.0, ())
    assert found["ai_agent_call_agent_info"] == (1.0, ("unknown", "unknown"))
    assert found["ai_agent_call_running_cost_usd"] == (0, ())


def set_rms(call: Call) -> None:
    call.add_rms(0.1)
    call.add_rms(0.01)


@pytest.mark.parametrize(
    "change, name, expected",
    [
        (lambda c: c.add_turn(0.7), "ai_agent_call_turn_response_p95_seconds", (0.7, ())),
        (lambda c: setattr(c, "reported_turn_response_p95", 1.4), "ai_agent_call_turn_response_p95_seconds", (1.4, ())),
        (lambda c: c.add_reaction(0.3), "ai_agent_call_barge_in_reaction_p95_seconds", (0.3, ())),
        (
            lambda c: setattr(c, "end_reason_raw", "Caller Hung Up"),
            "ai_agent_call_end_reason_info",
            (1.0, ("Caller Hung Up",)),
        ),
        (lambda c: setattr(c, "codec", "opus"), "ai_agent_call_codec_info", (1.0, ("opus",))),
        (lambda c: setattr(c, "rtt", 0.12), "ai_agent_call_transport_rtt_seconds", (0.12, ())),
        (lambda c: setattr(c, "jitter", 0.01), "ai_agent_call_transport_jitter_seconds", (0.01, ())),
        (lambda c: setattr(c, "loss", 0.02), "ai_agent_call_transport_packet_loss_ratio", (0.02, ())),
        (lambda c: setattr(c, "burst", 0.5), "ai_agent_call_transport_burst_ratio", (0.5, ())),
        (lambda c: setattr(c, "concealment", 0.03), "ai_agent_call_transport_concealment_ratio", (0.03, ())),
        (lambda c: setattr(c, "clipping", 0.0), "ai_agent_call_audio_clipping_ratio", (0.0, ())),
        (lambda c: setattr(c, "promoted", True), "ai_agent_call_promoted", (1.0, ())),
        (set_rms, "ai_agent_call_rms_spread_db", (pytest.approx(14.1421, abs=1e-3), ())),
    ],
)
def test_each_optional_series_appears_once_the_call_holds_its_value(change, name, expected):
    call = fresh()
    assert name not in by_name(call)
    change(call)
    found = by_name(call)
    assert found[name] == expected
    assert set(found) - ALWAYS == {name}


def test_the_codec_alignment_ratio_appears_with_the_first_check():
    call = fresh()
    call.codec_checks, call.codec_aligned = 4, 3
    assert by_name(call)["ai_agent_call_codec_alignment_ratio"] == (0.75, ())


def test_one_rms_level_has_no_spread():
    call = fresh()
    call.add_rms(0.2)
    assert "ai_agent_call_rms_spread_db" not in by_name(call)


def test_the_calls_own_turns_win_over_a_reported_p95():
    call = fresh()
    call.reported_turn_response_p95 = 9.0
    call.add_turn(0.4)
    assert by_name(call)["ai_agent_call_turn_response_p95_seconds"] == (0.4, ())


def test_an_ended_call_says_so_and_its_running_cost_is_its_cost():
    call = fresh()
    call.ended = True
    call.reported_cost["llm"] = 0.25
    call.estimated_cost["stt"] = 0.5
    found = by_name(call)
    assert found["ai_agent_call_ended"] == (1.0, ())
    assert found["ai_agent_call_running_cost_usd"] == (0.75, ())


def busy_call(call_id: str, **labels) -> Call:
    call = fresh(call_id, **labels)
    call.add_turn(0.5)
    call.add_reaction(0.2)
    set_rms(call)
    call.codec_checks = call.codec_aligned = 1
    call.rtt = call.jitter = call.loss = call.burst = call.concealment = call.clipping = 0.01
    call.codec = "pcmu"
    call.end_reason_raw = "error"
    call.promoted = True
    return call


def test_the_rendering_parses_and_its_count_is_the_number_of_samples():
    calls = [busy_call("c-1"), fresh("c-2")]
    ratings = [("c-1", "deepgram", "acme", ("csat", "five_point"), 4)]
    text, count = render(calls, ratings)
    samples = parsed(text)
    assert count == len(samples) == len(PER_CALL) + len(ALWAYS)
    assert count == sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    assert {s.labels["call_id"] for s in samples} == {"c-1", "c-2"}
    assert {s.name for s in samples if s.labels["call_id"] == "c-1"} == set(PER_CALL)


def test_every_per_call_metric_has_its_help_and_type_even_with_no_calls():
    text, count = render([])
    assert count == 0 and parsed(text) == []
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == set(PER_CALL)
    assert all(f.type == "gauge" and f.documentation == PER_CALL[f.name].help for f in families.values())


def test_hostile_label_values_read_back_exactly():
    call = busy_call(HOSTILE, tenant=HOSTILE, provider="\\")
    call.end_reason_raw = call.codec = call.agent = HOSTILE
    ratings = [(HOSTILE, "\\", HOSTILE, (HOSTILE, "five_point"), 1)]
    samples = parsed(render([call], ratings)[0])
    assert {(s.labels["call_id"], s.labels["tenant"], s.labels["provider"]) for s in samples} == {
        (HOSTILE, HOSTILE, "\\")
    }
    extra = {s.name: s.labels for s in samples}
    assert extra["ai_agent_call_end_reason_info"]["reason"] == HOSTILE
    assert extra["ai_agent_call_codec_info"]["codec"] == HOSTILE
    assert extra["ai_agent_call_agent_info"]["agent"] == HOSTILE
    assert extra[RATING]["source"] == HOSTILE


def test_a_rating_row_is_a_sample_under_its_own_labels_whatever_the_calls():
    ratings = [
        ("gone-1", "openai", "globex", ("survey", "csat_5"), 2),
        ("gone-2", "deepgram", "acme", ("agent", "thumbs"), 1),
    ]
    text, count = render([], ratings)
    rows = [(s.name, s.labels, s.value) for s in parsed(text)]
    names = PER_CALL[RATING].labels
    assert count == 2
    assert rows == [(RATING, dict(zip(names, (c, p, t, *extra), strict=True)), v) for c, p, t, extra, v in ratings]
