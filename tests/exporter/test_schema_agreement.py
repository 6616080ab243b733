"""The published JSON Schema, the exporter's validator and its compiled check of JSON bodies agree on every event,
generated or hand-picked."""

import json
import math
from pathlib import Path

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from voice_monitoring.exporter import events
from voice_monitoring.exporter.simulator import Simulator

SCHEMA = Path(__file__).resolve().parents[2] / "exporter" / "schema" / "events-v1.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
NOW, MAX_AGE, MAX_FUTURE = 1_800_000_000.0, 3600.0, 300.0


def accepted_by_exporter(event) -> bool:
    try:
        events.validate(event, NOW, MAX_AGE, MAX_FUTURE)
    except events.InvalidEvent:
        return False
    return True


def values(field: events.Field):
    """Values for a field: valid ones, boundary ones and wrong ones."""
    wrong = st.one_of(
        st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3), st.lists(st.integers(), max_size=1)
    )
    if field.kind in ("number", "integer"):
        low = field.minimum if field.minimum is not None else -1e6
        high = field.maximum if field.maximum is not None else 1e6
        numbers = st.floats(low - 1, high + 1, allow_nan=False) | st.sampled_from([low, high, low - 1, high + 1])
        if field.kind == "integer":
            numbers = numbers | st.integers(int(low) - 1, min(int(high) + 1, 10**13)) | st.just(2.5)
        return numbers | wrong
    if field.kind == "boolean":
        return st.booleans() | wrong
    if field.kind == "enum":
        return st.sampled_from(field.choices) | st.sampled_from(["", field.choices[0].upper()]) | wrong
    return (
        st.text(min_size=1, max_size=8)
        | st.sampled_from(["", "x" * events.MAX_LABEL_LENGTH, "x" * (events.MAX_LABEL_LENGTH + 1)])
        | wrong
    )


@st.composite
def generated_events(draw):
    etype = draw(st.sampled_from(list(events.TYPES)) | st.just("no.such.type"))
    event = {"type": etype}
    ts = draw(st.floats(NOW - MAX_AGE + 1, NOW + MAX_FUTURE - 1) | st.just(-1.0) | st.just("now") | st.none())
    if ts is not None:
        event["ts"] = ts
    for key, field in events.ENVELOPE.items():
        if key not in ("type", "ts") and draw(st.integers(0, 3)) == 0:
            event[key] = draw(values(field))
    if draw(st.integers(0, 9)) == 0:
        event["extra"] = 1
    spec = events.TYPES.get(etype, {})
    shape = draw(st.sampled_from(["absent", "object", "object", "object", "null", "list"]))
    if shape == "object":
        keys = draw(st.lists(st.sampled_from(sorted(spec) or ["x"]), unique=True, max_size=len(spec)))
        attrs = {k: draw(values(spec[k])) if k in spec else 1 for k in keys}
        if draw(st.integers(0, 9)) == 0:
            attrs["no_such_attribute"] = 1
        event["attrs"] = attrs
    elif shape != "absent":
        event["attrs"] = None if shape == "null" else []
    return event


def valid_attrs(spec: dict[str, events.Field]) -> dict:
    """Valid values, for ``st.fixed_dictionaries`` below."""
    out = {}
    for key, field in spec.items():
        if field.kind == "enum":
            out[key] = st.sampled_from(field.choices)
        elif field.kind == "boolean":
            out[key] = st.booleans()
        elif field.kind == "string":
            out[key] = st.text(min_size=1, max_size=8)
        else:
            out[key] = st.integers(int(field.minimum or 0), int(field.maximum or 10))
    return out


@st.composite
def mostly_valid_events(draw):
    """Events with valid values throughout, so the rules between attributes decide."""
    etype = draw(st.sampled_from(list(events.TYPES)))
    spec = events.TYPES[etype]
    strategies = valid_attrs(spec)
    required = {k: s for k, s in strategies.items() if spec[k].required}
    optional = {k: s for k, s in strategies.items() if not spec[k].required}
    attrs = draw(st.fixed_dictionaries(required, optional=optional))
    event = {"type": etype, "ts": NOW, "call_id": "c-1", "attrs": attrs}
    if not attrs and draw(st.booleans()):
        del event["attrs"]
    return event


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_events())
def test_schema_and_validator_agree_on_generated_events(event):
    assert VALIDATOR.is_valid(event) == accepted_by_exporter(event), event


@settings(max_examples=300, deadline=None)
@given(mostly_valid_events())
def test_schema_and_validator_agree_on_how_attributes_go_together(event):
    assert VALIDATOR.is_valid(event) == accepted_by_exporter(event), event


