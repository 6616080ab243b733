"""validate: an event is returned as it came or refused with a closed reason and a detail naming the field; the
Field checkers; normalize_reason's buckets; json_schema's envelope of each type."""

import math

import pytest

from voice_monitoring.exporter.events import (
    CALL_SCOPED,
    END_REASONS,
    MAX_LABEL_LENGTH,
    TYPES,
    Field,
    InvalidEvent,
    Unparsable,
    json_schema,
    normalize_reason,
    validate,
)
from voice_monitoring.shared.feedback import SCALES

NOW = 1_800_000_000.0
MAX_AGE, MAX_FUTURE = 3600.0, 300.0


def check(event):
    return validate(event, NOW, MAX_AGE, MAX_FUTURE)


def refusal(event) -> tuple[str, str]:
    with pytest.raises(InvalidEvent) as refused:
        check(event)
    return refused.value.reason, str(refused.value)


def turn(**attrs) -> dict:
    return {"type": "turn", "ts": NOW, "call_id": "c-1", "attrs": {"latency_seconds": 0.8, **attrs}}


def test_a_valid_event_is_returned_itself():
    event = turn(interrupted=True)
    assert check(event) is event


@pytest.mark.parametrize(
    "event, reason, detail",
    [
        ([turn()], "not_an_object", "JSON object"),
        ("turn", "not_an_object", "JSON object"),
        (Unparsable("malformed JSON: unexpected character"), "malformed_json", "unexpected character"),
        ({"type": "call.paused", "ts": NOW}, "unknown_type", "type must be one of call.started"),
        ({"type": 7, "ts": NOW}, "unknown_type", "type must be one of"),
        ({"ts": NOW}, "unknown_type", "type must be one of"),
        ({"type": "error", "ts": NOW, "severity": "high"}, "unknown_field", "unknown envelope field 'severity'"),
        ({"type": "error", "ts": "now"}, "invalid_field", "ts must be a number"),
        ({"type": "error", "ts": NOW, "tenant": ""}, "invalid_field", "tenant must be a non-empty string"),
        ({"type": "error", "ts": NOW, "tenant": "t" * 129}, "invalid_field", "at most 128 characters"),
        ({"type": "error", "ts": NOW, "tenant": 5}, "invalid_field", "tenant must be a non-empty string"),
        ({"type": "turn", "call_id": "c-1", "attrs": {"latency_seconds": 1}}, "missing_field", "ts is required"),
        ({"type": "turn", "ts": NOW, "attrs": {"latency_seconds": 1}}, "missing_field", "call_id is required for turn"),
        ({"type": "error", "ts": NOW, "attrs": []}, "invalid_field", "attrs must be an object"),
        (turn(mood="grumpy"), "unknown_field", "unknown attribute 'mood' for turn"),
        (turn(interrupted="yes"), "invalid_field", "attrs.interrupted must be true or false"),
        ({"type": "turn", "ts": NOW, "call_id": "c-1"}, "missing_field", "attrs.latency_seconds is required for turn"),
    ],
)
def test_each_refusal_has_its_reason_and_names_what_is_wrong(event, reason, detail):
    got_reason, got_detail = refusal(event)
    assert got_reason == reason
    assert detail in got_detail


def test_the_age_and_future_bounds_are_inclusive():
    assert check(turn() | {"ts": NOW - MAX_AGE})
    assert check(turn() | {"ts": NOW + MAX_FUTURE})
    assert refusal(turn() | {"ts": NOW - MAX_AGE - 0.001}) == ("too_old", "ts is more than 3600s in the past")
    assert refusal(turn() | {"ts": NOW + MAX_FUTURE + 0.001}) == ("in_future", "ts is more than 300s in the future")


def test_every_call_scoped_type_needs_a_call_and_no_other_type_does():
    minimal = {"health": {"up": True, "service": "stt"}}
    for etype, spec in TYPES.items():
        attrs = minimal.get(etype, {key: _valid(field) for key, field in spec.items() if field.required})
        if etype == "feedback":
            attrs = {"scale": "stars", "rating": 4, "source": "survey"}
        event = {"type": etype, "ts": NOW, "attrs": attrs}
        if etype in CALL_SCOPED:
            assert refusal(event)[0] == "missing_field", etype
            assert check({**event, "call_id": "c-1"})
        else:
            assert check(event), etype


