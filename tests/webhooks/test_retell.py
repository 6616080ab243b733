"""Retell call events: signed with the API key, call_ended is the whole call, call_analyzed its outcome."""

import typing

import pytest
from retell.lib import webhook_auth
from retell.types.phone_call_response import PhoneCallResponse

from tests.exporter.exposition_samples import value
from tests.webhooks import fixtures as fx
from tests.webhooks.metrics import per_call, without_webhook_counter
from voice_monitoring.exporter.core import Exporter, Limits
from voice_monitoring.exporter.pricing import PriceTable
from voice_monitoring.exporter.webhooks.payload import WebhookRefused
from voice_monitoring.exporter.webhooks.receiver import WebhookReceiver
from voice_monitoring.exporter.webhooks.retell import END_REASONS, RetellEvents, end_reason, service_of_product
from voice_monitoring.exporter.webhooks.signatures import verify_retell

API_KEY = "key_retell_test_0123456789"
LABELS = {"pipeline": "retell", "provider": "retell"}
CALL = {"tenant": "globex", "provider": "retell", "pipeline": "retell"}


@pytest.fixture
def receiver(exporter):
    return WebhookReceiver(RetellEvents(API_KEY), exporter)


def post(receiver, payload, clock, key=API_KEY, signed_at=None):
    body = fx.body_of(payload)
    signature = fx.retell_signature(body, key, clock.now if signed_at is None else signed_at)
    return receiver({"X-Retell-Signature": signature, "Content-Type": "application/json"}, body)


def test_call_started_ended_and_analyzed_give_the_calls_turns_latencies_costs_usage_end_and_outcome(
    receiver, exporter, clock
):
    call = fx.retell_call(clock.now)
    assert post(receiver, fx.retell_event("call_started", call), clock)[0] == 200
    assert value(exporter, "ai_agent_active_calls", tenant="globex", provider="retell") == 1
    status, reply = post(receiver, fx.retell_event("call_ended", call), clock)
    assert status == 200 and "rejected" not in reply, reply
    assert value(exporter, "ai_agent_calls_started_total", **CALL) == 1
    assert value(exporter, "ai_agent_calls_ended_total", reason="agent_hangup", **CALL) == 1
    assert value(exporter, "ai_agent_active_calls", tenant="globex", provider="retell") == 0
    assert value(exporter, "ai_agent_turns_total", **LABELS) == 4
    # latency values[] are milliseconds
    assert value(exporter, "ai_agent_turn_response_seconds_sum", **LABELS) == pytest.approx(4.39)
    assert value(exporter, "ai_agent_turn_response_seconds_bucket", le="1.0", **LABELS) == 2
    llm = value(exporter, "ai_agent_component_latency_seconds_sum", component="llm_ttft", provider="retell")
    assert llm == pytest.approx(1.82)
    assert value(exporter, "ai_agent_component_latency_seconds_count", component="tts_ttfb", provider="retell") == 4
    # call_cost is in cents
    cost = {"tenant": "globex", "provider": "retell"}
    assert value(exporter, "ai_agent_cost_usd_total", service="tts", **cost) == pytest.approx(0.14)
    assert value(exporter, "ai_agent_cost_usd_total", service="llm", **cost) == pytest.approx(0.10)
    assert value(exporter, "ai_agent_cost_usd_total", service="platform", **cost) == pytest.approx(0.06)
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="globex") == pytest.approx(0.30)
    assert value(exporter, "ai_agent_usage_total", provider="retell", service="llm", unit="tokens_in") == 5660
    assert value(exporter, "ai_agent_call_duration_seconds_sum", pipeline="retell", provider="retell") == 120
    series = per_call(exporter, fx.RETELL_CALL_ID)
    assert series["ai_agent_call_ended"] == 1 and series["ai_agent_call_turns"] == 4
    assert series["ai_agent_call_turn_response_p95_seconds"] == pytest.approx(1.48)
    clock.now += 300  # analysis arrives after the call's series are gone
    exporter.sweep()
    assert per_call(exporter, fx.RETELL_CALL_ID) == {}
    status, reply = post(receiver, fx.retell_event("call_analyzed", call), clock)
    assert status == 200 and reply == {"accepted": 3}, reply  # the analysis, and its two verdicts as feedback
    outcome = dict(tenant="globex", provider="retell", successful="true", sentiment="positive")
    assert value(exporter, "ai_agent_call_analyses_total", **outcome) == 1
    for source in ("platform_success", "platform_sentiment"):
        rated = dict(tenant="globex", provider="retell", source=source, negative="false")
        assert value(exporter, "ai_agent_feedback_total", **rated) == 1


