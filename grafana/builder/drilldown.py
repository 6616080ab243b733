"""The tables that lead to Call Detail: every call seen in the dashboard's time range, not only live ones.

Per-call series disappear a couple of minutes after a call ends. A call that ended in the range is read from the
scorer's final records (``ai_agent_call_final_quality_score`` with its band and main penalty as labels, and
``ai_agent_call_final_cost_usd``), which it publishes only while the call ranks among the worst of its provider or
the costliest of its tenant in the last hour (``scorer/final_records.py``): a range query reads a bounded number
of series whatever the calls in the range, instead of every call's series. A live call is read from its live
series at the query's instant. The rows of the queries are joined on ``call_id``.
"""

from __future__ import annotations

from grafana.builder import alert_thresholds
from grafana.builder.bands import SCORE_BANDS, band_label
from grafana.builder.links import to_dashboard
from grafana.builder.panels import above, organize, query, table_panel, timeseries_panel, transformation
from grafana.builder.promql import RANGE, rate, recorded, sel

CALL_DETAIL_UID = "voice-call-detail"
PROVIDER_UID = "voice-provider-performance"
ROWS = 10
CALL = "call_id, provider, tenant"
FINAL_SCORE = "ai_agent_call_final_quality_score"
FINAL_COST = "ai_agent_call_final_cost_usd"
# Grafana's table format gives every query's frame a Time column; after the join they are numbered.
TIME_COLUMNS = ("Time", "Time 1", "Time 2", "Time 3", "Time 4")


def last(metric: str, **labels: str) -> str:
    """The last value of each series of ``metric`` in the dashboard's time range."""
    return f"last_over_time({sel(metric, **labels)}[{RANGE}])"


def codec_alignment(w: int):
    """The share of codec checks that found a mismatch, as ProviderCodecMismatch reads it; 0 for a provider whose
    checks all passed (the misaligned counter only appears with the first mismatch)."""
    checks = rate("ai_agent_codec_checks_total", ("provider",), provider="$provider")
    ratio = recorded("provider:ai_agent_codec_checks_misaligned:ratio_rate5m") + '{provider=~"$provider"}'
    return timeseries_panel(
        "Codec alignment",
        "Share of each provider's codec and sample-rate checks that found a mismatch over 5 minutes; "
        "ProviderCodecMismatch fires above the line.",
        "percentunit",
        query(f"{ratio}\nor\n0 * {checks}", "{{provider}}"),
        thresholds=above(critical=alert_thresholds.value("codec_misaligned_ratio")),
        threshold_lines=True,
        w=w,
    ).min(0)


def call_detail_link():
    return to_dashboard("Open call detail", CALL_DETAIL_UID, call_id="${__data.fields.call_id}")


def provider_link():
    """From a provider's series to Provider Performance with that provider selected, and its worst calls."""
    return to_dashboard(
        "Provider ${__field.labels.provider} in Provider Performance",
        PROVIDER_UID,
        provider="${__field.labels.provider}",
    )


def _joined(panel, rename: dict[str, str], sort_by: str, descending: bool, hide=()):
    return (
        panel.with_transformation(transformation("joinByField", byField="call_id", mode="outer"))
        .with_transformation(organize(TIME_COLUMNS + tuple(hide), rename))
        .with_transformation(transformation("sortBy", sort=[{"field": sort_by, "desc": descending}]))
        .data_links([call_detail_link()])
    )


def _by_call(expr: str) -> str:
    return f"max by ({CALL}) ({expr})"


def _ended_or_live(final: str, live: str, **labels: str) -> str:
    """One value per call of the range: its final record when it ended in the range, else its live series."""
    return f"{_by_call(last(final, **labels))} or {_by_call(sel(live, **labels))}"


def _live_band_and_factor(**labels: str) -> str:
    """A live call's band and main penalty factor as labels (the value is the band's level)."""
    band = band_label(f"max by (call_id) ({sel('ai_agent_call_quality_band', **labels)})")
    factor = f"max by (call_id, factor) (topk by (call_id) (1, {sel('ai_agent_call_quality_penalty', **labels)}))"
    return f"({band}) * on (call_id) group_left (factor) (0 * {factor} + 1)"


def worst_calls(title: str, description: str, **labels: str):
    """The ``ROWS`` calls with the lowest score in the range, their band, main penalty and cost."""
    worst = f"bottomk({ROWS}, {_ended_or_live(FINAL_SCORE, 'ai_agent_call_quality_score', **labels)})"
    band_and_factor = (
        f"(max by (call_id, band, factor) ({last(FINAL_SCORE, **labels)}) or {_live_band_and_factor(**labels)})"
    )
    cost = f"max by (call_id) ({_ended_or_live(FINAL_COST, 'ai_agent_call_running_cost_usd', **labels)})"
    panel = table_panel(
        title,
        description,
        "none",
        query(worst, instant=True, fmt="table"),
        query(f"{band_and_factor} and on (call_id) {worst}", instant=True, fmt="table"),
        query(f"{cost} and on (call_id) {worst}", instant=True, fmt="table"),
        thresholds=SCORE_BANDS,
        h=10,
    )
    rename = {"Value #A": "score", "factor": "main penalty", "Value #C": "cost (USD)"}
    return _joined(panel, rename, "score", False, hide=("Value #B",))


def costliest_calls(title: str, description: str, **labels: str):
    """The ``ROWS`` calls that cost most in the range, with their score."""
    costliest = f"topk({ROWS}, {_ended_or_live(FINAL_COST, 'ai_agent_call_running_cost_usd', **labels)})"
    score = f"max by (call_id) ({_ended_or_live(FINAL_SCORE, 'ai_agent_call_quality_score', **labels)})"
    panel = table_panel(
        title,
        description,
        "none",
        query(costliest, instant=True, fmt="table"),
        query(f"{score} and on (call_id) {costliest}", instant=True, fmt="table"),
        h=10,
    )
    return _joined(panel, {"Value #A": "cost (USD)", "Value #B": "score"}, "cost (USD)", True)