@pytest.mark.parametrize(
    "event",
    [
        {"type": "health", "ts": NOW, "attrs": {"memory_ratio": 0.5}},
        {"type": "health", "ts": NOW, "attrs": {"up": True}},
        {"type": "health", "ts": NOW, "attrs": {"breaker_state": "open"}},
        {"type": "health", "ts": NOW},
        {"type": "health", "ts": NOW, "attrs": {}},
        {"type": "turn", "ts": NOW, "call_id": "c", "attrs": None},
    ],
    ids=[
        "worker figures without a worker",
        "up without a service",
        "state without a breaker",
        "no attrs",
        "empty attrs",
        "attrs null",
    ],  # fmt: skip
)
def test_the_schema_refuses_what_the_exporter_refuses(event):
    assert not accepted_by_exporter(event)
    assert not VALIDATOR.is_valid(event)


def verdict(event, fields_checked: bool = False) -> str | None:
    """None when the exporter accepts the event, else the reason it gives."""
    try:
        events.validate(event, NOW, MAX_AGE, MAX_FUTURE, fields_checked)
    except events.InvalidEvent as exc:
        return exc.reason
    return None


def has_whole_float_for_an_integer(event) -> bool:
    """An integer field given a float of whole value (3.0): the validator takes it, the compiled check leaves it
    to the validator."""
    spec = {**events.ENVELOPE, **events.TYPES.get(event.get("type"), {})}
    attrs = event.get("attrs") if isinstance(event.get("attrs"), dict) else {}
    return any(
        key in spec and spec[key].kind == "integer" and type(value) is float
        for key, value in [*event.items(), *attrs.items()]
    )


def passes(body: bytes, is_array: bool) -> bool:
    return events.decode_checked(body, is_array) is not None


def json_of(event) -> bytes | None:
    try:
        return orjson.dumps(event)
    except (TypeError, orjson.JSONEncodeError):  # text hypothesis draws that JSON cannot carry (lone surrogates)
        return None


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_events() | mostly_valid_events())
def test_the_compiled_check_of_a_json_body_passes_exactly_what_the_validator_passes(event):
    body = json_of(event)
    assume(body is not None)
    parsed = orjson.loads(body)
    full = verdict(parsed)
    decoded = events.decode_checked(body, is_array=False)
    checked = decoded is not None
    if checked:  # the events applied are the body's as a JSON parser reads it, and checking only what the
        # compiled check leaves gives the validator's verdict
        assert decoded == [parsed], event
        assert verdict(decoded[0], fields_checked=True) == full, event
        assert full in (None, "too_old", "in_future", "missing_field", "invalid_field"), event
    if full is None and not has_whole_float_for_an_integer(parsed):
        assert checked, event  # a valid event is not sent the slow way
    if full not in (None, "too_old", "in_future") and parsed.get("type") not in ("health", "feedback"):
        assert not checked, event


@settings(max_examples=200, deadline=None)
@given(st.lists(generated_events() | mostly_valid_events(), min_size=1, max_size=5))
def test_a_json_array_passes_the_compiled_check_only_when_every_event_does(batch):
    bodies = [json_of(event) for event in batch]
    assume(all(body is not None for body in bodies))
    each = [passes(body, is_array=False) for body in bodies]
    assert passes(b"[" + b",".join(bodies) + b"]", is_array=True) == all(each)


@pytest.mark.parametrize(
    "body",
    [
        b'{"type":"turn","ts":1800000000,"call_id":"c","attrs":{"latency_seconds":0.5,"latency_seconds":-1}}',
        b'{"type":"turn","ts":1800000000,"call_id":"c","attrs":{"latency_seconds":-1,"latency_seconds":0.5}}',
        b'{"type":"turn","ts":1800000000,"call_id":"c","call_id":"","attrs":{"latency_seconds":0.5}}',
        b'{"type":"state","ts":1800000000,"call_id":"c","attrs":{"latency_seconds":0.5},"type":"turn"}',
        b'{"type":"turn","ts":1800000000,"call_id":"c","attrs":{"latency_seconds":0.5},"type":"state"}',
    ],
    ids=[
        "last value invalid",
        "first value invalid",
        "envelope value",
        "type named twice",
        "type named twice, other order",
    ],
)
def test_every_occurrence_of_a_repeated_key_is_checked_whichever_one_the_parser_keeps(body):
    assert not passes(body, is_array=False)
    assert not passes(b"[" + body + b"]", is_array=True)


def test_the_simulator_s_traffic_passes_the_compiled_check_and_decodes_to_the_same_events():
    batch = Simulator("http://127.0.0.1:1", seed=3).generate(20)
    assert events.decode_checked(orjson.dumps(batch), is_array=True) == orjson.loads(orjson.dumps(batch))