def test_replayed_call_ended_and_call_analyzed_are_counted_once(receiver, exporter, clock):
    call = fx.retell_call(clock.now)
    for event in ("call_ended", "call_analyzed"):
        assert post(receiver, fx.retell_event(event, call), clock)[1].get("accepted")
    before = without_webhook_counter(exporter)
    for event in ("call_ended", "call_analyzed"):
        clock.now += 10
        assert post(receiver, fx.retell_event(event, call), clock) == (200, {"duplicate": True})
    assert without_webhook_counter(exporter) == before


def test_a_forged_stale_or_unsigned_event_is_refused_and_changes_nothing(receiver, exporter, clock):
    payload = fx.retell_event("call_ended", fx.retell_call(clock.now))
    body = fx.body_of(payload)
    before = without_webhook_counter(exporter)
    attempts = [
        {},
        {"x-retell-signature": fx.retell_signature(body, "another-key", clock.now)},
        {"x-retell-signature": fx.retell_signature(body, API_KEY, clock.now - 301)},
        {"x-retell-signature": fx.retell_signature(body, API_KEY, clock.now + 301)},
        {"x-retell-signature": "v=1,d=zz"},
        {"x-retell-signature": fx.retell_signature(body + b" ", API_KEY, clock.now)},
    ]
    for headers in attempts:
        status, reply = receiver(headers, body)
        assert status == 401 and reply["error"], (headers, reply)
    assert without_webhook_counter(exporter) == before
    assert value(exporter, "ai_agent_exporter_webhooks_total", platform="retell", outcome="unauthorized") == 6


def test_without_the_api_key_configured_every_event_is_refused(exporter, clock):
    receiver = WebhookReceiver(RetellEvents(None), exporter)
    status, reply = post(receiver, fx.retell_event("call_ended", fx.retell_call(clock.now)), clock)
    assert status == 503 and "RETELL_API_KEY" in reply["error"]
    assert value(exporter, "ai_agent_exporter_webhooks_total", platform="retell", outcome="not_configured") == 1


def test_our_signature_check_agrees_with_the_official_sdk(clock):
    body = fx.body_of(fx.retell_event("call_ended", fx.retell_call(clock.now)))
    signed_by_sdk = webhook_auth.symmetric["sign"](body.decode(), API_KEY, int(clock.now * 1000))
    verify_retell(signed_by_sdk, body, API_KEY, clock.now)  # accepted: no exception
    ours = fx.retell_signature(body, API_KEY, clock.now)
    assert webhook_auth.symmetric["verify"](body.decode(), API_KEY, ours, {"timestamp": int(clock.now * 1000)})
    stale = fx.retell_signature(body, API_KEY, clock.now - 301)
    assert not webhook_auth.symmetric["verify"](body.decode(), API_KEY, stale, {"timestamp": int(clock.now * 1000)})
    with pytest.raises(WebhookRefused):
        verify_retell(stale, body, API_KEY, clock.now)


def _negative_latency(payload):
    payload["call"]["latency"]["e2e"]["values"][1] = -5
    return payload


def _no_call_id(payload):
    del payload["call"]["call_id"]
    return payload


def _cost_as_text(payload):
    payload["call"]["call_cost"]["product_costs"][0]["cost"] = "14"
    return payload


