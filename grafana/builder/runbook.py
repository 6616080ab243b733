"""Runbook: docs/Runbook.md in Grafana, one text panel per alert.

Every alert's ``runbook_url`` opens its panel here unless ``links.runbook_url`` in prometheus/thresholds.yml names
where the runbook is published instead; the link is then absolute wherever Grafana is reachable.
"""

from __future__ import annotations

from pathlib import Path

from grafana_foundation_sdk.builders import text
from grafana_foundation_sdk.models import text as mt

from grafana.builder import board

UID = "voice-runbook"
RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "Runbook.md"
INTRO = "Reading this runbook"


def sections(source: str | None = None) -> list[tuple[str, str]]:
    """(title, Markdown body) of the introduction, then of every ``## `` section, in the order written."""
    source = RUNBOOK.read_text() if source is None else source
    found: list[tuple[str, list[str]]] = [(INTRO, [])]
    for line in source.splitlines():
        if line.startswith("# "):
            continue
        if line.startswith("## "):
            found.append((line[3:].strip(), []))
        else:
            found[-1][1].append(line)
    return [(title, "\n".join(lines).strip() + "\n") for title, lines in found]


def panel_ids() -> dict[str, int]:
    """{section title: panel id}: the panels are numbered in order from 1, as the catalogue numbers every board."""
    return {title: number for number, (title, _) in enumerate(sections(), start=1)}


def path(section: str | None = None) -> str:
    """The path under Grafana's URL of the Runbook, or of one section's panel."""
    return f"/d/{UID}" + (f"?viewPanel=panel-{panel_ids()[section]}" if section else "")


def _panel(title: str, body: str) -> text.Panel:
    height = min(24, max(5, 3 + len(body.splitlines()) * 3 // 4))
    description = "How to read the runbook." if title == INTRO else f"The runbook of alert {title}."
    return (
        text.Panel()
        .title(title)
        .description(description)
        .content(body)
        .mode(mt.TextMode.MARKDOWN)
        .span(24)
        .height(height)
    )


def build():
    dash = board.new(
        UID,
        "Runbook",
        "One section per alert: what it means, the PromQL to confirm it, the likely causes and the fixes. "
        "Generated from docs/Runbook.md.",
        time_from="now-1h",
    )
    for title, body in sections():
        dash = dash.with_panel(_panel(title, body))
    return dash
