"""Each command's flags are declared once, in its table: one environment variable per flag, written once; every
flag the documents name is in a table, and so is every variable (or it is a secret a flag's help says it sets)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voice_monitoring.api import cli as api_cli
from voice_monitoring.exporter import cli as exporter_cli
from voice_monitoring.scorer import cli as scorer_cli
from voice_monitoring.shared.flags import Flag

ROOT = Path(__file__).resolve().parents[2]
TABLES = {"EXPORTER": exporter_cli.FLAGS, "SCORER": scorer_cli.FLAGS, "API": api_cli.FLAGS}
ENV_NAME = re.compile(r"\b(?:EXPORTER|SCORER|API)_[A-Z0-9_]*[A-Z0-9]\b")
DOCUMENTED_FLAG = re.compile(r"`(--[a-z][a-z0-9-]*)(?=[`= ])")
SECRET_SET_DIRECTLY = re.compile(r"\b([A-Z][A-Z0-9_]+) sets it directly")


def _duplicates(values) -> list:
    seen: set = set()
    return sorted({v for v in values if v in seen or seen.add(v)})


def _table_faults(table: tuple[Flag, ...]) -> list[str]:
    faults = [f"environment variable declared twice: {env}" for env in _duplicates(f.env for f in table)]
    faults += [f"flag declared twice: {name}" for name in _duplicates(f.name for f in table)]
    for flag in table:
        if flag.help.count("{env}") != 1:
            faults.append(f"{flag.name}: its help names its variable {flag.help.count('{env}')} times, not once")
        faults += [
            f"{flag.name}: its help spells out {env}" for env in sorted({f.env for f in table}) if env in flag.help
        ]
    return faults


@pytest.mark.parametrize("prefix", TABLES)
def test_each_flag_and_its_environment_variable_are_declared_once(prefix):
    assert _table_faults(TABLES[prefix]) == []


def test_a_variable_declared_twice_is_caught():
    port = Flag("--port", "EXPORTER_PORT", int, 1, "port ({env})")
    assert _table_faults((port, Flag("--other-port", "EXPORTER_PORT", int, 2, "port ({env}, EXPORTER_PORT)"))) == [
        "environment variable declared twice: EXPORTER_PORT",
        "--other-port: its help spells out EXPORTER_PORT",
    ]


def _named_in_documents(pattern: re.Pattern, known: set[str]) -> list[tuple[str, str]]:
    """(name, document) of each name ``pattern`` finds in the README and docs/ that is not ``known``."""
    named = {
        (name, doc.relative_to(ROOT).as_posix())
        for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
        for name in pattern.findall(doc.read_text())
    }
    assert named, f"the documents name nothing {pattern.pattern} matches"
    return sorted((name, doc) for name, doc in named if name not in known)


def test_every_variable_the_documents_name_is_in_its_commands_table():
    known = {f.env for table in TABLES.values() for f in table}
    known |= {f.deprecated[1] for table in TABLES.values() for f in table if f.deprecated}
    known |= {m for table in TABLES.values() for f in table for m in SECRET_SET_DIRECTLY.findall(f.help)}
    assert _named_in_documents(ENV_NAME, known) == []


def test_every_flag_the_documents_name_is_in_a_commands_table():
    """Flags of other programs (Prometheus's dotted ``--storage.tsdb.*``) do not match the pattern."""
    known = {f.name for table in TABLES.values() for f in table}
    known |= {f.deprecated[0] for table in TABLES.values() for f in table if f.deprecated}
    assert _named_in_documents(DOCUMENTED_FLAG, known) == []