@pytest.mark.parametrize(
    "breaks, says",
    [
        (_negative_latency, "call.latency.e2e.values[1] must be a finite number >= 0"),
        (_no_call_id, "call.call_id is required"),
        (_cost_as_text, "product_costs[0].cost must be a finite number"),
    ],
    ids=["negative-latency", "no-call-id", "cost-as-text"],
)
def test_a_malformed_call_ended_is_refused_whole_with_its_reason(receiver, exporter, clock, breaks, says):
    before = without_webhook_counter(exporter)
    status, reply = post(receiver, breaks(fx.retell_event("call_ended", fx.retell_call(clock.now))), clock)
    assert status == 400 and says in reply["error"], reply
    assert without_webhook_counter(exporter) == before


@pytest.mark.parametrize(
    "raw, normalised",
    [
        ("user_hangup", "user_hangup"),
        ("agent_hangup", "agent_hangup"),
        ("call_transfer", "transfer"),
        ("inactivity", "timeout"),
        ("max_duration_reached", "timeout"),
        ("error_llm_websocket_lost_connection", "error"),
        ("error_asr", "error"),
        ("dial_failed", "error"),
        ("voicemail_reached", "other"),
        ("dial_no_answer", "other"),
    ],
)
def test_disconnection_reasons_map_explicitly(raw, normalised):
    assert end_reason(raw) == normalised


def test_a_call_that_started_more_than_a_day_ago_is_refused_and_changes_nothing(receiver, exporter, clock):
    before = without_webhook_counter(exporter)
    old = fx.retell_call(clock.now, call_id="old-call", duration=25 * 3600)
    status, reply = post(receiver, fx.retell_event("call_ended", old), clock)
    assert status == 422 and "started more than 86400 s ago" in reply["error"], reply
    assert without_webhook_counter(exporter) == before


def test_other_events_are_acknowledged_and_ignored(receiver, exporter, clock):
    before = without_webhook_counter(exporter)
    for event in ("transcript_updated", "transfer_started", "chat_ended"):
        status, _ = post(receiver, {"event": event, "call": fx.retell_call(clock.now)}, clock)
        assert status == 200
    assert without_webhook_counter(exporter) == before


@pytest.mark.parametrize(("call_type", "transport"), [("web_call", "webrtc"), ("phone_call", "sip")])
def test_the_call_type_is_the_calls_transport(receiver, exporter, clock, call_type, transport):
    call = {**fx.retell_call(clock.now), "call_type": call_type}
    assert post(receiver, fx.retell_event("call_started", call), clock)[0] == 200
    assert value(exporter, "ai_agent_active_calls_by_transport", transport=transport) == 1


def test_asr_and_network_latencies_are_stt_and_network_components_counted_as_requests(receiver, exporter, clock):
    call = fx.retell_call(clock.now)
    call["latency"] = {
        **call["latency"],
        "asr": {"values": [150.0, 250.0]},
        "llm_websocket_network_rtt": {"values": [40.0, 60.0, 80.0]},
    }
    assert post(receiver, fx.retell_event("call_ended", call), clock)[0] == 200
    stt = {"component": "stt", "provider": "retell"}
    assert value(exporter, "ai_agent_component_latency_seconds_sum", **stt) == pytest.approx(0.4)
    network = {"component": "network", "provider": "retell"}
    assert value(exporter, "ai_agent_component_latency_seconds_count", **network) == 3
    requests = {"provider": "retell", "status": "ok"}
    assert value(exporter, "ai_agent_provider_requests_total", service="stt", **requests) == 2
    assert value(exporter, "ai_agent_provider_requests_total", service="llm", **requests) == 4 + 3  # llm and rtt


def test_without_product_costs_the_combined_cost_is_booked_as_platform(receiver, exporter, clock):
    call = fx.retell_call(clock.now)
    call["call_cost"] = {"combined_cost": 42.0, "total_duration_seconds": 120}
    assert post(receiver, fx.retell_event("call_ended", call), clock)[0] == 200
    cost = {"tenant": "globex", "provider": "retell"}
    assert value(exporter, "ai_agent_cost_usd_total", service="platform", **cost) == pytest.approx(0.42)


