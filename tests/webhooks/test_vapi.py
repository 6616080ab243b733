"""Vapi server messages: the end-of-call report is the call's turns, costs, usage and end, applied once."""

import hashlib
import hmac

import pytest
from vapi.types.server_message_end_of_call_report import ServerMessageEndOfCallReport

from tests.exporter.exposition_samples import value
from tests.webhooks import fixtures as fx
from tests.webhooks.metrics import per_call, without_webhook_counter
from voice_monitoring.exporter.core import Exporter, Limits
from voice_monitoring.exporter.pricing import PriceTable
from voice_monitoring.exporter.webhooks.receiver import WebhookReceiver
from voice_monitoring.exporter.webhooks.vapi import VapiAuth, VapiMessages, end_reason

SECRET = "vapi-test-secret"
BEARER = {"Authorization": f"Bearer {SECRET}"}
LABELS = {"pipeline": "vapi", "provider": "vapi"}


@pytest.fixture
def receiver(exporter):
    return WebhookReceiver(VapiMessages(VapiAuth(SECRET)), exporter)


def post(receiver, payload, headers=BEARER):
    return receiver(headers, fx.body_of(payload))


def test_an_end_of_call_report_becomes_the_calls_turns_components_costs_usage_and_end(receiver, exporter, clock):
    status, reply = post(receiver, fx.vapi_end_of_call_report(clock.now))
    assert status == 200 and "rejected" not in reply, reply
    assert value(exporter, "ai_agent_turns_total", **LABELS) == 3
    # turnLatencies[] are milliseconds: 1010 + 940 + 1260 ms
    assert value(exporter, "ai_agent_turn_response_seconds_sum", **LABELS) == pytest.approx(3.21)
    assert value(exporter, "ai_agent_turn_response_seconds_bucket", le="1.0", **LABELS) == 1
    # each component under the vendor the report's costs[] name for its service
    llm = value(exporter, "ai_agent_component_latency_seconds_sum", component="llm_ttft", provider="openai")
    assert llm == pytest.approx(1.41)
    stt = value(exporter, "ai_agent_component_latency_seconds_count", component="stt", provider="deepgram")
    assert stt == 3
    tts = value(exporter, "ai_agent_component_latency_seconds_count", component="tts_ttfb", provider="elevenlabs")
    assert tts == 3
    assert value(exporter, "ai_agent_component_latency_seconds_count", component="endpointing", provider="vapi") == 3
    ended = dict(tenant="acme", provider="vapi", pipeline="vapi")
    assert value(exporter, "ai_agent_calls_started_total", **ended) == 1
    assert value(exporter, "ai_agent_calls_ended_total", reason="transfer", **ended) == 1
    assert value(exporter, "ai_agent_call_duration_seconds_sum", pipeline="vapi", provider="vapi") == pytest.approx(95)
    assert value(exporter, "ai_agent_barge_in_events_total", provider="vapi") == 2
    for service, provider, usd in (
        ("stt", "deepgram", 0.0172),
        ("llm", "openai", 0.0159),
        ("tts", "elevenlabs", 0.0918),  # Vapi's 11labs
        ("transport", "twilio", 0.0136),
        ("platform", "vapi", 0.08),
    ):
        assert value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider=provider, service=service) == (
            pytest.approx(usd)
        )
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="acme") == pytest.approx(0.2185)
    usage = {"provider": "openai", "service": "llm"}
    assert value(exporter, "ai_agent_usage_total", unit="tokens_in", **usage) == 5120
    assert value(exporter, "ai_agent_usage_total", unit="tokens_out", **usage) == 310
    assert value(exporter, "ai_agent_usage_total", provider="elevenlabs", service="tts", unit="characters") == 740
    analysed = value(
        exporter, "ai_agent_call_analyses_total", successful="true", sentiment="unknown", tenant="acme", provider="vapi"
    )
    assert analysed == 1
    series = per_call(exporter, fx.VAPI_CALL_ID)
    assert series["ai_agent_call_ended"] == 1 and series["ai_agent_call_turns"] == 3
    assert series["ai_agent_call_turn_response_p95_seconds"] == pytest.approx(1.26)
    assert series["ai_agent_call_barge_ins"] == 2
    assert value(exporter, "ai_agent_exporter_webhooks_total", platform="vapi", outcome="applied") == 1


