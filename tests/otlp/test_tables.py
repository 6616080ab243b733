"""The span-to-event tables: each attribute source reads what it says, every row makes events the schema takes,
every session's end reasons are the schema's, and every scope names one table."""

from __future__ import annotations

import math

import pytest

from voice_monitoring.exporter.events import END_REASONS, TYPES
from voice_monitoring.exporter.otlp.tables import (
    BY_SCOPE,
    GEN_AI_PROVIDERS,
    TABLES,
    Attr,
    Const,
    Duration,
    Json,
    Positive,
    Unless,
    livekit_span_vendor,
    pipecat_span_vendor,
)

ROWS = [(table.framework, span, row) for table in TABLES for span, row in table.rows.items()]


def test_an_attr_reads_the_first_name_present_newest_first():
    source = Attr("new.name", "old.name")
    assert source.value({"old.name": 1, "new.name": 2}, 0) == 2
    assert source.value({"old.name": 1}, 0) == 1
    assert source.value({"new.name": None, "old.name": False}, 0) is False
    assert source.value({}, 0) is None


@pytest.mark.parametrize(
    "raw, found",
    [
        ('{"metadata": {"model_name": "gpt-4o"}}', "gpt-4o"),
        ('{"metadata": "flat"}', None),
        ('{"other": 1}', None),
        ("not json", None),
        ("[1, 2]", None),
    ],
)
def test_json_reads_a_dotted_path_of_a_string_attribute_and_nothing_from_what_is_not_there(raw, found):
    assert Json("lk.llm_metrics", "metadata.model_name").value({"lk.llm_metrics": raw}, 0) == found


def test_json_ignores_an_attribute_that_is_not_a_string():
    assert Json("a", "b").value({"a": {"b": 1}}, 0) is None


def test_const_and_duration_ignore_the_attributes():
    assert Const("barge_in").value({"x": 1}, 9.5) == "barge_in"
    assert Duration().value({"x": 1}, 9.5) == 9.5


@pytest.mark.parametrize(
    "raw, kept",
    [
        (3, 3),
        (0.5, 0.5),
        (0, None),
        (-1, None),
        (math.inf, None),
        (math.nan, None),
        (True, None),
        ("5", None),
        (None, None),
    ],
)
def test_positive_keeps_only_finite_numbers_above_zero(raw, kept):
    assert Positive(Attr("q")).value({"q": raw}, 0) == kept


def test_unless_is_false_when_its_condition_holds_and_the_source_otherwise():
    source = Unless(Attr("interrupted"), Attr("ended_by_hangup"))
    assert source.value({"interrupted": True, "ended_by_hangup": True}, 0) is False
    assert source.value({"interrupted": True, "ended_by_hangup": False}, 0) is True
    assert source.value({"interrupted": True, "ended_by_hangup": "yes"}, 0) is True  # only a true condition
    assert source.value({}, 0) is None


@pytest.mark.parametrize("framework, span, row", ROWS, ids=[f"{f}:{s}" for f, s, _ in ROWS])
def test_every_row_makes_events_of_known_types_with_known_attributes(framework, span, row):
    slots = [emit.slot for emit in row.emits]
    assert len(slots) == len(set(slots)), "a slot is the event's id within the span: it must be unique"
    for emit in row.emits:
        spec = TYPES[emit.type]
        assert set(emit.attrs) <= set(spec), (emit.type, set(emit.attrs) - set(spec))
        assert set(emit.required) <= set(emit.attrs)
        schema_required = {name for name, f in spec.items() if f.required}
        assert schema_required <= set(emit.attrs), f"{emit.type} needs {schema_required - set(emit.attrs)}"
    assert row.service in (None, "stt", "llm", "tts")


@pytest.mark.parametrize("table", TABLES, ids=[t.framework for t in TABLES])
def test_every_session_end_reason_is_one_the_schema_takes(table):
    assert set(table.session.reasons.values()) <= set(END_REASONS)
    assert table.session.span not in table.rows


def test_every_scope_belongs_to_one_table():
    scopes = [scope for table in TABLES for scope in table.scopes]
    assert len(scopes) == len(set(scopes))
    assert {BY_SCOPE[scope].framework for scope in scopes} == {t.framework for t in TABLES}


@pytest.mark.parametrize("registry_name", sorted(GEN_AI_PROVIDERS))
def test_every_gen_ai_registry_name_gives_a_vendor_to_both_frameworks(registry_name):
    assert livekit_span_vendor("llm", {"gen_ai.provider.name": registry_name})[0]
    assert pipecat_span_vendor("llm", {"gen_ai.provider.name": registry_name})[0]


def test_a_pipecat_span_without_a_provider_keeps_its_model_and_an_unknown_model_is_none():
    assert pipecat_span_vendor("llm", {"gen_ai.request.model": "gpt-4o"}) == (None, "gpt-4o")
    assert pipecat_span_vendor("llm", {"gen_ai.system": "openai", "gen_ai.request.model": "unknown"})[1] is None
