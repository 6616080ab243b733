"""``python -m grafana.builder.coverage_doc``: write docs/integrations/coverage.md from the coverage source
(grafana/builder/coverage.py) and the built dashboards."""

from __future__ import annotations

import argparse
from pathlib import Path

from grafana.builder import coverage
from grafana.builder.catalog import build_all

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "docs" / "integrations" / "coverage.md"
FILLED = "✓"


def measured(integration: coverage.Integration) -> bool:
    """Whether the integration's end-to-end test asserts its coverage."""
    run = ROOT / integration.run
    text = run.read_text() if run.is_file() else ""
    return "assert_panel_coverage(" in text and f'"{integration.key}"' in text


def _row(cells) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"


def render() -> str:
    boards = build_all()
    voice = coverage.voice_panels(boards)
    total = len(voice)
    integrations = coverage.INTEGRATIONS
    gaps = {integration.key: coverage.gaps(integration.key) for integration in integrations}
    lines = [
        "# Dashboard coverage by integration",
        "",
        "<!-- Generated from grafana/builder/coverage.py by `make generate`; do not edit by hand. -->",
        "",
        "Which dashboard panels each integration fills, and why it cannot fill the others.",
        "",
        "A **voice panel** is a panel whose queries read voice metrics: the `ai_agent_*` fleet and per-call series "
        "and the series the recording rules make from them. Panels that show only the stack's own health "
        "(Prometheus, Alertmanager, the provider probes, the exporter's and the scorer's self-metrics) and the "
        f"Runbook are not counted. The dashboards have **{total} voice panels**.",
        "",
        "Each count comes from the integration's end-to-end test: its calls go through a real exporter, a Prometheus "
        "scraping every second with the rule files, and the scorer; then every query of every voice panel runs as "
        "Grafana sends it (`$call_id` the test's call, the other variables at All), and "
        "`assert_panel_coverage` ([tests/dashboards/panel_coverage.py](../../tests/dashboards/panel_coverage.py)) "
        "fails unless the panels left without data are exactly the ones this page lists for the integration. A "
        "panel counts as filled when any of its queries returns a value, which is when Grafana draws it; a panel "
        "reading only series the exporter publishes at zero from its start (VAD confidence, TTS gating, audio "
        "capture) counts once a call has moved one of them.",
        "",
        "In Grafana, a panel that some integration cannot fill says, when it has no data, which integrations feed "
        "it and why the others cannot (its no-value text).",
        "",
        _row(["", *(f"[{i.name}]({i.doc})" for i in integrations)]),
        _row(["---"] * (len(integrations) + 1)),
        _row(["voice panels filled", *(f"**{total - len(gaps[i.key])}/{total}**" for i in integrations)]),
        _row(
            [
                "measured by",
                *(f"[{Path(i.run).name}](../../{i.run})" if measured(i) else "not yet measured" for i in integrations),
            ]
        ),
        "",
        f"{FILLED}: filled in the integration's run. A reason starting with *only*: the integration reports it, "
        "but its run did not play it, so it is not counted.",
        "",
    ]
    for uid, board in boards.items():
        keys = [key for key in voice if key[0] == uid]
        if not keys:
            continue
        lines += [f"## {board['title']}", "", _row(["panel", *(i.name for i in integrations)])]
        lines.append(_row(["---"] * (len(integrations) + 1)))
        for key in keys:
            lines.append(_row([key[1], *(gaps[i.key].get(key, FILLED) for i in integrations)]))
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m grafana.builder.coverage_doc", description=__doc__)
    parser.add_argument("--out", type=Path, default=DOC_PATH, help="file to write")
    args = parser.parse_args()
    args.out.write_text(render())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
