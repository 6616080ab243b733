"""promtool over the Prometheus configuration, the rule files and their unit tests."""

import subprocess

import pytest

from tests.rules.rule_files import (
    PROMETHEUS_CONFIG,
    TESTS_DIR,
    alert_coverage,
    alert_rules,
    rule_file_paths,
    unit_test_paths,
)

pytestmark = pytest.mark.binaries


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120, cwd=TESTS_DIR)


def test_prometheus_config_is_valid_and_loads_every_rule_file():
    result = promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rule_file_paths())} rule files found" in result.stdout


def test_rule_files_are_valid():
    result = promtool("check", "rules", *map(str, rule_file_paths()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass():
    paths = unit_test_paths()
    assert paths, "no tests/rules/*-test.yaml files"
    result = promtool("test", "rules", *(p.name for p in paths))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(paths), result.stdout


@pytest.fixture(scope="module")
def coverage():
    return alert_coverage(unit_test_paths(), alert_rules())


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: "-".join([r.alert, *map(str, r.labels.values())]))
def test_every_alert_rule_has_a_firing_case(rule, coverage):
    assert rule.key in coverage.firing, f"no promtool case expects {rule.alert} with labels {rule.labels} to fire"


# The dead man's switch fires always and can have no quiet case; anything else needs one.
ALWAYS_FIRING = {"Watchdog": "vector(1)"}


@pytest.mark.parametrize("name", sorted({r.alert for r in alert_rules()}))
def test_every_alert_has_a_quiet_case(name, coverage):
    if name in ALWAYS_FIRING:
        assert [r.expr for r in alert_rules() if r.alert == name] == [ALWAYS_FIRING[name]]
        return
    assert name in coverage.quiet, f"no promtool case expects {name} to stay quiet (exp_alerts: [])"


def test_every_firing_case_asserts_the_rendered_annotations(coverage):
    assert not coverage.unasserted


def test_coverage_check_notices_a_missing_case(tmp_path):
    rules = alert_rules()
    only_fires = tmp_path / "x-test.yaml"
    only_fires.write_text("""
tests:
  - name: Only the Watchdog is tested, and only firing.
    alert_rule_test:
      - eval_time: 0m
        alertname: Watchdog
        exp_alerts:
          - exp_labels: {severity: info}
""")
    coverage = alert_coverage([only_fires], rules)
    watchdog = next(r for r in rules if r.alert == "Watchdog")
    assert coverage.firing == {watchdog.key}
    assert coverage.quiet == set()
    assert coverage.unasserted == ["x-test.yaml: Only the Watchdog is tested, and only firing.: Watchdog"]
