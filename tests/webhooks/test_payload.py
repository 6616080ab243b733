"""The strict readers of a platform's JSON payload: a missing or mistyped field is a 400 naming where it is; the
label and envelope builders leave out what cannot be a label; agent speech is shared out over a report's turns."""

from __future__ import annotations

import math

import pytest

from voice_monitoring.exporter.events import MAX_LABEL_LENGTH
from voice_monitoring.exporter.webhooks.payload import (
    MAX_TURN_SPEECH_SECONDS,
    WebhookRefused,
    call_envelope,
    call_started,
    first_label,
    iso_time,
    items,
    number,
    obj,
    share_agent_speech,
    tenant_of,
    text,
)


def refusal(read, *args, **kwargs) -> str:
    with pytest.raises(WebhookRefused) as refused:
        read(*args, **kwargs)
    assert (refused.value.status, refused.value.outcome) == (400, "invalid")
    return str(refused.value)


def test_an_absent_optional_field_reads_as_empty_and_a_required_one_is_refused_by_its_path():
    assert obj({}, "call", "message") == {}
    assert items({"list": None}, "list", "message") == []
    assert text({}, "id", "message.call") is None
    assert number({}, "cost", "message") is None
    assert refusal(obj, {}, "call", "message", required=True) == "message.call is required"
    assert refusal(text, {"id": None}, "id", "message.call", required=True) == "message.call.id is required"
    assert refusal(number, {}, "cost", "message", required=True) == "message.cost is required"


@pytest.mark.parametrize(
    "read, value, message",
    [
        (obj, [], "m.k must be an object"),
        (obj, "x", "m.k must be an object"),
        (items, {}, "m.k must be an array"),
        (text, "", "m.k must be a non-empty string"),
        (text, 5, "m.k must be a non-empty string"),
        (number, -0.5, "m.k must be a finite number >= 0"),
        (number, math.inf, "m.k must be a finite number >= 0"),
        (number, math.nan, "m.k must be a finite number >= 0"),
        (number, True, "m.k must be a finite number >= 0"),
        (number, "3", "m.k must be a finite number >= 0"),
    ],
)
def test_a_mistyped_field_is_refused_by_its_path(read, value, message):
    assert refusal(read, {"k": value}, "k", "m") == message


def test_values_of_the_right_type_are_read_as_they_are():
    assert obj({"k": {"a": 1}}, "k", "m") == {"a": 1}
    assert items({"k": [1, 2]}, "k", "m") == [1, 2]
    assert text({"k": "x"}, "k", "m") == "x"
    assert number({"k": 3}, "k", "m") == 3.0 and type(number({"k": 3}, "k", "m")) is float


def test_an_iso_time_with_its_zone_is_unix_seconds():
    assert iso_time({"t": "2027-01-15T08:00:00.000Z"}, "t", "m") == 1_800_000_000.0
    assert iso_time({"t": "2027-01-15T10:00:00+02:00"}, "t", "m") == 1_800_000_000.0
    assert iso_time({}, "t", "m") is None


@pytest.mark.parametrize(
    "value, message", [("2027-01-15T08:00:00", "m.t must carry its time zone"), ("yesterday", "ISO 8601 time")]
)
def test_an_iso_time_without_a_zone_or_unparsable_is_refused(value, message):
    assert message in refusal(iso_time, {"t": value}, "t", "m")


def test_the_tenant_is_the_first_metadata_that_names_a_usable_one():
    assert tenant_of({"tenant": "acme"}, {"tenant": "globex"}) == "acme"
    assert tenant_of(None, {"tenant": ""}, {"tenant": 7}, {"tenant": "globex"}) == "globex"
    assert tenant_of({"tenant": "t" * (MAX_LABEL_LENGTH + 1)}) is None
    assert tenant_of() is None


def test_the_first_label_takes_integers_as_text_and_skips_what_cannot_be_a_label():
    assert first_label(None, "", 3, "v2") == "3"
    assert first_label(1.5, True, "x" * (MAX_LABEL_LENGTH + 1), "v2") == "v2"
    assert first_label(None) is None


def test_an_envelope_names_the_platform_and_leaves_out_labels_it_does_not_have():
    assert call_envelope("vapi", "c-1", None) == {"call_id": "c-1", "provider": "vapi", "pipeline": "vapi"}
    assert call_envelope("retell", "c-1", "acme", "bot", "7") == {
        "call_id": "c-1",
        "provider": "retell",
        "pipeline": "retell",
        "tenant": "acme",
        "agent": "bot",
        "agent_version": "7",
    }


def test_a_call_started_carries_its_transport_only_when_known():
    envelope = call_envelope("vapi", "c-1", None)
    assert call_started(envelope, 10.0, None) == {"type": "call.started", "ts": 10.0, **envelope}
    assert call_started(envelope, 10.0, "webrtc")["attrs"] == {"transport": "webrtc"}


def turns(n: int) -> list[dict]:
    return [{"type": "turn", "attrs": {"latency_seconds": 1.0}} for _ in range(n)]


def test_agent_speech_goes_one_utterance_per_turn_and_the_rest_on_the_last():
    report = turns(3)
    share_agent_speech(report, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert [t["attrs"].get("agent_speech_seconds") for t in report] == [1.0, 2.0, 12.0]


def test_fewer_utterances_than_turns_go_on_the_first_turns_in_order():
    report = turns(3)
    share_agent_speech(report, [1.5, 2.5])
    assert [t["attrs"].get("agent_speech_seconds") for t in report] == [1.5, 2.5, None]


def test_the_last_turns_share_is_capped_at_what_a_turn_event_may_carry():
    report = turns(1)
    share_agent_speech(report, [MAX_TURN_SPEECH_SECONDS, 60.0])
    assert report[0]["attrs"]["agent_speech_seconds"] == MAX_TURN_SPEECH_SECONDS


def test_no_turns_or_no_speech_changes_nothing():
    report = turns(2)
    share_agent_speech(report, [])
    share_agent_speech([], [1.0])
    assert all("agent_speech_seconds" not in t["attrs"] for t in report)
