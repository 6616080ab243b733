"""The hand-written exposition: label values and help text escaped as the text format asks, samples as
Prometheus's parser reads them, and a busy exposition that promtool finds nothing to lint in."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import promtool_lint
from voice_monitoring.exporter.exposition import escape, header, label_text, sample
from voice_monitoring.exporter.fleet import FleetMetrics


@pytest.mark.parametrize(
    "raw, escaped",
    [("plain", "plain"), ('say "hi"', 'say \\"hi\\"'), ("a\\b", "a\\\\b"), ("two\nlines", "two\\nlines"), ("☎", "☎")],
)
def test_a_label_value_escapes_backslash_quote_and_newline_only(raw, escaped):
    assert escape(raw) == escaped


def test_label_values_read_back_as_they_were_through_prometheus_parser():
    values = ('a"b', "p\\q", "new\nline", "tab\there", "")
    text = header("m", "help", "gauge") + sample("m", label_text(("a", "b", "c", "d", "e"), values), 1) + "\n"
    (family,) = text_string_to_metric_families(text)
    assert tuple(family.samples[0].labels[k] for k in "abcde") == values


def test_help_escapes_backslash_and_newline_but_not_quotes():
    assert header("m", 'say "x"\\\nnext', "counter") == '# HELP m say "x"\\\\\\nnext\n# TYPE m counter\n'


@pytest.mark.parametrize(
    "value, written", [(3, "3.0"), (0.1, "0.1"), (1e-7, "1e-07"), (float("inf"), "inf"), (-2.5, "-2.5")]
)
def test_a_sample_is_written_as_a_float_with_or_without_labels(value, written):
    assert sample("m", "", value) == f"m {written}"
    assert sample("m", 'a="1"', value) == f'm{{a="1"}} {written}'
    (family,) = text_string_to_metric_families(f"# TYPE m gauge\n{sample('m', '', value)}\n")
    assert family.samples[0].value == float(value)


def test_histogram_buckets_are_cumulative_with_le_inclusive_upper_bounds():
    fleet = FleetMetrics()
    h = fleet.child("ai_agent_turn_response_seconds", "cascade", "deepgram")
    for v in (0.05, 0.8, 0.81, 100.0):
        h.observe(v)
    samples = {
        (s.name, s.labels.get("le")): s.value
        for f in text_string_to_metric_families(fleet.render())
        if f.name == "ai_agent_turn_response_seconds"
        for s in f.samples
    }
    assert samples[("ai_agent_turn_response_seconds_bucket", "0.1")] == 1
    assert samples[("ai_agent_turn_response_seconds_bucket", "0.8")] == 2
    assert samples[("ai_agent_turn_response_seconds_bucket", "1.0")] == 3
    assert samples[("ai_agent_turn_response_seconds_bucket", "8.0")] == 3
    assert samples[("ai_agent_turn_response_seconds_bucket", "+Inf")] == 4
    assert samples[("ai_agent_turn_response_seconds_count", None)] == 4
    assert abs(samples[("ai_agent_turn_response_seconds_sum", None)] - 101.66) < 1e-9


@pytest.mark.binaries
def test_promtool_finds_nothing_to_lint_in_a_busy_exposition():
    fleet = FleetMetrics()
    fleet.child("ai_agent_calls_started_total", 'a"b', "p\\q", "new\nline").inc()
    fleet.child("ai_agent_active_calls", "t", "p").dec()
    fleet.child("ai_agent_component_latency_seconds", "stt", "☎").observe(0.2)
    assert promtool_lint(fleet.render()) == ""