def test_the_per_call_series_of_a_report_stay_for_the_grace_period_so_the_scorer_can_read_them(
    receiver, exporter, clock
):
    post(receiver, fx.vapi_end_of_call_report(clock.now))
    clock.now += 119
    exporter.sweep()
    assert per_call(exporter, fx.VAPI_CALL_ID)
    clock.now += 2
    exporter.sweep()
    # Only the successEvaluation, published as feedback for a few minutes after it arrived, is left.
    assert per_call(exporter, fx.VAPI_CALL_ID) == {"ai_agent_call_feedback_rating": 1.0}
    clock.now += exporter.limits.feedback_series_seconds
    exporter.sweep()
    assert per_call(exporter, fx.VAPI_CALL_ID) == {}


def test_a_redelivered_report_is_counted_once(receiver, exporter, clock):
    report = fx.vapi_end_of_call_report(clock.now)
    assert post(receiver, report)[0] == 200
    before = without_webhook_counter(exporter)
    clock.now += 30
    status, reply = post(receiver, report)
    assert (status, reply) == (200, {"duplicate": True})
    assert without_webhook_counter(exporter) == before
    clock.now += 600  # after the call's series are gone, too
    exporter.sweep()
    after_expiry = without_webhook_counter(exporter)
    assert post(receiver, report) == (200, {"duplicate": True})
    assert without_webhook_counter(exporter) == after_expiry
    assert value(exporter, "ai_agent_exporter_webhooks_total", platform="vapi", outcome="duplicate") == 2


def test_a_call_longer_than_the_exporters_hour_is_accepted_whole_and_a_day_old_one_is_refused(
    receiver, exporter, clock
):
    status, reply = post(receiver, fx.vapi_end_of_call_report(clock.now, duration=2.5 * 3600))
    assert status == 200 and reply["accepted"] > 0 and "rejected" not in reply, reply
    assert value(exporter, "ai_agent_calls_started_total", tenant="acme", provider="vapi", pipeline="vapi") == 1
    before = without_webhook_counter(exporter)
    old = fx.vapi_end_of_call_report(clock.now - 20 * 3600, duration=5 * 3600, call_id="old-call")
    status, reply = post(receiver, old)
    assert status == 422 and "started more than 86400 s ago" in reply["error"]
    assert without_webhook_counter(exporter) == before


def test_a_call_followed_live_is_started_once_and_its_live_interruptions_are_not_counted_twice(
    receiver, exporter, clock
):
    started = dict(tenant="acme", provider="vapi", pipeline="vapi")
    assert post(receiver, fx.vapi_status_update(clock.now - 100))[0] == 200
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="vapi") == 1
    assert value(exporter, "ai_agent_active_calls_by_transport", transport="sip") == 1
    post(receiver, fx.vapi_speech_update(clock.now - 99, "assistant", "started"))
    assert value(exporter, "ai_agent_conversation_state", state="speaking") == 1
    post(receiver, fx.vapi_user_interrupted(clock.now - 50))
    assert value(exporter, "ai_agent_barge_in_events_total", provider="vapi") == 1
    assert post(receiver, fx.vapi_status_update(clock.now - 1, "ended"))[1]["ignored"]
    status, reply = post(receiver, fx.vapi_end_of_call_report(clock.now))
    assert status == 200 and "rejected" not in reply, reply
    assert value(exporter, "ai_agent_calls_started_total", **started) == 1
    assert value(exporter, "ai_agent_barge_in_events_total", provider="vapi") == 2  # the report says 2 in all
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="vapi") == 0
    assert value(exporter, "ai_agent_conversation_state", state="speaking") == 0


@pytest.mark.parametrize(
    "headers",
    [
        BEARER,
        {"authorization": f"bearer {SECRET}"},
        {"X-Vapi-Secret": SECRET},
    ],
    ids=["bearer", "bearer-lowercase", "legacy-x-vapi-secret"],
)
def test_each_way_vapi_proves_the_secret_is_accepted(receiver, clock, headers):
    assert post(receiver, fx.vapi_end_of_call_report(clock.now), headers)[0] == 200


def test_a_token_in_a_configured_header_is_accepted(exporter, clock):
    receiver = WebhookReceiver(VapiMessages(VapiAuth(SECRET, token_header="X-Monitoring-Token")), exporter)
    assert post(receiver, fx.vapi_end_of_call_report(clock.now), {"X-Monitoring-Token": SECRET})[0] == 200
    assert post(receiver, fx.vapi_end_of_call_report(clock.now, call_id="c2"), BEARER)[0] == 401


