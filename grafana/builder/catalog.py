"""Every dashboard, rendered to the JSON Grafana provisions."""

from __future__ import annotations

import json
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from grafana.builder import (
    alert_links,
    audio_quality,
    call_detail,
    call_quality,
    conversation_flow,
    cost_tracking,
    coverage,
    overview,
    provider_performance,
    runbook,
)

DASHBOARDS = {
    module.UID: module
    for module in (
        overview,
        call_quality,
        provider_performance,
        audio_quality,
        conversation_flow,
        cost_tracking,
        call_detail,
        runbook,
    )
}


def build_all() -> dict[str, dict]:
    """{uid: dashboard JSON as a dict}."""
    return {uid: coverage.with_no_value(uid, _to_dict(module.build())) for uid, module in DASHBOARDS.items()}


def _to_dict(builder) -> dict:
    board = json.loads(JSONEncoder(sort_keys=True).encode(builder.build()))
    for number, panel in enumerate(_walk(board["panels"]), start=1):
        panel["id"] = number
    # The SDK puts every link and annotation toggle "inControlsMenu", which some Grafana 12 builds render nowhere
    # (grafana#115084); without a placement they sit above the panels.
    for item in board.get("links", []) + board.get("annotations", {}).get("list", []):
        item.pop("placement", None)
    return board


def _walk(panels):
    for panel in panels:
        yield panel
        yield from _walk(panel.get("panels", []))


def render(board: dict) -> str:
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def write_all(out: Path, links_file: Path) -> list[Path]:
    """Every dashboard into ``out``, and the alerts' dashboard links into ``links_file``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    boards = build_all()
    for uid, board in boards.items():
        path = out / f"{uid}.json"
        path.write_text(render(board))
        written.append(path)
    links_file.write_text(alert_links.render(boards))
    runbook_links_file = links_file.with_name(alert_links.RUNBOOK_LINKS_FILE.name)
    runbook_links_file.write_text(alert_links.render_runbook(boards))
    return written + [links_file, runbook_links_file]
