"""A dashboard shell shared by every dashboard: time range, refresh, links, template variables."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as md

from grafana.builder import promql
from grafana.builder.panels import DATASOURCE

TAG = "voice-agent"


def new(
    uid: str, title: str, description: str, *variables: dashboard.QueryVariable, time_from: str = "now-1h"
) -> dashboard.Dashboard:
    board = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .time(time_from, "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(md.DashboardCursorSync.CROSSHAIR)
        .link(
            dashboard.DashboardLink("Voice Agent dashboards")
            .type(md.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )
    for variable in variables:
        board = board.with_variable(variable)
    return board


def _label_variable(var: str, label: str, metric: str, multi: bool = True) -> dashboard.QueryVariable:
    v = (
        dashboard.QueryVariable(var)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"label_values({metric}, {var})")
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
    return _label_variable("provider", "Provider", promql.name("ai_agent_calls_started_total"))


def tenant() -> dashboard.QueryVariable:
    return _label_variable("tenant", "Tenant", promql.name("ai_agent_calls_started_total"))


def pipeline() -> dashboard.QueryVariable:
    return _label_variable("pipeline", "Pipeline", promql.name("ai_agent_calls_started_total"))


def call_id() -> dashboard.QueryVariable:
    return _label_variable("call_id", "Call", promql.name("ai_agent_call_started_timestamp_seconds"), multi=False)


def vendor() -> dashboard.QueryVariable:
    """$provider as the vendor billed: cost series carry the vendor of each service, not the call's provider."""
    return _label_variable("provider", "Vendor", promql.name("ai_agent_cost_usd_total"))
