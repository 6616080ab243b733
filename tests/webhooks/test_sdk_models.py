"""The fixtures are what the platforms send: each validates against the official SDK's model of it."""

import time

import pytest
from retell.types.phone_call_response import PhoneCallResponse
from vapi.types.server_message_end_of_call_report import ServerMessageEndOfCallReport
from vapi.types.server_message_speech_update import ServerMessageSpeechUpdate
from vapi.types.server_message_status_update import ServerMessageStatusUpdate
from vapi.types.server_message_user_interrupted import ServerMessageUserInterrupted

from tests.webhooks import fixtures as fx

NOW = time.time()


@pytest.mark.parametrize(
    "model, payload",
    [
        (ServerMessageEndOfCallReport, fx.vapi_end_of_call_report(NOW)),
        (ServerMessageStatusUpdate, fx.vapi_status_update(NOW)),
        (ServerMessageSpeechUpdate, fx.vapi_speech_update(NOW, "assistant", "started")),
        (ServerMessageUserInterrupted, fx.vapi_user_interrupted(NOW)),
    ],
    ids=["end-of-call-report", "status-update", "speech-update", "user-interrupted"],
)
def test_vapi_fixtures_validate_against_the_vapi_server_sdk(model, payload):
    message = model.model_validate(payload["message"])
    assert message.type == payload["message"]["type"]


def test_the_vapi_report_fixture_carries_per_turn_latencies_the_sdk_reads():
    report = ServerMessageEndOfCallReport.model_validate(fx.vapi_end_of_call_report(NOW)["message"])
    turns = report.artifact.performance_metrics.turn_latencies
    assert [t.turn_latency for t in turns] == [t["turnLatency"] for t in fx.TURN_LATENCIES_MS]


@pytest.mark.parametrize("event", ["call_started", "call_ended", "call_analyzed"])
def test_retell_fixtures_validate_against_the_retell_sdk(event):
    call = PhoneCallResponse.model_validate(fx.retell_event(event, fx.retell_call(NOW))["call"])
    if event != "call_started":
        assert call.latency.e2e.values == fx.E2E_MS
        assert call.call_cost.combined_cost == sum(p.cost for p in call.call_cost.product_costs)


def test_the_sdk_refuses_a_payload_missing_what_it_requires():
    broken = fx.retell_call(NOW)
    del broken["agent_id"]
    with pytest.raises(ValueError):
        PhoneCallResponse.model_validate(broken)