def test_a_call_with_percentiles_only_has_no_turns(receiver, exporter, clock):
    call = fx.retell_call(clock.now)
    call["latency"] = {"e2e": {k: v for k, v in call["latency"]["e2e"].items() if k != "values"}}
    status, reply = post(receiver, fx.retell_event("call_ended", call), clock)
    assert status == 200 and "rejected" not in reply, reply
    assert value(exporter, "ai_agent_calls_ended_total", reason="agent_hangup", **CALL) == 1
    assert value(exporter, "ai_agent_turns_total", **LABELS) is None  # no turn was ever counted
    assert per_call(exporter, fx.RETELL_CALL_ID)["ai_agent_call_turns"] == 0


@pytest.mark.parametrize("sentiment", ["Positive", "Negative", "Neutral", "Unknown"])
def test_each_user_sentiment_is_counted_under_its_own_label(receiver, exporter, clock, sentiment):
    payload = fx.retell_event("call_analyzed", fx.retell_call(clock.now))
    payload["call"]["call_analysis"]["user_sentiment"] = sentiment
    reply = post(receiver, payload, clock)[1]
    # The exporter never saw this call: the fleet counts its analysis, but its verdicts are no feedback.
    assert reply["accepted"] == 1 and all("is unknown" in r["error"] for r in reply["rejected"]), reply
    outcome = dict(tenant="globex", provider="retell", successful="true", sentiment=sentiment.lower())
    assert value(exporter, "ai_agent_call_analyses_total", **outcome) == 1


def priced_exporter(clock):
    """An exporter whose price table prices Retell's tokens, so an estimate added on top of Retell's bill shows."""
    prices = PriceTable({"llm": {"retell": {"tokens_in": 0.0025}}, "platform": {"retell": {"minutes": 0.07}}})
    return Exporter(Limits(grace_seconds=120, idle_seconds=600), prices=prices, clock=clock)


def test_a_call_retell_bills_at_zero_costs_zero_although_it_used_tokens(clock):
    exporter = priced_exporter(clock)
    receiver = WebhookReceiver(RetellEvents(API_KEY), exporter)
    call = fx.retell_call(clock.now)
    call["llm_token_usage"] = {"values": [25_000.0] * 4, "average": 25_000.0, "num_requests": 4}
    for product in call["call_cost"]["product_costs"]:
        product["cost"] = 0.0
    call["call_cost"]["combined_cost"] = 0.0
    status, reply = post(receiver, fx.retell_event("call_ended", call), clock)
    assert status == 200 and "rejected" not in reply, reply
    assert value(exporter, "ai_agent_usage_total", provider="retell", service="llm", unit="tokens_in") == 100_000
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="globex") == 0
    assert per_call(exporter, fx.RETELL_CALL_ID)["ai_agent_call_running_cost_usd"] == 0


def test_a_combined_cost_without_product_costs_is_the_whole_cost_with_no_token_estimate_on_top(clock):
    exporter = priced_exporter(clock)
    receiver = WebhookReceiver(RetellEvents(API_KEY), exporter)
    call = fx.retell_call(clock.now)
    call["call_cost"] = {**call["call_cost"], "product_costs": [], "combined_cost": 42.0}
    assert post(receiver, fx.retell_event("call_ended", call), clock)[0] == 200
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="globex") == pytest.approx(0.42)
    cost = {"tenant": "globex", "provider": "retell"}
    assert value(exporter, "ai_agent_cost_usd_total", service="platform", **cost) == pytest.approx(0.42)


@pytest.mark.parametrize(
    "product, service",
    [
        ("retell_voice_engine", "platform"),
        ("background_voice_cancellation", "platform"),
        ("elevenlabs_tts", "tts"),
        ("openai_tts", "tts"),
        ("gpt_4o_mini", "llm"),
        ("claude_3_7_sonnet", "llm"),
        ("gemini_2_0_flash", "llm"),
        ("llm_token_surcharge", "llm"),
        ("post_call_analysis_gpt_4o", "llm"),
        ("twilio_telephony", "transport"),
        ("retell_telephony", "transport"),
    ],
)
def test_retell_products_are_booked_by_an_explicit_table(product, service):
    assert service_of_product(product) == (service, True)


