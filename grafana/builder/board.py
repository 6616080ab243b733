"""A dashboard shell shared by every dashboard: time range, refresh, links, alert annotations, template variables."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as md

from grafana.builder import promql
from grafana.builder.panels import CRITICAL, DATASOURCE, PROMETHEUS_UID

TAG = "voice-agent"
# Firing alerts as annotations on every time series panel; the Watchdog always fires and would mark everything.
ALERTS_ANNOTATION = 'ALERTS{alertstate="firing", alertname!="Watchdog"}'


def new(
    uid: str,
    title: str,
    description: str,
    *variables: dashboard.QueryVariable,
    time_from: str = "now-1h",
    links: tuple[dashboard.DashboardLink, ...] = (),
) -> dashboard.Dashboard:
    """A dashboard with the $datasource variable, then ``variables``; ``links`` come before the dashboards menu."""
    board = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .time(time_from, "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(md.DashboardCursorSync.CROSSHAIR)
        .annotation(
            dashboard.AnnotationQuery()
            .name("Firing alerts")
            .datasource(DATASOURCE)
            .enable(True)
            .icon_color(CRITICAL)
            .expr(ALERTS_ANNOTATION)
            .title_format("{{alertname}}")
            .text_format("{{severity}} {{provider}}{{service}}{{tenant}}{{worker}}{{breaker}}")
            .tag_keys("alertname,severity")
            .step("60s")
        )
        .with_variable(datasource())
    )
    for link in links:
        board = board.link(link)
    board = board.link(
        dashboard.DashboardLink("Voice Agent dashboards")
        .type(md.DashboardLinkType.DASHBOARDS)
        .tags([TAG])
        .as_dropdown(True)
        .include_vars(True)
        .keep_time(True)
    )
    for variable in variables:
        board = board.with_variable(variable)
    return board


def datasource() -> dashboard.DatasourceVariable:
    return (
        dashboard.DatasourceVariable("datasource")
        .label("Data source")
        .type("prometheus")
        .current(md.VariableOption(selected=True, text=PROMETHEUS_UID, value=PROMETHEUS_UID))
    )


def _label_variable(var: str, label: str, metric: str, multi: bool = True, source: str = "") -> dashboard.QueryVariable:
    v = (
        dashboard.QueryVariable(var)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"label_values({metric}, {source or var})")
        .refresh(md.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(md.VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        v = (
            v.multi(True)
            .include_all(True)
            .all_value(".*")
            .current(md.VariableOption(selected=True, text="All", value="$__all"))
        )
    return v


def provider() -> dashboard.QueryVariable:
    """The call's provider (deepgram, openai_realtime...), as the call and turn metrics carry it."""
    return _label_variable("provider", "Provider", promql.name("ai_agent_calls_started_total"))


def tenant() -> dashboard.QueryVariable:
    return _label_variable("tenant", "Tenant", promql.name("ai_agent_calls_started_total"))


def pipeline() -> dashboard.QueryVariable:
    return _label_variable("pipeline", "Pipeline", promql.name("ai_agent_calls_started_total"))


def agent() -> dashboard.QueryVariable:
    """The agent (assistant) that handles the call, as the agent dimension's metrics carry it."""
    return _label_variable("agent", "Agent", promql.name("ai_agent_agent_calls_started_total"))


def call_id() -> dashboard.QueryVariable:
    return _label_variable("call_id", "Call", promql.name("ai_agent_call_started_timestamp_seconds"), multi=False)


def vendor() -> dashboard.QueryVariable:
    """$vendor: the vendor billed, which cost and usage series carry in their ``provider`` label. A name of its own,
    so the dashboards menu never carries it into a dashboard where ``provider`` means the call's provider."""
    return _label_variable("vendor", "Vendor", promql.name("ai_agent_cost_usd_total"), source="provider")