def test_an_hmac_signed_report_is_accepted_and_a_forged_or_stale_one_refused(receiver, exporter, clock):
    report = fx.vapi_end_of_call_report(clock.now)
    body = fx.body_of(report)
    forged = fx.vapi_hmac_headers(body, "not-the-secret", clock.now)
    stale = fx.vapi_hmac_headers(body, SECRET, clock.now - 301)
    tampered_body = body.replace(b'"turnLatency":1010', b'"turnLatency":10')
    for headers, payload in (
        (forged, body),
        (stale, body),
        (fx.vapi_hmac_headers(body, SECRET, clock.now), tampered_body),
    ):
        status, reply = receiver(headers, payload)
        assert status == 401, reply
    assert value(exporter, "ai_agent_turns_total", **LABELS) is None
    assert receiver(fx.vapi_hmac_headers(body, SECRET, clock.now), body)[0] == 200
    assert value(exporter, "ai_agent_turns_total", **LABELS) == 3


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-Vapi-Secret": "wrong"}, {"Authorization": SECRET + "x"}],
    ids=["none", "wrong-bearer", "wrong-legacy", "longer"],
)
def test_an_unauthenticated_request_is_refused_and_changes_nothing(receiver, exporter, clock, headers):
    before = without_webhook_counter(exporter)
    status, reply = post(receiver, fx.vapi_end_of_call_report(clock.now), headers)
    assert status == 401 and reply["error"]
    assert without_webhook_counter(exporter) == before
    assert value(exporter, "ai_agent_exporter_webhooks_total", platform="vapi", outcome="unauthorized") == 1


def test_without_a_secret_configured_vapi_messages_are_accepted(exporter, clock):
    receiver = WebhookReceiver(VapiMessages(VapiAuth(None)), exporter)
    assert post(receiver, fx.vapi_end_of_call_report(clock.now), {})[0] == 200


def _broken_turn(report):
    report["message"]["artifact"]["performanceMetrics"]["turnLatencies"][2]["turnLatency"] = "slow"
    return report


def _no_call(report):
    del report["message"]["call"]
    return report


def _bad_time(report):
    report["message"]["endedAt"] = "yesterday"
    return report


def _ends_before_it_starts(report):
    report["message"]["startedAt"], report["message"]["endedAt"] = (
        report["message"]["endedAt"],
        report["message"]["startedAt"],
    )
    return report


def _huge_turn(report):
    report["message"]["artifact"]["performanceMetrics"]["turnLatencies"][1]["turnLatency"] = 9e9
    return report


@pytest.mark.parametrize(
    "breaks, status, says",
    [
        (_broken_turn, 400, "turnLatencies[2].turnLatency must be a finite number"),
        (_no_call, 400, "message.call is required"),
        (_bad_time, 400, "message.endedAt must be an ISO 8601 time"),
        (_ends_before_it_starts, 400, "endedAt is before"),
        (_huge_turn, 422, "latency_seconds must be <= 3600"),
    ],
    ids=["turn-not-a-number", "no-call", "bad-time", "ends-before-start", "impossible-latency"],
)
def test_a_malformed_report_is_refused_whole_with_its_reason(receiver, exporter, clock, breaks, status, says):
    before = without_webhook_counter(exporter)
    code, reply = post(receiver, breaks(fx.vapi_end_of_call_report(clock.now)))
    assert code == status and says in reply["error"], reply
    assert without_webhook_counter(exporter) == before


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"message": 3}', b'{"message": {"type": 7}}'])
def test_a_body_that_is_not_a_vapi_message_is_refused(receiver, exporter, body):
    before = without_webhook_counter(exporter)
    status, reply = receiver(BEARER, body)
    assert status == 400 and reply["error"]
    assert without_webhook_counter(exporter) == before


def test_messages_that_are_not_monitored_are_acknowledged_and_ignored(receiver, exporter, clock):
    before = without_webhook_counter(exporter)
    status, reply = post(receiver, {"message": {"type": "transcript", "call": fx.vapi_call()}})
    assert status == 200 and "not monitored" in reply["ignored"]
    assert without_webhook_counter(exporter) == before


@pytest.mark.parametrize(
    "raw, normalised",
    [
        ("customer-ended-call", "user_hangup"),
        ("assistant-said-end-call-phrase", "agent_hangup"),
        ("assistant-forwarded-call", "transfer"),
        ("silence-timed-out", "timeout"),
        ("exceeded-max-duration", "timeout"),
        ("pipeline-error-openai-llm-failed", "error"),
        ("call.in-progress.error-vapifault-deepgram-transcriber-failed", "error"),
        ("customer-did-not-answer", "other"),
        ("voicemail", "other"),
    ],
)
def test_ended_reasons_map_explicitly_and_the_raw_reason_travels_in_the_event(raw, normalised):
    assert end_reason(raw) == normalised


