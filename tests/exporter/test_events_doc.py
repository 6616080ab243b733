"""Every example in docs/events.md is valid against the published schema and accepted by a real exporter."""

import json
import re
import time
from pathlib import Path

import jsonschema
import pytest

from tests.harness import post_events
from voice_monitoring.exporter import events

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
SCHEMA = Path(__file__).resolve().parents[2] / "exporter" / "schema" / "events-v1.schema.json"


def examples():
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(), re.S)
    return [json.loads(b) for b in blocks]


def test_docs_show_an_example_of_every_type():
    assert {e["type"] for e in examples()} == set(events.TYPES)


def test_examples_match_the_json_schema():
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for example in examples():
        errors = [e.message for e in validator.iter_errors(example)]
        assert errors == [], (example["type"], errors)


def test_json_schema_refuses_what_the_exporter_refuses():
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    bad = [
        {"type": "turn", "ts": 1, "call_id": "c", "attrs": {"latency_seconds": -1}},
        {"type": "turn", "ts": 1, "call_id": "c", "attrs": {}},
        {"type": "turn", "ts": 1, "attrs": {"latency_seconds": 1}},
        {"type": "usage", "ts": 1, "attrs": {"service": "llm", "unit": "bytes", "quantity": 1}},
        {"type": "nope", "ts": 1},
        {"type": "audio", "ts": 1, "attrs": {"loudness": 3}},
        {"type": "call.started", "ts": 1, "call_id": "c", "colour": "red"},
    ]
    for event in bad:
        assert not validator.is_valid(event), event
        with pytest.raises(events.InvalidEvent):
            events.validate(event, now=1, max_age=1e12, max_future=1e12)


def test_a_real_exporter_accepts_every_example(exporter):
    now = time.time()
    batch = []
    for example in examples():
        example["ts"] = now
        batch.append(example)
    response = post_events(exporter.url, batch)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": len(batch), "duplicates": 0}
