"""``python -m scripts.generate_reference``: write the event JSON Schema and docs/metrics.md from the code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from voice_monitoring.exporter import events, fleet
from voice_monitoring.exporter.mapping import Limits
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