def test_an_hmac_with_a_sha256_prefix_and_a_timestamp_in_seconds_is_accepted(receiver, exporter, clock):
    body = fx.body_of(fx.vapi_end_of_call_report(clock.now))
    stamp = str(int(clock.now))
    digest = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert receiver({"x-signature": f"sha256={digest}", "x-timestamp": stamp}, body)[0] == 200
    wrong = hmac.new(b"not-it", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert receiver({"x-signature": f"sha256={wrong}", "x-timestamp": stamp}, body)[0] == 401


def test_the_assistants_metadata_sets_the_tenant_when_the_call_has_none(receiver, exporter, clock):
    report = fx.vapi_end_of_call_report(clock.now)
    del report["message"]["call"]["metadata"]
    report["message"]["assistant"] = {"name": "billing", "metadata": {"tenant": "initech"}}
    assert post(receiver, report)[0] == 200
    assert value(exporter, "ai_agent_calls_started_total", tenant="initech", **LABELS) == 1


def test_a_web_call_followed_live_is_a_webrtc_call(receiver, exporter, clock):
    update = fx.vapi_status_update(clock.now)
    update["message"]["call"]["type"] = "webCall"
    assert post(receiver, update)[0] == 200
    assert value(exporter, "ai_agent_active_calls_by_transport", transport="webrtc") == 1


@pytest.mark.parametrize(
    ("role", "status", "state"),
    [("assistant", "stopped", "listening"), ("user", "started", "listening"), ("user", "stopped", "processing")],
)
def test_each_speech_update_moves_the_call_to_its_conversation_state(receiver, exporter, clock, role, status, state):
    post(receiver, fx.vapi_status_update(clock.now - 10))
    post(receiver, fx.vapi_speech_update(clock.now - 9, "assistant", "started"))
    assert post(receiver, fx.vapi_speech_update(clock.now - 5, role, status))[0] == 200
    assert value(exporter, "ai_agent_conversation_state", state=state) == 1
    assert value(exporter, "ai_agent_conversation_state", state="speaking") == 0


def test_analysis_knowledge_base_and_voicemail_costs_are_llm_and_transcriber_minutes_are_stt_usage(
    receiver, exporter, clock
):
    report = fx.vapi_end_of_call_report(clock.now)
    report["message"]["costs"] += [
        {"type": "analysis", "cost": 0.001},
        {"type": "knowledge-base", "cost": 0.002},
        {"type": "voicemail-detection", "cost": 0.004},
    ]
    assert post(receiver, report)[0] == 200
    # these items name no vendor: booked under vapi, next to the model's own cost under openai
    assert value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="vapi", service="llm") == (
        pytest.approx(0.007)
    )
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="acme") == pytest.approx(0.2185 + 0.007)
    assert value(exporter, "ai_agent_usage_total", provider="deepgram", service="stt", unit="minutes") == 1.6


def test_without_costs_the_cost_breakdown_gives_the_costs_and_usage(receiver, exporter, clock):
    report = fx.vapi_end_of_call_report(clock.now)
    del report["message"]["costs"]
    report["message"]["costBreakdown"] = {
        "transport": 0.01,
        "stt": 0.02,
        "llm": 0.03,
        "tts": 0.04,
        "vapi": 0.05,
        "llmPromptTokens": 900,
        "llmCompletionTokens": 80,
        "ttsCharacters": 300,
    }
    assert post(receiver, report)[0] == 200
    cost = {"tenant": "acme", "provider": "vapi"}
    for service, usd in (("transport", 0.01), ("stt", 0.02), ("llm", 0.03), ("tts", 0.04), ("platform", 0.05)):
        assert value(exporter, "ai_agent_cost_usd_total", service=service, **cost) == pytest.approx(usd)
    usage = {"provider": "vapi"}
    assert value(exporter, "ai_agent_usage_total", service="llm", unit="tokens_in", **usage) == 900
    assert value(exporter, "ai_agent_usage_total", service="llm", unit="tokens_out", **usage) == 80
    assert value(exporter, "ai_agent_usage_total", service="tts", unit="characters", **usage) == 300


def test_a_call_followed_live_whose_report_never_comes_is_expired_by_the_idle_timeout(receiver, exporter, clock):
    assert post(receiver, fx.vapi_status_update(clock.now))[0] == 200
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="vapi") == 1
    clock.now += exporter.limits.idle_seconds + 1
    exporter.sweep()
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="vapi") == 0
    assert per_call(exporter, fx.VAPI_CALL_ID) == {}


@pytest.mark.parametrize("raw", ["worker-shutdown", "twilio-failed-to-connect-call", "vonage-failed-to-connect-call"])
def test_a_worker_shutdown_or_a_failure_is_an_error(raw):
    assert end_reason(raw) == "error"


