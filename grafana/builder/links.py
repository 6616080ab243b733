"""Links: from a panel's data to another dashboard, from a dashboard to the runbook.

Data links keep the time range (``${__url_time_range}``), so a call found in the last six hours opens in Call
Detail over the same six hours.
"""

from __future__ import annotations

from urllib.parse import quote

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as md

from grafana.builder import alert_thresholds
from grafana.builder import runbook as book

TIME_RANGE = "${__url_time_range}"


def path(uid: str) -> str:
    return f"/d/{uid}"


def url(uid: str, panel_id: int | None = None, **variables: str) -> str:
    """``/d/<uid>?viewPanel=panel-<id>&var-<name>=<value>``; values are Grafana or Go templates, kept as written."""
    params = [f"viewPanel=panel-{panel_id}"] if panel_id is not None else []
    params += [f"var-{name}={value}" for name, value in variables.items()]
    return path(uid) + ("?" + "&".join(params) if params else "")


def to_dashboard(title: str, uid: str, **variables: str) -> dashboard.DashboardLink:
    """A data link to dashboard ``uid`` over the same time range, setting its variables from the clicked data."""
    target = url(uid, **variables)
    return dashboard.DashboardLink(title).url(target + ("&" if "?" in target else "?") + TIME_RANGE)


def runbook(section: str = "") -> str:
    """Where the runbook is published (``links.runbook_url``), else the Runbook dashboard; ``section`` an alert."""
    base = alert_thresholds.link("runbook_url")
    if base:
        return base + (f"#{quote(section.lower())}" if section else "")
    return book.path(section or None)


def runbook_link() -> dashboard.DashboardLink:
    """A dashboard link to the runbook, beside the dashboards menu."""
    return (
        dashboard.DashboardLink("Runbook")
        .type(md.DashboardLinkType.LINK)
        .url(runbook())
        .icon("doc")
        .target_blank(True)
        .tooltip("One section per alert: meaning, PromQL to confirm, causes, fixes")
    )


def dashboard_link(title: str, uid: str, tooltip: str) -> dashboard.DashboardLink:
    """A dashboard link to ``uid``, keeping the time range and the variables both dashboards share."""
    return (
        dashboard.DashboardLink(title)
        .type(md.DashboardLinkType.LINK)
        .url(path(uid))
        .icon("dashboard")
        .tooltip(tooltip)
        .include_vars(True)
        .keep_time(True)
    )
