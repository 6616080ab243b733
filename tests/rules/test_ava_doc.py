"""What docs/integrations/asterisk-ai-voice-agent.md says of the alerts is what tests/rules/ava-test.yaml proves."""

import re

import yaml

from tests.rules.rule_files import ROOT, TESTS_DIR

DOC = (ROOT / "docs" / "integrations" / "asterisk-ai-voice-agent.md").read_text()
CASES = yaml.safe_load((TESTS_DIR / "ava-test.yaml").read_text())["tests"]


def expectations() -> tuple[set[str], set[str]]:
    """Alerts some case expects to fire with job ai_engine, and alerts some case expects quiet."""
    firing, quiet = set(), set()
    for case in CASES:
        for check in case.get("alert_rule_test", []):
            alerts = check.get("exp_alerts") or []
            if not alerts:
                quiet.add(check["alertname"])
            elif any(a["exp_labels"].get("job") == "ai_engine" for a in alerts):
                firing.add(check["alertname"])
    return firing, quiet


def test_every_alert_the_doc_says_works_on_the_engines_series_fires_and_stays_quiet_on_them():
    table = DOC[DOC.index("Alerts that work on AVA's series") : DOC.index("Alerts that never fire")]
    claimed = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", table, re.M))
    names = {n for pair in claimed for n in pair if n} - {"HealthEndpointDown"}
    firing, quiet = expectations()
    assert names and names <= firing, names - firing
    assert names <= quiet, names - quiet


def test_every_alert_the_doc_says_never_fires_on_the_engines_series_has_a_quiet_case():
    listed = DOC[DOC.index("Alerts that never fire") : DOC.index("Alerts that need series")]
    names = set(re.findall(r"^- `(\w+)`", listed, re.M))
    _, quiet = expectations()
    assert names and names <= quiet, names - quiet
