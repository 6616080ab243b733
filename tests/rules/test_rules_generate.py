"""prometheus/generate.py: the committed rules match thresholds.yml, and the generator refuses mistakes."""

import re
import subprocess
import sys

import pytest
import yaml

from prometheus import generate
from tests.rules.rule_files import ROOT


def test_committed_rules_match_the_sources_and_thresholds():
    result = subprocess.run(
        [sys.executable, "-m", "prometheus.generate", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def write_thresholds(tmp_path, **changes):
    settings = yaml.safe_load(generate.THRESHOLDS.read_text())
    settings["thresholds"].update(changes)
    path = tmp_path / "thresholds.yml"
    path.write_text(yaml.safe_dump(settings))
    return path


def test_a_threshold_changed_in_one_place_reaches_the_rule(tmp_path):
    rendered = generate.render(thresholds=write_thresholds(tmp_path, turn_latency_p95_warning_seconds=3))
    assert "provider:ai_agent_turn_response_seconds:p95_rate5m > 3\n" in rendered["latency.yml"]
    assert generate.stale(rendered) == ["latency.yml"]


def test_the_slo_threshold_becomes_the_matching_bucket_label(tmp_path):
    rendered = generate.render(thresholds=write_thresholds(tmp_path, slo_turn_latency_seconds=1))
    assert 'ai_agent_turn_response_seconds_bucket{le="1.0"}' in rendered["slo.yml"]


def test_an_slo_threshold_between_buckets_is_refused(tmp_path):
    with pytest.raises(ValueError, match="bucket boundary"):
        generate.render(thresholds=write_thresholds(tmp_path, slo_turn_latency_seconds=0.75))


def test_an_unused_threshold_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no_rule_reads_this"):
        generate.render(thresholds=write_thresholds(tmp_path, no_rule_reads_this=1))


def test_an_unknown_placeholder_is_refused(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "x.yml").write_text("groups: [{name: x, rules: [{record: a:b:c, expr: 'up > ${typo}'}]}]\n")
    with pytest.raises(KeyError, match="typo"):
        generate.render(source_dir=source)


def test_a_published_runbook_replaces_the_runbook_dashboard_in_every_link(tmp_path):
    settings = yaml.safe_load(generate.THRESHOLDS.read_text())
    settings["links"]["runbook_url"] = "https://runbooks.example.com/voice/Runbook.md"
    path = tmp_path / "thresholds.yml"
    path.write_text(yaml.safe_dump(settings))
    rendered = generate.render(thresholds=path)
    links = re.findall(r"runbook_url: (\S+)", "".join(rendered.values()))
    assert (
        links and "runbook_url: https://runbooks.example.com/voice/Runbook.md#providerdown\n" in rendered["health.yml"]
    )
    assert all(link.startswith("https://runbooks.example.com/voice/Runbook.md#") for link in links)


def test_an_alert_without_a_runbook_section_is_refused(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "x.yml").write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: NoSuchSection\n        expr: up == 0\n"
        "        annotations:\n          runbook_url: ${runbook_link}\n"
    )
    with pytest.raises(KeyError, match="NoSuchSection"):
        generate.render(source_dir=source)
