"""Which voice panels an integration's end-to-end run fills, checked against what grafana/builder/coverage.py
declares: every query of every voice panel is run against the run's Prometheus, as Grafana would send it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from grafana.builder import build_all, coverage
from scripts.processes import Service
from tests.dashboards.board_walk import has_data, substitute
from tests.harness import prometheus_config, query, start_exporter, start_prometheus, start_scorer, wait_for
from tests.promql_names import metric_names
from voice_monitoring.shared import catalogue

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = sorted(str(p) for p in (ROOT / "prometheus" / "rules").glob("*.yml"))

# Grafana macros as Grafana would expand them for a 1 s scrape interval and a range covering a whole test.
MACROS = {"$__rate_interval": "30s", "$__interval": "1s", "$__range": "10m"}
# Every multi-value variable at All.
RANGE_VARIABLES = {"provider": ".*", "tenant": ".*", "pipeline": ".*", "vendor": ".*", "agent": ".*"}
# The exporter publishes its label-less metrics at zero from its start, before any call: a panel reading only these
# counts as filled once a call has moved one of them.
PUBLISHED_AT_START = {
    name: metric
    for metric in catalogue.METRICS
    if metric.publisher == catalogue.EXPORTER and metric.scope == catalogue.FLEET and not metric.labels
    for name in metric.series_names
}


@dataclass
class MonitoringStack:
    exporter: Service
    prometheus: Service
    scorer: Service


@contextmanager
def monitoring_stack(
    tmp_path: Path, engines: tuple[str, ...] = (), exporter_env: dict | None = None
) -> Iterator[MonitoringStack]:
    """The stack as shipped, every part scraped each second: an exporter, a Prometheus with the rule files, a
    scorer scoring each second; ``engines`` (host:port) are scraped as job ai_engine. Every process is stopped
    on the way out."""
    with ExitStack() as running:
        exporter = running.enter_context(start_exporter(tmp_path, env=exporter_env))
        targets = {"voice_exporter": [exporter.url.removeprefix("http://")]}
        if engines:
            targets["ai_engine"] = list(engines)
        prometheus = running.enter_context(start_prometheus(tmp_path, prometheus_config(targets, RULE_FILES)))
        scorer = running.enter_context(start_scorer(tmp_path, prometheus.url, "--interval", "1"))
        targets["voice_scorer"] = [scorer.url.removeprefix("http://")]
        targets["prometheus"] = [prometheus.url.removeprefix("http://")]
        config_file = Path(prometheus.argv[1].removeprefix("--config.file="))
        config_file.write_text(yaml.safe_dump(prometheus_config(targets, RULE_FILES)))
        requests.post(prometheus.url + "/-/reload", timeout=10).raise_for_status()
        wait_for(
            lambda: len(query(prometheus.url, "up == 1")) == sum(len(hosts) for hosts in targets.values()),
            30,
            what="Prometheus scraping every target",
        )
        yield MonitoringStack(exporter, prometheus, scorer)


def empty_voice_panels(prometheus_url: str, call_id: str) -> dict[coverage.PanelKey, list[str]]:
    """{(uid, title): its queries} of every voice panel none of whose queries returns data; $call_id is
    ``call_id``. A query Prometheus refuses fails the check."""
    variables = {**RANGE_VARIABLES, "call_id": call_id}
    empty = {}
    for key, panel in coverage.voice_panels(build_all()).items():
        exprs = [substitute(target["expr"], variables, MACROS) for target in panel["targets"]]
        if not any(has_data(query(prometheus_url, expr)) for expr in exprs) or not _moved(prometheus_url, panel):
            empty[key] = exprs
    return empty


def _moved(prometheus_url: str, panel: dict) -> bool:
    """False for a panel that reads only series published at start, none of which a call has moved."""
    names = {name for target in panel["targets"] for name in metric_names(target["expr"])}
    if not names or not names <= set(PUBLISHED_AT_START):
        return True
    counts = {m.name + "_count" if m.type == "histogram" else m.name for m in map(PUBLISHED_AT_START.get, names)}
    return any(query(prometheus_url, f"max_over_time({name}[{MACROS['$__range']}]) > 0") for name in counts)


def assert_panel_coverage(integration: str, prometheus_url: str, call_id: str) -> None:
    """Fails unless the voice panels that return no data on ``prometheus_url`` are exactly the ones the coverage
    source declares ``integration`` cannot fill: one more is a regression, one fewer means the source must say the
    integration now fills it. A panel counts as filled when any of its queries returns a value, which is when
    Grafana draws it instead of its no-value text."""
    declared = coverage.gaps(integration)
    empty = empty_voice_panels(prometheus_url, call_id)
    unexpected = [
        f"{uid} / {title}: {' | '.join(exprs)}" for (uid, title), exprs in empty.items() if (uid, title) not in declared
    ]
    filled = [
        f"{uid} / {title} (declared: {reason})"
        for (uid, title), reason in declared.items()
        if (uid, title) not in empty
    ]
    message = []
    if unexpected:
        message.append(
            f"{integration}: voice panels without data that coverage.py does not declare:\n" + "\n".join(unexpected)
        )
    if filled:
        message.append(
            f"{integration}: panels coverage.py declares empty now have data; remove them from its gaps:\n"
            + "\n".join(filled)
        )
    assert not message, "\n".join(message)
