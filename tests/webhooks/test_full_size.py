"""Full-size reports built from the platforms' SDK models, posted whole: every field the receivers map lands where
the docs say, checked against the figures the SDK model holds."""

import pytest
from retell.types.phone_call_response import PhoneCallResponse
from vapi.types.server_message_end_of_call_report import ServerMessageEndOfCallReport

from tests.exporter.exposition_samples import samples, value
from tests.webhooks import fixtures as fx
from tests.webhooks import full_size as fs
from tests.webhooks.metrics import per_call
from voice_monitoring.exporter.webhooks.receiver import WebhookReceiver
from voice_monitoring.exporter.webhooks.retell import RetellEvents
from voice_monitoring.exporter.webhooks.vapi import VapiAuth, VapiMessages

SECRET = "vapi-full-size-secret"
API_KEY = "key_retell_full_size"


@pytest.fixture
def vapi(exporter, clock):
    """(exporter, the SDK's report) after the report was posted whole."""
    report = fs.vapi_report(clock.now)
    payload = fs.vapi_payload(report)
    assert ServerMessageEndOfCallReport.model_validate(payload["message"]) == report
    receiver = WebhookReceiver(VapiMessages(VapiAuth(SECRET)), exporter)
    status, reply = receiver({"X-Vapi-Secret": SECRET}, fx.body_of(payload))
    assert status == 200 and "rejected" not in reply, reply
    return exporter, report


def _cost(report, kind):
    return sum(c.cost for c in report.costs if c.type == kind)


def test_vapi_costs_are_booked_under_each_services_vendor_and_add_up_to_the_reports_cost(vapi):
    exporter, report = vapi
    assert len(report.artifact.messages) >= 40 and 6 <= (report.ended_at - report.started_at).seconds / 60 <= 10
    booked = {
        (labels["provider"], labels["service"]): v
        for (name, pairs), v in samples(exporter).items()
        if name == "ai_agent_cost_usd_total"
        for labels in [dict(pairs)]
    }
    assert booked == pytest.approx(
        {
            ("twilio", "transport"): _cost(report, "transport"),
            ("deepgram", "stt"): _cost(report, "transcriber"),
            ("openai", "llm"): _cost(report, "model")
            + _cost(report, "analysis")
            + _cost(report, "voicemail-detection"),
            ("google", "llm"): _cost(report, "knowledge-base"),
            ("elevenlabs", "tts"): _cost(report, "voice"),
            ("vapi", "platform"): _cost(report, "vapi"),
        }
    )
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="initech") == pytest.approx(report.cost)


def test_vapi_component_latencies_carry_the_vendor_and_endpointing_stays_vapis(vapi):
    exporter, report = vapi
    turns = report.artifact.performance_metrics.turn_latencies
    for component, provider, field in (
        ("stt", "deepgram", "transcriber_latency"),
        ("llm_ttft", "openai", "model_latency"),
        ("tts_ttfb", "elevenlabs", "voice_latency"),
        ("endpointing", "vapi", "endpointing_latency"),
    ):
        labels = {"component": component, "provider": provider}
        assert value(exporter, "ai_agent_component_latency_seconds_count", **labels) == len(turns)
        total = sum(getattr(t, field) for t in turns) / 1000
        assert value(exporter, "ai_agent_component_latency_seconds_sum", **labels) == pytest.approx(total)
    requests = {"provider": "deepgram", "service": "stt", "status": "ok"}
    assert value(exporter, "ai_agent_provider_requests_total", **requests) == len(turns)
    assert value(exporter, "ai_agent_turns_total", pipeline="vapi", provider="vapi") == len(turns)


def test_vapi_transport_latency_averages_are_the_network_component_of_the_transport_vendor(vapi):
    exporter, report = vapi
    metrics = report.artifact.performance_metrics
    network = {"component": "network", "provider": "twilio"}
    assert value(exporter, "ai_agent_component_latency_seconds_count", **network) == 2
    expected = (metrics.from_transport_latency_average + metrics.to_transport_latency_average) / 1000
    assert value(exporter, "ai_agent_component_latency_seconds_sum", **network) == pytest.approx(expected)


def test_vapi_barge_ins_are_the_times_the_caller_interrupted_the_assistant(vapi):
    exporter, report = vapi
    metrics = report.artifact.performance_metrics
    assert metrics.num_assistant_interrupted != metrics.num_user_interrupted
    assert value(exporter, "ai_agent_barge_in_events_total", provider="vapi") == metrics.num_assistant_interrupted
    assert per_call(exporter, report.call.id)["ai_agent_call_barge_ins"] == metrics.num_assistant_interrupted


