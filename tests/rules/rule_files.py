"""Reading the Prometheus rule files, the promtool test files and the runbook for the rule tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES_DIR = PROMETHEUS_DIR / "rules"
ALERTMANAGER_CONFIG = ROOT / "alertmanager" / "alertmanager.yml"
TEMPLATES_DIR = ROOT / "alertmanager" / "templates"
RUNBOOK = ROOT / "docs" / "Runbook.md"
TESTS_DIR = Path(__file__).resolve().parent

SEVERITIES = ("critical", "warning", "info", "none")
DASHBOARD_UIDS = (
    "voice-system-overview",
    "voice-call-quality",
    "voice-provider-performance",
    "voice-audio-quality",
    "voice-conversation-flow",
    "voice-cost-tracking",
    "voice-call-detail",
)


@dataclass
class Rule:
    file: str
    group: str
    body: dict

    @property
    def alert(self) -> str | None:
        return self.body.get("alert")

    @property
    def record(self) -> str | None:
        return self.body.get("record")

    @property
    def expr(self) -> str:
        return str(self.body["expr"])

    @property
    def labels(self) -> dict:
        return self.body.get("labels") or {}

    @property
    def annotations(self) -> dict:
        return self.body.get("annotations") or {}

    @property
    def key(self) -> tuple[str, tuple]:
        """An alert rule's name and static labels: what tells rules of the same name apart."""
        return self.alert, tuple(sorted(self.labels.items()))


def alertmanager_config_for_025(directory: Path) -> Path:
    """The committed alertmanager.yml as Debian's Alertmanager 0.25 (and its amtool) can load it: webhook URLs
    inline, read from the committed secret examples, instead of from ``url_file`` (0.26 and later)."""
    from scripts.native_stack import inline_webhook_url_files

    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for receiver in config.get("receivers", []):
        for webhook in receiver.get("webhook_configs", []):
            if "url_file" in webhook:
                name = Path(webhook["url_file"]).relative_to("/etc/alertmanager/secrets")
                webhook["url_file"] = str(ALERTMANAGER_CONFIG.parent / "secrets.example" / name)
    inline_webhook_url_files(config)
    config["templates"] = [str(ALERTMANAGER_CONFIG.parent / t) for t in config.get("templates", [])]
    path = Path(directory) / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def rule_file_paths() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def load_rules(paths: list[Path] | None = None) -> list[Rule]:
    rules = []
    for path in paths or rule_file_paths():
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules.extend(Rule(path.name, group["name"], body) for body in group["rules"])
    return rules


def alert_rules() -> list[Rule]:
    return [r for r in load_rules() if r.alert]


def unit_test_paths() -> list[Path]:
    return sorted(TESTS_DIR.glob("*-test.yaml"))


@dataclass
class AlertCoverage:
    firing: set[tuple[str, tuple]] = field(default_factory=set)
    quiet: set[str] = field(default_factory=set)
    unasserted: list[str] = field(default_factory=list)  # firing cases that do not assert the annotations


ASSERTED_ANNOTATIONS = ("summary", "description", "runbook_url", "dashboard_url")


def alert_coverage(test_paths: list[Path], rules: list[Rule]) -> AlertCoverage:
    """Which alert rules the promtool test files expect to fire, and which alerts they expect to stay quiet."""
    coverage = AlertCoverage()
    by_name: dict[str, list[Rule]] = {}
    for rule in rules:
        by_name.setdefault(rule.alert, []).append(rule)
    for path in test_paths:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test") or []:
                name = case["alertname"]
                expected = case.get("exp_alerts") or []
                if not expected:
                    coverage.quiet.add(name)
                for alert in expected:
                    labels = alert.get("exp_labels") or {}
                    for rule in by_name.get(name, []):
                        if all(labels.get(k) == v for k, v in rule.labels.items()):
                            coverage.firing.add(rule.key)
                    annotations = alert.get("exp_annotations") or {}
                    if any(not annotations.get(a) for a in ASSERTED_ANNOTATIONS):
                        coverage.unasserted.append(f"{path.name}: {test['name']}: {name}")
    return coverage


# --- PromQL: metric names come from the shared reader (tests/promql_names.py); range durations from here --------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_RANGE = re.compile(r"\[([^\]]+)\]")
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(text: str) -> float:
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r}")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def range_durations(expr: str) -> list[str]:
    """Every range in an expression: [5m] and both parts of a subquery [1h:1m]."""
    text = _STRING.sub('""', expr)
    out = []
    for inside in _RANGE.findall(text):
        out.extend(part.strip() for part in inside.split(":") if part.strip())
    return out


# --- the runbook ---------------------------------------------------------------------------------------------


def runbook_sections(text: str | None = None) -> dict[str, str]:
    """{section title: body} for every '## ' section."""
    text = RUNBOOK.read_text() if text is None else text
    sections: dict[str, str] = {}
    title = None
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
            sections[title] = ""
        elif title is not None:
            sections[title] += line + "\n"
    return sections


def anchor(title: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
