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
LABEL = re.compile(r"\{\{ \$labels\.(\w+) \}\}")


def fill(link: str, labels: dict) -> str:
    return LABEL.sub(lambda m: str(labels[m.group(1)]), link)


def sync(path: Path, links: dict[str, str], grafana_url: str) -> None:
    alert, labels, out = None, {}, []
    for line in path.read_text().splitlines(keepends=True):
        if found := re.match(r"\s*(?:- )?alertname:\s*(\w+)", line):
            alert = found.group(1)
        if found := re.match(r"\s*- exp_labels:\s*(.*)$", line):
            labels = yaml.safe_load(found.group(1)) or {}
        if (found := re.match(r"(\s*dashboard_url:\s*)\S.*$", line)) and alert:
            line = found.group(1) + grafana_url + fill(links[alert], labels) + "\n"
        out.append(line)
    path.write_text("".join(out))


def main() -> None:
    links = yaml.safe_load((ROOT / "prometheus" / "dashboard_links.yml").read_text())
    grafana_url = yaml.safe_load((ROOT / "prometheus" / "thresholds.yml").read_text())["links"]["grafana_url"]
    for path in sorted((ROOT / "tests" / "rules").glob("*-test.yaml")):
        sync(path, links, grafana_url)


if __name__ == "__main__":
    main()
