"""Retell's ``call.call_type`` names the call's transport; a value that is not a string leaves the transport out."""

import pytest

from tests.exporter.exposition_samples import value
from tests.webhooks import fixtures as fx
from voice_monitoring.exporter.webhooks.receiver import WebhookReceiver
from voice_monitoring.exporter.webhooks.retell import TRANSPORTS, RetellEvents

API_KEY = "key_retell_test_0123456789"


@pytest.mark.parametrize("call_type", [["web_call"], {"type": "web_call"}, 7])
def test_a_call_type_that_is_not_a_string_starts_the_call_without_a_transport(exporter, clock, call_type):
    receiver = WebhookReceiver(RetellEvents(API_KEY), exporter)
    body = fx.body_of(fx.retell_event("call_started", {**fx.retell_call(clock.now), "call_type": call_type}))
    headers = {"X-Retell-Signature": fx.retell_signature(body, API_KEY, clock.now), "Content-Type": "application/json"}
    assert receiver(headers, body)[0] == 200
    assert value(exporter, "ai_agent_active_calls", tenant="globex", provider="retell") == 1
    for transport in TRANSPORTS.values():
        assert not value(exporter, "ai_agent_active_calls_by_transport", transport=transport)
