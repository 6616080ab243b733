"""Set the expected dashboard_url of every firing case in tests/rules/*-test.yaml to the generated link.

    .venv/bin/python -m scripts.sync_rule_test_links

Run it after `make generate` moved a linked panel: each expectation becomes grafana_url plus the alert's path
from prometheus/dashboard_links.yml with the case's exp_labels filled in. Only the dashboard_url lines change.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LABEL = re.compile(r'\{\{ or \$labels\.(\w+) "(\$__all)" \}\}')


def fill(link: str, labels: dict) -> str:
    return LABEL.sub(lambda m: str(labels.get(m.group(1), m.group(2))), link)


def sync(path: Path, links: dict[str, str], grafana_url: str) -> None:
    """Rewrite the file's dashboard_url lines, in order, with the links its cases expect (read as YAML)."""
    expected = []
    for test in yaml.safe_load(path.read_text())["tests"]:
        for case in test.get("alert_rule_test") or []:
            for alert in case.get("exp_alerts") or []:
                if "dashboard_url" in (alert.get("exp_annotations") or {}):
                    labels = alert.get("exp_labels") or {}
                    expected.append(grafana_url + fill(links[case["alertname"]], labels))
    values = iter(expected)
    out = []
    for line in path.read_text().splitlines(keepends=True):
        if found := re.match(r"(\s*dashboard_url:\s*)\S.*$", line):
            line = found.group(1) + next(values) + "\n"
        out.append(line)
    assert next(values, None) is None, f"{path.name}: dashboard_url lines and cases disagree"
    path.write_text("".join(out))


def main() -> None:
    links = yaml.safe_load((ROOT / "prometheus" / "dashboard_links.yml").read_text())
    grafana_url = yaml.safe_load((ROOT / "prometheus" / "thresholds.yml").read_text())["links"]["grafana_url"]
    for path in sorted((ROOT / "tests" / "rules").glob("*-test.yaml")):
        sync(path, links, grafana_url)


if __name__ == "__main__":
    main()
