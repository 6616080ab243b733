"""docs/Runbook.md has one complete section per alert, and its PromQL is valid and reads known metrics."""

import re
import subprocess

import pytest
import yaml

from tests.promql_names import PLATFORM_SERIES, metric_names, recorded_names
from tests.rules.rule_files import alert_rules, runbook_sections
from voice_monitoring.shared import catalogue

ALERT_NAMES = sorted({r.alert for r in alert_rules()})
PARTS = ("**Meaning.**", "**Confirm.**", "**Likely causes.**", "**Fixes.**")
PROMQL_BLOCK = re.compile(r"```promql\n(.*?)```", re.S)


def queries(body: str) -> list[str]:
    return [line for block in PROMQL_BLOCK.findall(body) for line in block.splitlines() if line.strip()]


def test_sections_are_exactly_the_alerts():
    assert sorted(runbook_sections()) == ALERT_NAMES


@pytest.mark.parametrize("name", ALERT_NAMES)
def test_section_says_what_it_means_how_to_confirm_causes_and_fixes(name):
    body = runbook_sections()[name]
    positions = [body.find(part) for part in PARTS]
    assert -1 not in positions and positions == sorted(positions), f"{name} needs {PARTS} in order"
    assert queries(body), f"{name} has no PromQL to confirm it with"


@pytest.mark.parametrize("name", ALERT_NAMES)
def test_runbook_queries_read_known_metrics(name):
    known = catalogue.series_names() | recorded_names() | PLATFORM_SERIES
    for query in queries(runbook_sections()[name]):
        assert metric_names(query) <= known, f"{query!r} reads {metric_names(query) - known}"


@pytest.mark.binaries
def test_runbook_queries_parse(tmp_path):
    rules = [
        {"record": f"runbook:query:{i}", "expr": q}
        for i, q in enumerate(q for body in runbook_sections().values() for q in queries(body))
    ]
    path = tmp_path / "runbook-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "runbook", "rules": rules}]}))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout
