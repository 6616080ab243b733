"""overlay and build on small dataclasses of their own: only the named fields change, each value is converted by
its annotation, nested dataclasses and mappings of them are laid over in place, and every error says where."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pytest

from voice_monitoring.scorer.overlay import ParameterError, build, overlay


@dataclass(frozen=True)
class Gate:
    limit: float
    count: int = 1

    def __post_init__(self):
        if self.limit < 0:
            raise ValueError(f"limit must be >= 0, not {self.limit}")


@dataclass(frozen=True)
class Settings:
    name: str = "default"
    weight: float = 1.0
    gate: Gate = Gate(2.0)
    gates: Mapping[str, Gate] = field(default_factory=lambda: MappingProxyType({"stt": Gate(1.0)}))
    grace: float = field(default=60.0, metadata={"key": "grace_seconds"})


BASE = Settings()


def refusal(make, *args) -> str:
    with pytest.raises(ParameterError) as refused:
        make(*args)
    return str(refused.value)


def test_only_the_named_fields_change_and_integers_become_floats_where_floats_are_declared():
    changed = overlay(BASE, {"weight": 3, "grace_seconds": 30})
    assert changed == Settings(weight=3.0, grace=30.0) and type(changed.weight) is float
    assert overlay(BASE, {}) == BASE


def test_a_nested_dataclass_is_overlaid_keeping_its_other_fields():
    assert overlay(BASE, {"gate": {"count": 5}}).gate == Gate(2.0, 5)


def test_a_mapping_of_dataclasses_overlays_existing_entries_builds_new_ones_and_stays_read_only():
    gates = overlay(BASE, {"gates": {"stt": {"count": 3}, "tts": {"limit": 0.5}}}).gates
    assert dict(gates) == {"stt": Gate(1.0, 3), "tts": Gate(0.5)}
    with pytest.raises(TypeError):
        gates["llm"] = Gate(1.0)


@pytest.mark.parametrize(
    "data, message",
    [
        ([1, 2], "the file must be a mapping"),
        ({"colour": "red"}, "unknown key colour (known: gate, gates, grace_seconds, name, weight)"),
        ({"grace": 1}, "unknown key grace "),
        ({"weight": True}, "weight must be a finite number, not True"),
        ({"weight": float("nan")}, "weight must be a finite number"),
        ({"weight": "1"}, "weight must be a finite number, not '1'"),
        ({"name": 5}, "name must be a string, not 5"),
        ({"gate": {"count": 1.5}}, "gate.count must be an integer, not 1.5"),
        ({"gate": {"speed": 1}}, "unknown key gate.speed (known: count, limit)"),
        ({"gate": 3}, "gate must be a mapping, not 3"),
        ({"gates": {"tts": {"count": 2}}}, "gates.tts needs limit"),
        ({"gates": {"stt": {"limit": -1}}}, "gates.stt: limit must be >= 0, not -1.0"),
    ],
)
def test_every_refusal_says_where(data, message):
    assert message in refusal(overlay, BASE, data)


def test_build_needs_every_field_without_a_default_and_checks_the_result():
    assert build(Gate, {"limit": 1}) == Gate(1.0)
    assert refusal(build, Gate, {"count": 2}, "gates.llm") == "gates.llm needs limit"
    assert refusal(build, Gate, {"limit": -2}, "") == "limit must be >= 0, not -2.0"
