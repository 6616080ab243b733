"""The coverage source (grafana/builder/coverage.py) names panels that exist, and the dashboards carry its
no-value texts where Grafana reads them."""

from collections import Counter

import pytest
import yaml

from grafana.builder import build_all, coverage
from tests.dashboards.board_walk import panels
from tests.promql_names import RULES_DIR, metric_names
from voice_monitoring.shared import catalogue

BOARDS = build_all()
VOICE = coverage.voice_panels(BOARDS)
# Grafana shows the no-value text in the panel's place; beyond this it no longer fits a small stat panel.
NO_VALUE_LENGTH = 240


def _all_panels():
    for uid, board in BOARDS.items():
        for panel in panels(board):
            yield uid, panel


def test_every_integration_has_its_gaps_declared_once():
    assert sorted([*coverage.GAPS, *coverage.FILLS_ONLY]) == sorted(coverage.BY_KEY)


@pytest.mark.parametrize("integration", list(coverage.BY_KEY))
def test_every_panel_the_source_names_is_a_voice_panel_of_the_dashboards(integration):
    named = set(coverage.GAPS.get(integration, {})) | set(coverage.FILLS_ONLY.get(integration, ()))
    missing = named - set(VOICE)
    assert not missing, f"{integration}: the coverage source names panels that are no voice panel: {sorted(missing)}"


def test_voice_panel_titles_are_unique_within_their_dashboard():
    titles = Counter((uid, panel.get("title")) for uid, panel in _all_panels() if (uid, panel.get("title")) in VOICE)
    assert [key for key, n in titles.items() if n > 1] == []


def _recording_rules() -> dict[str, str]:
    rules = {}
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            rules.update({rule["record"]: rule["expr"] for rule in group.get("rules") or [] if "record" in rule})
    return rules


def test_voice_panels_are_the_panels_reading_voice_series():
    """Cross-check with the PromQL reader the dashboard lint uses: a voice panel reads a catalogued series that is
    not a self-metric, or a series recorded from one."""
    voice_series = {name for m in catalogue.METRICS if m.scope != catalogue.SELF for name in m.series_names}
    rules = _recording_rules()

    def is_voice(name: str) -> bool:
        return name in voice_series or (name in rules and any(map(is_voice, metric_names(rules[name]))))

    expected = set()
    for uid, panel in _all_panels():
        names = {name for target in panel.get("targets", []) for name in metric_names(target["expr"])}
        if any(map(is_voice, names)):
            expected.add((uid, panel["title"]))
    assert set(VOICE) == expected
    assert "voice-runbook" not in {uid for uid, _ in VOICE}


def test_a_panel_some_integration_cannot_fill_names_the_integrations_that_feed_it():
    """Grafana reads the no-value text at fieldConfig.defaults.noValue (the dashboard schema test checks the place);
    an integration whose run only did not play what the panel shows still feeds it."""
    gaps = {integration.key: coverage.gaps(integration.key) for integration in coverage.INTEGRATIONS}
    cannot = {key for panels in gaps.values() for key, reason in panels.items() if reason not in coverage.NOT_PLAYED}
    marked = {}
    for uid, panel in _all_panels():
        no_value = panel.get("fieldConfig", {}).get("defaults", {}).get("noValue")
        if no_value is not None:
            marked[(uid, panel["title"])] = no_value
    assert set(marked) == cannot
    for key, text in marked.items():
        assert len(text) <= NO_VALUE_LENGTH, (key, text)
        fed_by, _, not_by = text.partition("; not by ")
        for integration in coverage.INTEGRATIONS:
            reason = gaps[integration.key].get(key)
            if reason is None or reason in coverage.NOT_PLAYED:
                assert integration.short in fed_by, (key, integration.key, text)
            else:
                assert integration.short in not_by and reason in not_by, (key, integration.key, text)