def test_vapi_agent_speech_is_the_assistants_messages(vapi):
    exporter, report = vapi
    spoken = sum(m.end_time - m.time for m in report.artifact.messages if m.role == "bot") / 1000
    assert spoken > 60
    assert per_call(exporter, report.call.id)["ai_agent_call_agent_speech_seconds"] == pytest.approx(spoken)


def test_vapi_usage_carries_vendor_model_and_the_billed_minutes(vapi):
    exporter, report = vapi
    model = next(c for c in report.costs if c.type == "model")
    llm = {"provider": "openai", "service": "llm"}
    prompt = model.prompt_tokens + next(c for c in report.costs if c.type == "analysis").prompt_tokens
    in_table = value(exporter, "ai_agent_usage_total", unit="tokens_in", **llm)
    cached = value(exporter, "ai_agent_usage_total", unit="tokens_in_cached", **llm)
    assert in_table + cached == prompt
    assert value(exporter, "ai_agent_usage_total", provider="elevenlabs", service="tts", unit="characters") == 6420
    minutes = next(c for c in report.costs if c.type == "vapi").minutes
    for provider, service in (("deepgram", "stt"), ("twilio", "transport"), ("vapi", "platform")):
        labels = {"provider": provider, "service": service, "unit": "minutes"}
        assert value(exporter, "ai_agent_usage_total", **labels) == pytest.approx(minutes)


def test_vapi_cached_prompt_tokens_are_their_own_usage(vapi):
    exporter, report = vapi
    model = next(c for c in report.costs if c.type == "model")
    llm = {"provider": "openai", "service": "llm"}
    assert value(exporter, "ai_agent_usage_total", unit="tokens_in_cached", **llm) == model.cached_prompt_tokens


@pytest.fixture
def retell(exporter, clock):
    """(exporter, the SDK's call) after call_ended was posted whole."""
    return _post_retell(exporter, clock, fs.retell_call(clock.now))


def _post_retell(exporter, clock, call):
    payload = fs.retell_payload(call)
    assert PhoneCallResponse.model_validate(payload["call"]) == call
    receiver = WebhookReceiver(RetellEvents(API_KEY), exporter)
    body = fx.body_of(payload)
    status, reply = receiver({"x-retell-signature": fx.retell_signature(body, API_KEY, clock.now)}, body)
    assert status == 200 and "rejected" not in reply, reply
    return exporter, call


def test_retell_turns_and_components_come_from_the_latency_values(retell):
    exporter, call = retell
    labels = {"pipeline": "retell", "provider": "retell"}
    assert 20 <= value(exporter, "ai_agent_turns_total", **labels) == len(call.latency.e2e.values) <= 40
    p95 = per_call(exporter, call.call_id)["ai_agent_call_turn_response_p95_seconds"]
    assert p95 == pytest.approx(sorted(call.latency.e2e.values)[-2] / 1000)  # nearest rank of 28 values
    for component, section in (("stt", call.latency.asr), ("llm_ttft", call.latency.llm)):
        count = value(exporter, "ai_agent_component_latency_seconds_count", component=component, provider="retell")
        assert count == len(section.values)


def test_retell_knowledge_base_and_speech_to_speech_latencies_are_components(retell):
    exporter, call = retell
    for component, section in (("knowledge_base", call.latency.knowledge_base), ("s2s", call.latency.s2s)):
        labels = {"component": component, "provider": "retell"}
        assert value(exporter, "ai_agent_component_latency_seconds_count", **labels) == len(section.values)
        assert value(exporter, "ai_agent_component_latency_seconds_sum", **labels) == pytest.approx(
            sum(section.values) / 1000
        )


def test_retell_percentiles_without_values_fill_the_calls_p95_and_make_no_turns(exporter, clock):
    call = fs.retell_call(clock.now)
    call.latency.e2e.values = None
    exporter, call = _post_retell(exporter, clock, call)
    series = per_call(exporter, call.call_id)
    assert series["ai_agent_call_turns"] == 0
    assert series["ai_agent_call_turn_response_p95_seconds"] == pytest.approx(call.latency.e2e.p95 / 1000)