def test_a_key_given_twice_with_valid_values_keeps_the_last_as_a_json_parser_does():
    body = b'{"type":"turn","ts":1800000000,"call_id":"c","attrs":{"latency_seconds":0.5,"latency_seconds":0.7}}'
    assert events.decode_checked(body, is_array=False) == [orjson.loads(body)]
    assert orjson.loads(body)["attrs"]["latency_seconds"] == 0.7


def wrong_values(field: events.Field) -> list:
    """Values just outside what the field takes, one rule broken each."""
    if field.kind in ("number", "integer"):
        out: list = [True, "1", None, [1]]
        if field.minimum is not None:
            out.append(field.minimum - 1 if field.kind == "integer" else math.nextafter(field.minimum, -math.inf))
        if field.maximum is not None:
            out.append(int(field.maximum) + 1 if field.kind == "integer" else math.nextafter(field.maximum, math.inf))
        else:
            out.append(1e309)  # JSON's way to say infinity
        if field.kind == "integer":
            out.append(2.5)
        return out
    if field.kind == "boolean":
        return [0, 1, "true", None]
    if field.kind == "enum":
        return ["", field.choices[0].upper(), field.choices[0] + " ", None, 1]
    return ["", "x" * (events.MAX_LABEL_LENGTH + 1), None, 1, True, ["x"]]


def valid_event(etype: str) -> dict:
    """An event of ``etype`` with every attribute present and valid (each group of health's together)."""
    attrs = {}
    for key, field in events.TYPES[etype].items():
        if field.kind == "enum":
            attrs[key] = field.choices[-1]
        elif field.kind == "boolean":
            attrs[key] = True
        elif field.kind == "string":
            attrs[key] = "x" * events.MAX_LABEL_LENGTH
        else:
            limit = field.maximum if field.maximum is not None else 1
            attrs[key] = int(limit) if field.kind == "integer" else limit
    if etype == "feedback":
        attrs.update(scale="stars", rating=5)
    envelope = {k: "x" for k, f in events.ENVELOPE.items() if f.kind == "string"}
    return {**envelope, "type": etype, "ts": NOW, "attrs": attrs}


def one_rule_broken() -> list[tuple[str, dict]]:
    cases = []
    for etype, spec in events.TYPES.items():
        valid = valid_event(etype)
        assert verdict(valid) is None, valid
        for key, field in events.ENVELOPE.items():
            if key != "type":
                cases += [(f"{etype} {key}={value!r:.20}", {**valid, key: value}) for value in wrong_values(field)]
        for key, field in spec.items():
            for value in wrong_values(field):
                cases.append((f"{etype} attrs.{key}={value!r:.20}", {**valid, "attrs": {**valid["attrs"], key: value}}))
            if field.required:
                attrs = {k: v for k, v in valid["attrs"].items() if k != key}
                cases.append((f"{etype} without attrs.{key}", {**valid, "attrs": attrs}))
        cases.append((f"{etype} unknown attribute", {**valid, "attrs": {**valid["attrs"], "extra": 1}}))
        cases.append((f"{etype} unknown envelope field", {**valid, "extra": 1}))
        cases.append((f"{etype} attrs a list", {**valid, "attrs": []}))
        cases.append((f"{etype} without ts", {k: v for k, v in valid.items() if k != "ts"}))
        if etype in events.CALL_SCOPED:
            cases.append((f"{etype} without call_id", {k: v for k, v in valid.items() if k != "call_id"}))
    return cases


def test_an_event_with_one_rule_broken_fails_the_compiled_check():
    cases = one_rule_broken()
    assert len(cases) > 500
    for name, event in cases:
        body = orjson.dumps(event)
        assert verdict(orjson.loads(body)) is not None, name  # the validator refuses it
        assert not passes(body, is_array=False), name
        assert not passes(b"[" + body + b"]", is_array=True), name


@pytest.mark.parametrize("etype", list(events.TYPES))
def test_an_event_with_every_field_at_its_limit_passes_the_compiled_check(etype):
    body = orjson.dumps(valid_event(etype))
    assert passes(body, is_array=False)


def test_a_body_nested_deeper_than_msgspec_recurses_is_left_to_the_validator_not_failed():
    """orjson parses values nested up to 1,024 deep; msgspec, skipping an unknown field's value while it looks for
    ``type``, stops at Python's recursion limit. Such a body is the validator's to refuse, as it was before."""
    nested = "[" * 1000 + "]" * 1000
    body = f'{{"x":{nested},"type":"turn","ts":{NOW},"call_id":"c","attrs":{{"latency_seconds":0.5}}}}'.encode()
    assert verdict(orjson.loads(body)) == "unknown_field"
    assert not passes(body, is_array=False)
    assert not passes(b"[" + body + b"]", is_array=True)
