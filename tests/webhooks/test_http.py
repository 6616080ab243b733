"""The webhook routes of a running exporter: signed reports applied once, everything else refused unchanged."""

import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from vapi.types.server_message_end_of_call_report import ServerMessageEndOfCallReport

from tests.harness import start_exporter
from tests.webhooks import fixtures as fx
from tests.webhooks import full_size
from tests.webhooks.metrics import REQUEST_COUNTERS

VAPI_SECRET = "vapi-http-secret"
RETELL_KEY = "key_retell_http"
ENV = {"VAPI_WEBHOOK_SECRET": VAPI_SECRET, "RETELL_API_KEY": RETELL_KEY}


def series(url: str) -> dict:
    """Every ai_agent_* sample but the request counters (webhook outcomes, authentication failures), which count
    refusals too."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("ai_agent_") and s.name not in REQUEST_COUNTERS:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict, name: str, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def post(url: str, path: str, body: bytes, headers: dict) -> requests.Response:
    return requests.post(url + path, data=body, headers={"Content-Type": "application/json", **headers}, timeout=10)


def test_a_vapi_report_over_http_is_applied_once_and_forged_malformed_or_oversized_ones_change_nothing(tmp_path):
    with start_exporter(tmp_path, "--max-body-bytes", "20000", env=ENV) as service:
        url, path = service.url, "/v1/webhooks/vapi"
        body = fx.body_of(fx.vapi_end_of_call_report(time.time()))
        refused = [
            (body, {}),
            (body, {"Authorization": "Bearer not-it"}),
            (body, fx.vapi_hmac_headers(body, "not-it", time.time())),
            (b"{not json", {"X-Vapi-Secret": VAPI_SECRET}),
            (b'{"message": {"type": "end-of-call-report"}}', {"X-Vapi-Secret": VAPI_SECRET}),
            (b" " * 30000, {"X-Vapi-Secret": VAPI_SECRET}),
        ]
        before = series(url)
        statuses = [post(url, path, payload, headers).status_code for payload, headers in refused]
        assert statuses == [401, 401, 401, 400, 400, 413]
        assert series(url) == before
        reply = post(url, path, body, {"Authorization": f"Bearer {VAPI_SECRET}"})
        assert reply.status_code == 200 and "rejected" not in reply.json(), reply.text
        applied = series(url)
        assert value(applied, "ai_agent_turns_total", pipeline="vapi", provider="vapi") == 3
        assert value(applied, "ai_agent_call_turns", call_id=fx.VAPI_CALL_ID, provider="vapi", tenant="acme") == 3
        again = post(url, path, body, fx.vapi_hmac_headers(body, VAPI_SECRET, time.time()))
        assert again.status_code == 200 and again.json() == {"duplicate": True}
        assert series(url) == applied


def test_a_signed_retell_call_ended_and_call_analyzed_pair_over_http(tmp_path):
    with start_exporter(tmp_path, env=ENV) as service:
        url, path = service.url, "/v1/webhooks/retell"
        call = fx.retell_call(time.time())

        def send(event, key=RETELL_KEY):
            body = fx.body_of(fx.retell_event(event, call))
            return post(url, path, body, {"X-Retell-Signature": fx.retell_signature(body, key, time.time())})

        before = series(url)
        assert send("call_ended", key="forged").status_code == 401
        assert series(url) == before
        assert send("call_ended").json().get("accepted")
        assert send("call_analyzed").json() == {"accepted": 3}  # the analysis, and its two verdicts as feedback
        applied = series(url)
        assert value(applied, "ai_agent_turns_total", pipeline="retell", provider="retell") == 4
        ended = dict(tenant="globex", provider="retell", pipeline="retell", reason="agent_hangup")
        assert value(applied, "ai_agent_calls_ended_total", **ended) == 1
        outcome = dict(tenant="globex", provider="retell", successful="true", sentiment="positive")
        assert value(applied, "ai_agent_call_analyses_total", **outcome) == 1
        for source, negative in (("platform_success", "false"), ("platform_sentiment", "false")):
            rated = dict(tenant="globex", provider="retell", source=source, negative=negative)
            assert value(applied, "ai_agent_feedback_total", **rated) == 1
        assert send("call_ended").json() == {"duplicate": True}
        assert send("call_analyzed").json() == {"duplicate": True}
        assert series(url) == applied


def test_full_size_reports_over_http_are_booked_to_the_cent_under_their_vendors(tmp_path):
    now = time.time()
    report = full_size.vapi_report(now)
    payload = full_size.vapi_payload(report)
    artifact = payload["message"]["artifact"]
    once = len(fx.body_of({"t": artifact["transcript"]}))
    artifact["transcript"] = "\n".join([artifact["transcript"]] * (4_400_000 // once + 1))  # the report nears 4.5 MB
    ServerMessageEndOfCallReport.model_validate(payload["message"])
    call = full_size.retell_call(now)
    with start_exporter(tmp_path, env=ENV) as service:
        url = service.url
        body = fx.body_of(payload)
        assert 4_400_000 < len(body) < 5 * 1024 * 1024
        reply = post(url, "/v1/webhooks/vapi", body, {"X-Vapi-Signature": VAPI_SECRET})
        assert reply.status_code == 200 and "rejected" not in reply.json(), reply.text
        body = fx.body_of(full_size.retell_payload(call))
        signature = fx.retell_signature(body, RETELL_KEY, time.time())
        reply = post(url, "/v1/webhooks/retell", body, {"X-Retell-Signature": signature})
        assert reply.status_code == 200 and "rejected" not in reply.json(), reply.text
        applied = series(url)
    assert value(applied, "ai_agent_call_cost_usd_sum", tenant="initech") == pytest.approx(report.cost)
    assert value(applied, "ai_agent_call_cost_usd_sum", tenant="umbrella") == pytest.approx(
        call.call_cost.combined_cost / 100
    )
    voice = next(c for c in report.costs if c.type == "voice")
    assert value(applied, "ai_agent_cost_usd_total", tenant="initech", provider="elevenlabs", service="tts") == (
        pytest.approx(voice.cost)
    )
    for call_id, tenant, provider, raw in (
        (report.call.id, "initech", "vapi", report.ended_reason),
        (call.call_id, "umbrella", "retell", call.disconnection_reason),
    ):
        labels = {"call_id": call_id, "tenant": tenant, "provider": provider}
        assert value(applied, "ai_agent_call_end_reason_info", reason=raw, **labels) == 1
        assert value(applied, "ai_agent_call_agent_speech_seconds", **labels) > 60
