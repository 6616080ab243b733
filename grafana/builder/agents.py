"""The agent dimension on the dashboards: turn latency by agent, and the agent versions compared over the range."""

from grafana.builder import alert_thresholds as th
from grafana.builder.drilldown import TIME_COLUMNS
from grafana.builder.panels import above, organize, query, table_panel, timeseries_panel, transformation
from grafana.builder.promql import RANGE, name, recorded

AGENT = '{agent=~"$agent"}'
BY_VERSION = "agent, agent_version"


def _increase(metric: str, **matchers: str) -> str:
    labels = ", ".join([f'{k}="{v}"' for k, v in matchers.items()] + ['agent=~"$agent"'])
    return f"sum by ({BY_VERSION}) (increase({name(metric)}{{{labels}}}[{RANGE}]))"


def _by_key(expr: str) -> str:
    """``expr`` by agent and version, keyed by one ``version`` label ("agent version") the table joins its columns on:
    two agents may both have a v1."""
    return f'sum by (version) (label_join({expr}, "version", " ", "agent", "agent_version"))'


def version_queries() -> dict[str, str]:
    """The comparison's columns, each an instant query by agent and version over the dashboard's range."""
    ended = _increase("ai_agent_agent_calls_ended_total")
    failed = _increase("ai_agent_agent_calls_ended_total", reason="error")
    columns = {
        "Calls ended": ended,
        "Turn p95 (s)": f"avg_over_time({recorded('agent_version:ai_agent_call_turn_response_p95_seconds:mean')}"
        f"{AGENT}[{RANGE}])",
        "Failure ratio": f"({failed} or 0 * {ended}) / ({ended} > 0)",
        "Mean score": f"avg_over_time({recorded('agent_version:ai_agent_call_quality_score:mean')}{AGENT}[{RANGE}])",
        "Cost per minute (USD)": f"60 * {_increase('ai_agent_agent_cost_usd_total')} / "
        f"({_increase('ai_agent_agent_call_seconds_total')} > 0)",
    }
    return {title: _by_key(expr) for title, expr in columns.items()}


def versions_panel():
    columns = version_queries()
    panel = table_panel(
        "Agent versions compared",
        "Each agent version over the time range: calls ended; turn p95, the mean of each call's own turn p95 "
        "while it was live (a histogram by version would multiply the buckets); the share of calls that ended in "
        "error; the mean quality score of its calls while they were scored; and its cost per call minute. A "
        "version without scored or sampled calls shows no turn p95 or score. It counts all providers: the agent series "
        "carry no provider.",
        "none",
        *(query(expr, title, instant=True, fmt="table") for title, expr in columns.items()),
        w=24,
        h=8,
    )
    rename = {f"Value #{ref}": title for ref, title in zip("ABCDEFGHIJ", columns, strict=False)}
    return (
        panel.with_transformation(transformation("joinByField", byField="version", mode="outer"))
        .with_transformation(organize(TIME_COLUMNS, rename))
        .with_transformation(transformation("sortBy", sort=[{"field": "version", "desc": False}]))
    )


def turn_latency_panel():
    warn, crit = th.value("turn_latency_p95_warning_seconds"), th.value("turn_latency_p95_critical_seconds")
    return timeseries_panel(
        "Turn response p95 by agent",
        "User stops speaking to agent starts speaking, p95 by agent over 5 minutes (all versions of the agent "
        "together; Agent versions compared splits them), all providers.",
        "s",
        query(recorded("agent:ai_agent_agent_turn_response_seconds:p95_rate5m") + AGENT, "{{agent}}"),
        thresholds=above(warn, crit),
        w=12,
    )


def active_calls_panel():
    return timeseries_panel(
        "Calls in progress by agent",
        "Calls in progress, by the agent that handles them, all providers.",
        "short",
        query(f"sum by (agent) ({name('ai_agent_agent_active_calls')}{AGENT})", "{{agent}}"),
        w=12,
    )
