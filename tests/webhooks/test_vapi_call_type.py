"""Vapi's ``call.type`` names the call's transport; a value that is not a string leaves the transport out."""

import pytest

from tests.exporter.exposition_samples import value
from tests.webhooks import fixtures as fx
from voice_monitoring.exporter.webhooks.receiver import WebhookReceiver
from voice_monitoring.exporter.webhooks.vapi import TRANSPORTS, VapiAuth, VapiMessages

SECRET = "vapi-test-secret"
BEARER = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"}


def message_with_call_type(payload: dict, call_type: object) -> dict:
    message = payload["message"]
    return {"message": {**message, "call": {**message["call"], "type": call_type}}}


@pytest.mark.parametrize("call_type", [["webCall"], {"type": "webCall"}, 7])
def test_a_call_type_that_is_not_a_string_starts_the_live_call_without_a_transport(exporter, clock, call_type):
    receiver = WebhookReceiver(VapiMessages(VapiAuth(SECRET)), exporter)
    body = fx.body_of(message_with_call_type(fx.vapi_status_update(clock.now), call_type))
    assert receiver(BEARER, body)[0] == 200
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="vapi") == 1
    for transport in TRANSPORTS.values():
        assert not value(exporter, "ai_agent_active_calls_by_transport", transport=transport)


@pytest.mark.parametrize("call_type", [["inboundPhoneCall"], {"type": "inboundPhoneCall"}])
def test_a_report_whose_call_type_is_not_a_string_is_applied_without_a_transport(exporter, clock, call_type):
    receiver = WebhookReceiver(VapiMessages(VapiAuth(SECRET)), exporter)
    body = fx.body_of(message_with_call_type(fx.vapi_end_of_call_report(clock.now), call_type))
    status, reply = receiver(BEARER, body)
    assert status == 200 and "rejected" not in reply, reply
    assert value(exporter, "ai_agent_calls_started_total", tenant="acme", provider="vapi", pipeline="vapi") == 1
    assert (
        value(
            exporter, "ai_agent_calls_ended_total", tenant="acme", provider="vapi", pipeline="vapi", reason="transfer"
        )
        == 1
    )


def test_a_string_call_type_still_names_the_transport(exporter, clock):
    receiver = WebhookReceiver(VapiMessages(VapiAuth(SECRET)), exporter)
    body = fx.body_of(message_with_call_type(fx.vapi_status_update(clock.now), "webCall"))
    assert receiver(BEARER, body)[0] == 200
    assert value(exporter, "ai_agent_active_calls_by_transport", transport="webrtc") == 1


def test_a_call_type_naming_no_known_transport_starts_the_live_call_without_one(exporter, clock):
    receiver = WebhookReceiver(VapiMessages(VapiAuth(SECRET)), exporter)
    body = fx.body_of(message_with_call_type(fx.vapi_status_update(clock.now), "vapi.websocketCall"))
    assert receiver(BEARER, body)[0] == 200
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="vapi") == 1
    for transport in TRANSPORTS.values():
        assert not value(exporter, "ai_agent_active_calls_by_transport", transport=transport)
