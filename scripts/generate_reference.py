"""``python -m scripts.generate_reference``: write the event JSON Schema and docs/metrics.md from the code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from voice_monitoring.exporter import events, fleet
from voice_monitoring.exporter.core import Limits
from voice_monitoring.shared import catalogue

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "exporter" / "schema" / "events-v1.schema.json"
METRICS_DOC_PATH = ROOT / "docs" / "metrics.md"

_SCOPES = (
    (
        catalogue.FLEET,
        "Fleet metrics",
        "Aggregated over calls; never labelled with `call_id`. Each holds at most {budget:,} series "
        "(`--series-budget`) plus one: beyond that, updates with a new label combination go to the series whose "
        "every label is `other` and are counted in `ai_agent_exporter_series_overflow_total{{metric}}`. So the "
        "{metrics} fleet metrics expose at most {series:,} series, {samples:,} samples with the histogram "
        "buckets, whatever the label values sent.",
    ),
    (
        catalogue.PER_CALL,
        "Per-call series",
        "One series per live call, labelled `call_id`, `provider`, `tenant`; removed after the call's grace "
        "period (default 2 minutes after `call.ended`) or idle timeout (default 10 minutes without events). "
        "At most {max_live_calls:,} calls are held (`--max-live-calls`); events of further new calls are refused.",
    ),
    (catalogue.SELF, "Self-metrics", "The health of the exporter and the scorer themselves."),
)


# The agent dimension's labels and how many values each can take: the agent and its version are folded by the
# label limit (plus their `other`), the end reason is a closed set.
_AGENT_LABEL_VALUES = {"agent": None, "agent_version": None, "reason": len(events.END_REASONS)}


def agent_dimension_ceiling(label_values: int, series_budget: int) -> tuple[list[tuple[str, int, int]], int, int]:
    """Per fleet metric labelled by agent: (name, series, samples) at most, and the totals."""
    rows = []
    for m in catalogue.METRICS:
        if m.scope != catalogue.FLEET or "agent" not in m.labels:
            continue
        series = 1
        for label in m.labels:
            series *= _AGENT_LABEL_VALUES[label] or label_values + 1
        series = min(series, series_budget + 1)
        rows.append((m.name, series, series * (len(m.buckets) + 3 if m.type == "histogram" else 1)))
    return rows, sum(r[1] for r in rows), sum(r[2] for r in rows)


def agent_dimension_text() -> list[str]:
    limits = Limits()
    rows, series, samples = agent_dimension_ceiling(limits.label_values, limits.series_budget)
    lines = [
        "### The agent dimension",
        "",
        f"`agent` and `agent_version` keep at most {limits.label_values} values each (`--label-limit`); further "
        "values become `other` and are counted in `ai_agent_exporter_label_values_folded_total{label}`. The version "
        "is only on counters and on the per-call `ai_agent_call_agent_info`, never on a histogram: the turn "
        "latency histogram by agent has one series set per agent, not per version. So the agent dimension adds at "
        f"most {series:,} series, {samples:,} samples (within the ceiling above):",
        "",
        "| metric | series at most | samples at most |",
        "|---|---|---|",
    ]
    lines += [f"| `{name}` | {n:,} | {k:,} |" for name, n, k in rows]
    return lines + [""]


def schema_text() -> str:
    return json.dumps(events.json_schema(), indent=2) + "\n"


def metrics_doc() -> str:
    lines = [
        "# Metrics reference",
        "",
        "<!-- Generated from shared/catalogue.py by `make generate`; do not edit by hand. -->",
        "",
        "Every metric the stack publishes. `exporter` metrics come from `voice-exporter`, `scorer` metrics "
        "from `voice-scorer`. Latencies are in seconds; latency histograms have buckets "
        + ", ".join(f"{b:g}" for b in catalogue.LATENCY_BUCKETS)
        + " s.",
        "",
    ]
    metrics, series, samples = fleet.ceiling()
    ceiling = {"metrics": metrics, "series": series, "samples": samples, "max_live_calls": Limits().max_live_calls}
    for scope, title, blurb in _SCOPES:
        lines += [
            f"## {title}",
            "",
            blurb.format(budget=fleet.DEFAULT_SERIES_BUDGET, **ceiling),
            "",
            "| name | type | labels | unit | published by | help |",
            "|---|---|---|---|---|---|",
        ]
        for m in catalogue.METRICS:
            if m.scope != scope:
                continue
            labels = ", ".join(f"`{label}`" for label in m.labels) or "none"
            lines.append(f"| `{m.name}` | {m.type} | {labels} | {m.unit} | {m.publisher} | {m.help} |")
        lines.append("")
        if scope == catalogue.FLEET:
            lines += agent_dimension_text()
    return "\n".join(lines)


ARTEFACTS = {SCHEMA_PATH: schema_text, METRICS_DOC_PATH: metrics_doc}


def main() -> int:
    for path, render in ARTEFACTS.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render())
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
