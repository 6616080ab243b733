"""Engines are configured in prometheus/targets/engines.yml: the committed file lists none, and an engine added to
the file of a running Prometheus is scraped without a restart or a reload."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tests.harness import prometheus_config, query, start_exporter, start_prometheus, wait_for
from tests.rules.rule_files import PROMETHEUS_CONFIG

pytestmark = pytest.mark.binaries


def test_an_engine_added_to_the_targets_file_is_scraped_without_a_reload(tmp_path):
    [engine_job] = [
        j for j in yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"] if j["job_name"] == "ai_engine"
    ]
    [sd] = engine_job["file_sd_configs"]
    committed = PROMETHEUS_CONFIG.parent / sd["files"][0]
    assert yaml.safe_load(committed.read_text()) == []
    targets_file = tmp_path / "engines.yml"
    shutil.copy(committed, targets_file)
    config = prometheus_config({})
    config["scrape_configs"] = [{"job_name": "ai_engine", "file_sd_configs": [{"files": [str(targets_file)]}]}]
    # Any HTTP /metrics stands in for an engine: the exporter serves one.
    with start_exporter(tmp_path) as engine, start_prometheus(tmp_path, config) as prometheus:
        assert not query(prometheus.url, 'up{job="ai_engine"}')
        targets_file.write_text(yaml.safe_dump([{"targets": [engine.url.removeprefix("http://")]}]))
        wait_for(lambda: query(prometheus.url, 'up{job="ai_engine"} == 1'), 60, what="the engine scraped")
