"""docs/architecture.md names only files, classes, methods, flags and metrics that exist."""

import re
from pathlib import Path

from voice_monitoring.exporter import cli
from voice_monitoring.exporter.core import Exporter
from voice_monitoring.shared import catalogue

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text()


def test_every_file_it_names_exists():
    paths = set(re.findall(r"`((?:exporter|shared)/[\w/]+\.py)`", DOC))
    assert len(paths) >= 15
    assert [p for p in sorted(paths) if not (ROOT / p).is_file()] == []


def test_every_flag_it_names_is_a_flag_of_the_exporter():
    flags = set(re.findall(r"`(--[a-z-]+)`", DOC))
    known = {flag.name for flag in cli.FLAGS}
    assert flags and flags - known == set()


def test_every_metric_it_names_is_in_the_catalogue():
    names = set(re.findall(r"`(ai_agent_\w+)", DOC))
    assert len(names) >= 8
    assert sorted(names - set(catalogue.BY_NAME)) == []


def test_every_method_and_attribute_it_names_exists():
    exporter = Exporter()
    owners = {"CallRegistry": exporter.registry, "Exporter": exporter}
    named = re.findall(r"`(CallRegistry|Exporter)\.(\w+)`", DOC)
    assert len(named) >= 8
    assert [f"{o}.{m}" for o, m in named if not hasattr(owners[o], m)] == []
