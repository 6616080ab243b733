"""Reading built dashboards as Grafana would: panels, their queries, variables, links."""

from __future__ import annotations

import math
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


def substitute(expr: str, variables: dict[str, str], macros: dict[str, str]) -> str:
    """An expression as Grafana sends it: macros (``$__range``...) and variables replaced by their values."""
    for macro, value in macros.items():
        expr = expr.replace(macro, value)
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", variables[name]).replace("$" + name, variables[name])
    assert "$" not in expr, f"unsubstituted variable in {expr!r}"
    return expr


def has_data(result: list) -> bool:
    """Whether a query's result (instant or range) holds a value Grafana would draw: a finite number."""
    for series in result:
        values = [series["value"]] if "value" in series else series.get("values", [])
        if any(math.isfinite(float(v[1])) for v in values):
            return True
    return False


def fill_link(url: str, fields: dict[str, str]) -> str:
    """A data link's URL with ``${__data.fields.x}`` and ``${__field.labels.x}`` taken from the clicked data."""

    def value(match: re.Match) -> str:
        return fields[match.group(2)]

    url = re.sub(r"\$\{__(data\.fields|field\.labels)\.(\w+)\}", value, url)
    return url.replace("${__url_time_range}", "")


def drill_down_table(board: dict) -> dict | None:
    """The table of the dashboard whose rows open Call Detail."""
    tables = [
        p
        for p in queried_panels(board)
        if p["type"] == "table" and any("/d/voice-call-detail" in link["url"] for link in data_links(p))
    ]
    assert len(tables) <= 1, [t["title"] for t in tables]
    return tables[0] if tables else None


def joined_rows(results: list[list[dict]], by: str = "call_id") -> list[dict]:
    """Grafana's joinByField over instant table results: one row per ``by`` value, every query's labels and value
    (as ``Value #<ref>``) side by side, in the first query's order."""
    rows: dict[str, dict] = {}
    for ref, result in zip("ABCDEFGHIJ", results, strict=False):
        for series in result:
            key = series["metric"].get(by)
            if key is None:
                continue
            row = rows.setdefault(key, {})
            row.update({k: v for k, v in series["metric"].items() if k != "__name__"})
            row[f"Value #{ref}"] = float(series["value"][1])
    return list(rows.values())
