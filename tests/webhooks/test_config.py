"""Webhook secrets come from files or the environment; each platform gets its route."""

import argparse

from tests.exporter.clocked_exporter import Clock, make
from tests.webhooks import fixtures as fx
from voice_monitoring.exporter.webhooks.config import RETELL_PATH, VAPI_PATH, add_webhook_flags, webhook_routes


def parse(*argv):
    p = argparse.ArgumentParser()
    add_webhook_flags(p)
    return p.parse_args(argv)


def test_secrets_from_files_configure_both_routes(tmp_path, monkeypatch):
    monkeypatch.delenv("VAPI_WEBHOOK_SECRET", raising=False)
    (tmp_path / "vapi").write_text("vapi-secret\n")
    (tmp_path / "retell").write_text("retell-key\n")
    clock = Clock()
    args = parse("--vapi-secret-file", str(tmp_path / "vapi"), "--retell-api-key-file", str(tmp_path / "retell"))
    routes = webhook_routes(args, make(clock))
    assert set(routes) == {VAPI_PATH, RETELL_PATH}
    report = fx.body_of(fx.vapi_end_of_call_report(clock.now))
    assert routes[VAPI_PATH]({}, report)[0] == 401
    assert routes[VAPI_PATH]({"X-Vapi-Secret": "vapi-secret"}, report)[0] == 200
    body = fx.body_of(fx.retell_event("call_ended", fx.retell_call(clock.now)))
    signed = {"x-retell-signature": fx.retell_signature(body, "retell-key", clock.now)}
    assert routes[RETELL_PATH](signed, body)[0] == 200


def test_secrets_from_the_environment_and_the_token_header_and_age_flags(monkeypatch):
    monkeypatch.setenv("VAPI_WEBHOOK_SECRET", "from-env")
    monkeypatch.setenv("VAPI_TOKEN_HEADER", "X-Token")
    monkeypatch.delenv("RETELL_API_KEY", raising=False)
    clock = Clock()
    routes = webhook_routes(parse("--webhook-report-max-age-seconds", "7200"), make(clock))
    vapi = routes[VAPI_PATH]
    assert vapi.report_max_age == 7200
    assert vapi({"X-Token": "from-env"}, fx.body_of(fx.vapi_end_of_call_report(clock.now)))[0] == 200
    assert routes[RETELL_PATH]({}, b"{}")[0] == 503