def test_voice_products_that_are_not_speech_synthesis_are_not_booked_as_tts(receiver, exporter, clock):
    call = fx.retell_call(clock.now)
    call["call_cost"]["product_costs"] = [
        {"product": "elevenlabs_tts", "unit_price": 0.05, "cost": 6.0},
        {"product": "retell_voice_engine", "unit_price": 0.35, "cost": 42.0},
        {"product": "background_voice_cancellation", "unit_price": 0.1, "cost": 12.0},
        {"product": "a_product_retell_adds_later", "unit_price": 0.01, "cost": 1.0},
    ]
    call["call_cost"]["combined_cost"] = 61.0
    assert post(receiver, fx.retell_event("call_ended", call), clock)[0] == 200
    cost = {"tenant": "globex", "provider": "retell"}
    assert value(exporter, "ai_agent_cost_usd_total", service="tts", **cost) == pytest.approx(0.06)
    assert value(exporter, "ai_agent_cost_usd_total", service="platform", **cost) == pytest.approx(0.55)
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="globex") == pytest.approx(0.61)
    unknown = value(exporter, "ai_agent_exporter_webhooks_total", platform="retell", outcome="unknown_product")
    assert unknown == 1


@pytest.mark.parametrize(
    "raw, normalised",
    [
        ("invalid_destination", "error"),
        ("marked_as_spam", "error"),
        ("network_blocked", "error"),
        ("scam_detected", "error"),
        ("telephony_provider_unavailable", "error"),
        ("error_user_not_joined", "error"),
        ("dial_busy", "other"),
        ("dial_no_answer", "other"),
        ("user_declined", "user_hangup"),
        ("ivr_reached", "other"),
        ("manual_stopped", "other"),
        ("user_requested_callback", "other"),
        ("registered_call_timeout", "timeout"),
        ("machine_detected", "other"),
        ("error_inbound_webhook", "error"),
    ],
)
def test_calls_that_never_connected_for_a_setup_fault_are_errors_and_those_the_callee_declined_are_not(raw, normalised):
    assert end_reason(raw) == normalised


def test_every_disconnection_reason_of_the_retell_sdk_is_mapped_explicitly():
    reasons = typing.get_args(typing.get_args(PhoneCallResponse.model_fields["disconnection_reason"].annotation)[0])
    assert len(reasons) > 30
    assert sorted(set(reasons) - set(END_REASONS)) == []


def test_without_a_call_cost_the_token_usage_is_priced_from_the_price_table(clock):
    exporter = priced_exporter(clock)
    receiver = WebhookReceiver(RetellEvents(API_KEY), exporter)
    call = fx.retell_call(clock.now)
    del call["call_cost"]
    assert post(receiver, fx.retell_event("call_ended", call), clock)[0] == 200
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="globex") == pytest.approx(5660 * 0.0025 / 1000)


def test_a_call_started_live_that_went_idle_is_counted_once_when_call_ended_comes(receiver, exporter, clock):
    call = fx.retell_call(clock.now + exporter.limits.idle_seconds + 60, duration=exporter.limits.idle_seconds + 60)
    assert post(receiver, fx.retell_event("call_started", call), clock)[0] == 200
    clock.now += exporter.limits.idle_seconds + 30
    exporter.sweep()
    assert value(exporter, "ai_agent_exporter_calls_expired_total", reason="idle") == 1
    clock.now += 30
    status, reply = post(receiver, fx.retell_event("call_ended", call), clock)
    assert status == 200 and "rejected" not in reply, reply
    assert value(exporter, "ai_agent_calls_started_total", **CALL) == 1
    assert value(exporter, "ai_agent_calls_adopted_total", **CALL) is None
    assert value(exporter, "ai_agent_calls_ended_total", reason="agent_hangup", **CALL) == 1
    assert value(exporter, "ai_agent_active_calls", tenant="globex", provider="retell") == 0


def test_a_report_key_forgotten_because_the_ledger_is_full_is_counted(receiver, exporter, clock):
    receiver.ledger.max_ids = 2
    for n in range(3):
        call = fx.retell_call(clock.now, call_id=f"call_{n:032d}")
        assert post(receiver, fx.retell_event("call_ended", call), clock)[1].get("accepted")
    assert value(exporter, "ai_agent_exporter_webhooks_total", platform="retell", outcome="forgotten") == 1
    assert len(receiver.ledger) == 2