def _valid(field: Field):
    if field.kind == "enum":
        return field.choices[0]
    if field.kind == "string":
        return "x"
    if field.kind == "boolean":
        return True
    return field.minimum if field.minimum is not None else 0


@pytest.mark.parametrize("scale", sorted(SCALES))
def test_a_feedback_rating_must_lie_within_its_own_scale(scale):
    low, high = SCALES[scale].lowest, SCALES[scale].highest

    def rated(rating):
        return {
            "type": "feedback",
            "ts": NOW,
            "call_id": "c-1",
            "attrs": {"scale": scale, "rating": rating, "source": "survey"},
        }

    assert check(rated(low)) and check(rated(high))
    for outside in (low - 1, high + 1):
        reason, detail = refusal(rated(outside))
        assert reason == "invalid_field"
        if 0 <= outside <= 10:  # within the field's own bounds, so refused by the scale's
            assert detail == f"attrs.rating must be from {low} to {high} on scale {scale}"
        else:
            assert detail.startswith("attrs.rating must be")


def test_a_health_event_must_report_something_and_a_group_needs_its_first_attribute():
    assert refusal({"type": "health", "ts": NOW}) == (
        "missing_field",
        "a health event reports a worker, a breaker or a provider",
    )
    assert refusal({"type": "health", "ts": NOW, "attrs": {"cpu_ratio": 0.5, "memory_ratio": 0.1}}) == (
        "missing_field",
        "attrs.worker is required with memory_ratio, cpu_ratio",
    )
    assert refusal({"type": "health", "ts": NOW, "attrs": {"breaker_state": "open"}})[1].startswith("attrs.breaker is")
    assert check({"type": "health", "ts": NOW, "attrs": {"worker": "w-1"}})


@pytest.mark.parametrize(
    "value, problem",
    [
        (True, "must be a number"),
        ("1", "must be a number"),
        (math.nan, "must be finite"),
        (math.inf, "must be finite"),
        (-0.1, "must be >= 0"),
        (3600.5, "must be <= 3600"),
    ],
)
def test_a_number_field_refuses_booleans_strings_non_finite_and_out_of_range_values(value, problem):
    assert Field("number", "seconds", minimum=0.0, maximum=3600.0).check(value) == problem
    assert refusal(turn(latency_seconds=value)) == ("invalid_field", f"attrs.latency_seconds {problem}")


def test_an_integer_field_takes_whole_floats_and_refuses_fractions():
    count = Field("integer", "count", minimum=0, maximum=10)
    assert count.check(3) is None
    assert count.check(3.0) is None
    assert count.check(3.5) == "must be an integer"
    assert count.check(11) == "must be <= 10"


def test_string_and_enum_fields_bound_what_they_take():
    text = Field("string", "label")
    assert text.check("x" * MAX_LABEL_LENGTH) is None
    assert text.check("x" * (MAX_LABEL_LENGTH + 1)) == f"must be at most {MAX_LABEL_LENGTH} characters"
    choice = Field("enum", "state", choices=("a", "b"))
    assert choice.check("b") is None
    assert choice.check("c") == choice.check(1) == "must be one of a, b"


@pytest.mark.parametrize(
    "raw, bucket",
    [
        ("user_hangup", "user_hangup"),
        ("Caller hung up", "user_hangup"),
        ("customer-ended-call", "user_hangup"),
        ("assistant-ended-call", "agent_hangup"),
        ("Transferred to human", "transfer"),
        ("silence-timed-out", "timeout"),
        ("pipeline-error-openai-llm-failed", "error"),
        ("  TIMEOUT  ", "timeout"),
        ("voicemail", "other"),
        ("", "other"),
    ],
)
def test_raw_end_reasons_fall_into_the_six_buckets(raw, bucket):
    assert normalize_reason(raw) == bucket
    assert bucket in END_REASONS


def test_the_schema_requires_a_call_id_exactly_for_call_scoped_types():
    variants = {v["if"]["properties"]["type"]["const"]: v["then"] for v in json_schema()["allOf"]}
    assert set(variants) == set(TYPES)
    for etype, then in variants.items():
        assert ("call_id" in then["required"]) == (etype in CALL_SCOPED), etype
        required_attrs = [k for k, f in TYPES[etype].items() if f.required]
        assert then["properties"]["attrs"].get("required", []) == required_attrs