def test_a_call_followed_live_that_went_idle_is_counted_once_when_its_report_comes(receiver, exporter, clock):
    labels = dict(tenant="acme", provider="vapi", pipeline="vapi")
    assert post(receiver, fx.vapi_status_update(clock.now))[0] == 200
    clock.now += exporter.limits.idle_seconds + 30  # a long call: nothing for --idle-seconds
    exporter.sweep()
    assert value(exporter, "ai_agent_exporter_calls_expired_total", reason="idle") == 1
    clock.now += 60
    status, reply = post(receiver, fx.vapi_end_of_call_report(clock.now, duration=700))
    assert status == 200 and "rejected" not in reply, reply
    assert value(exporter, "ai_agent_calls_started_total", **labels) == 1
    assert value(exporter, "ai_agent_calls_adopted_total", **labels) is None
    assert value(exporter, "ai_agent_calls_ended_total", reason="transfer", **labels) == 1
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="vapi") == 0
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="acme") == pytest.approx(0.2185)
    assert per_call(exporter, fx.VAPI_CALL_ID)["ai_agent_call_turns"] == 3


def test_the_cost_breakdown_is_booked_to_the_cent_with_its_zero_lines_and_every_part(clock):
    prices = PriceTable({"tts": {"vapi": {"characters": 0.05}}, "llm": {"vapi": {"tokens_in": 0.0025}}})
    exporter = Exporter(Limits(grace_seconds=120, idle_seconds=600), prices=prices, clock=clock)
    receiver = WebhookReceiver(VapiMessages(VapiAuth(SECRET)), exporter)
    report = fx.vapi_end_of_call_report(clock.now)
    del report["message"]["costs"]
    report["message"]["costBreakdown"] = {
        "transport": 0.0,
        "stt": 0.012,
        "llm": 0.02,
        "tts": 0.0,
        "vapi": 0.025,
        "chat": 0.0,
        "voicemailDetectionCost": 0.004,
        "knowledgeBaseCost": 0.003,
        "total": 0.069,
        "llmPromptTokens": 5120,
        "llmCompletionTokens": 310,
        "llmCachedPromptTokens": 4096,
        "ttsCharacters": 900,
        "analysisCostBreakdown": {
            "summary": 0.002,
            "summaryPromptTokens": 400,
            "summaryCompletionTokens": 60,
            "structuredData": 0.001,
            "successEvaluation": 0.002,
            "structuredOutput": 0.0,
        },
    }
    ServerMessageEndOfCallReport.model_validate(report["message"])
    assert post(receiver, report)[0] == 200
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="acme") == pytest.approx(0.069)
    cost = {"tenant": "acme", "provider": "vapi"}
    assert value(exporter, "ai_agent_cost_usd_total", service="tts", **cost) == 0
    assert value(exporter, "ai_agent_cost_usd_total", service="llm", **cost) == pytest.approx(0.032)
    assert value(exporter, "ai_agent_usage_total", provider="vapi", service="tts", unit="characters") == 900
    llm = {"provider": "vapi", "service": "llm"}
    assert value(exporter, "ai_agent_usage_total", unit="tokens_in_cached", **llm) == 4096
    assert value(exporter, "ai_agent_usage_total", unit="tokens_in", **llm) == 5120 - 4096 + 400  # and the summary's


def test_the_older_x_vapi_signature_header_carrying_the_secret_is_accepted(receiver, exporter, clock):
    status, reply = post(receiver, fx.vapi_end_of_call_report(clock.now), {"X-Vapi-Signature": SECRET})
    assert status == 200 and reply.get("accepted"), reply
    status, _ = post(receiver, fx.vapi_end_of_call_report(clock.now, call_id="other"), {"X-Vapi-Signature": "wrong"})
    assert status == 401


def test_a_service_the_cost_breakdown_uses_but_does_not_bill_costs_nothing(clock):
    prices = PriceTable({"tts": {"vapi": {"characters": 0.05}}})
    exporter = Exporter(Limits(grace_seconds=120, idle_seconds=600), prices=prices, clock=clock)
    receiver = WebhookReceiver(VapiMessages(VapiAuth(SECRET)), exporter)
    report = fx.vapi_end_of_call_report(clock.now)
    del report["message"]["costs"]
    report["message"]["costBreakdown"] = {"llm": 0.02, "vapi": 0.025, "total": 0.045, "ttsCharacters": 900}
    assert post(receiver, report)[0] == 200
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="acme") == pytest.approx(0.045)
    assert value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="vapi", service="tts") == 0