def test_retell_costs_are_the_bill_by_product_and_the_billed_duration_is_platform_minutes(retell):
    exporter, call = retell
    cents = {p.product: p.cost for p in call.call_cost.product_costs}
    cost = {"tenant": "umbrella", "provider": "retell"}
    for service, products in (
        ("tts", ["elevenlabs_tts"]),
        ("llm", ["gpt_4o_mini"]),
        ("platform", ["retell_voice_engine", "background_voice_cancellation"]),
        ("transport", ["twilio_telephony"]),
    ):
        booked = value(exporter, "ai_agent_cost_usd_total", service=service, **cost)
        assert booked == pytest.approx(sum(cents[p] for p in products) / 100)
    assert value(exporter, "ai_agent_call_cost_usd_sum", tenant="umbrella") == pytest.approx(
        call.call_cost.combined_cost / 100
    )
    minutes = value(exporter, "ai_agent_usage_total", provider="retell", service="platform", unit="minutes")
    assert minutes == pytest.approx(call.call_cost.total_duration_seconds / 60)
    assert value(exporter, "ai_agent_exporter_webhooks_total", platform="retell", outcome="unknown_product") is None


END_REASON_INFO = "ai_agent_call_end_reason_info"


@pytest.mark.parametrize("platform", ["vapi", "retell"])
def test_the_raw_end_reason_is_on_the_calls_own_series_not_a_fleet_label(request, platform):
    exporter, report = request.getfixturevalue(platform)
    call_id, raw = (
        (report.call.id, report.ended_reason) if platform == "vapi" else (report.call_id, report.disconnection_reason)
    )
    reasons = [
        dict(labels).get("reason")
        for (name, labels), v in samples(exporter).items()
        if name == END_REASON_INFO and ("call_id", call_id) in labels and v == 1
    ]
    assert reasons == [raw]
    fleet = {dict(labels).get("reason") for (name, labels) in samples(exporter) if name == "ai_agent_calls_ended_total"}
    assert raw not in fleet and len(fleet) == 1  # the fleet label is the normalised reason


def test_retell_agent_speech_is_the_agents_utterances_in_the_transcript(retell):
    exporter, call = retell
    agent = [u for u in call.transcript_object if u.role == "agent"]
    spoken = sum(u.words[-1].end - u.words[0].start for u in agent)
    assert len(agent) == len(call.latency.e2e.values) and spoken > 30
    assert per_call(exporter, call.call_id)["ai_agent_call_agent_speech_seconds"] == pytest.approx(spoken)


def test_vapi_the_assistant_and_its_version_label_the_call(vapi):
    exporter, report = vapi
    labels = {"agent": report.assistant.name, "agent_version": report.assistant_version}
    assert value(exporter, "ai_agent_agent_calls_started_total", **labels) == 1
    assert value(exporter, "ai_agent_agent_calls_ended_total", reason="user_hangup", **labels) == 1
    assert value(exporter, "ai_agent_agent_call_seconds_total", **labels) > 0
    assert value(
        exporter, "ai_agent_call_agent_info", call_id=report.call.id, provider="vapi", tenant="initech", **labels
    )


def test_vapi_without_an_assistant_name_the_agent_is_the_assistant_id_and_metadata_names_win(exporter, clock):
    report = fs.vapi_report(clock.now)
    payload = fs.vapi_payload(report)
    del payload["message"]["assistant"]
    payload["message"].pop("assistantVersion")
    receiver = WebhookReceiver(VapiMessages(VapiAuth(SECRET)), exporter)
    assert receiver({"X-Vapi-Secret": SECRET}, fx.body_of(payload))[0] == 200
    labels = {"agent": report.call.assistant_id, "agent_version": "unknown"}
    assert value(exporter, "ai_agent_agent_calls_started_total", **labels) == 1

    payload = fs.vapi_payload(fs.vapi_report(clock.now, call_id="vapi-metadata-agent"))
    payload["message"]["call"]["metadata"].update(agent="scheduling", agent_version="prompt-12")
    assert receiver({"X-Vapi-Secret": SECRET}, fx.body_of(payload))[0] == 200
    labels = {"agent": "scheduling", "agent_version": "prompt-12"}
    assert value(exporter, "ai_agent_agent_calls_started_total", **labels) == 1


def test_retell_the_agent_name_and_version_label_the_call(retell):
    exporter, call = retell
    labels = {"agent": call.agent_name, "agent_version": str(call.agent_version)}
    assert value(exporter, "ai_agent_agent_calls_started_total", **labels) == 1
    assert value(exporter, "ai_agent_agent_cost_usd_total", **labels) > 0
    assert value(
        exporter, "ai_agent_call_agent_info", call_id=call.call_id, provider="retell", tenant="umbrella", **labels
    )


def test_retell_without_an_agent_name_the_agent_is_its_id(exporter, clock):
    call = fs.retell_call(clock.now).model_copy(update={"agent_name": None})
    _post_retell(exporter, clock, call)
    labels = {"agent": call.agent_id, "agent_version": str(call.agent_version)}
    assert value(exporter, "ai_agent_agent_calls_started_total", **labels) == 1
