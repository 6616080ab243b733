"""Reading built dashboards as Grafana would: panels, their queries, variables, links."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from voice_monitoring.shared import catalogue


def panels(board: dict):
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queried_panels(board: dict):
    return [p for p in panels(board) if p.get("targets")]


def panel_by_id(board: dict, panel_id: int) -> dict:
    (panel,) = [p for p in panels(board) if p["id"] == panel_id]
    return panel


def panel_by_title(board: dict, title: str) -> dict:
    (panel,) = [p for p in panels(board) if p.get("title") == title]
    return panel


def variables(board: dict) -> dict[str, dict]:
    return {v["name"]: v for v in board.get("templating", {}).get("list", [])}


def data_links(panel: dict) -> list[dict]:
    return panel.get("fieldConfig", {}).get("defaults", {}).get("links", [])


def parse_url(url: str) -> tuple[str, int | None, dict[str, str]]:
    """(dashboard uid, viewPanel id or None, {variable: value}) of a ``/d/<uid>?...`` link."""
    parts = urlsplit(url)
    match = re.search(r"/d/([\w-]+)", parts.path)
    assert match, f"not a dashboard link: {url}"
    panel, values = None, {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "viewPanel":
            panel = int(value.removeprefix("panel-"))
        elif key.startswith("var-"):
            values[key[4:]] = value
    return match.group(1), panel, values


def series_labels(name: str) -> set[str]:
    """Labels a series carries: from the catalogue, or for a recorded ``level:metric:ops`` name from its level
    (``provider_service`` aggregates by provider and service; ``fleet`` by nothing)."""
    for metric in catalogue.METRICS:
        if name in metric.series_names:
            return set(metric.labels) | ({"le"} if name.endswith("_bucket") else set())
    if name.count(":") == 2:
        level = name.split(":")[0]
        return set() if level == "fleet" else set(level.split("_"))
    return set()
