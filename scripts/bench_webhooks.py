"""Webhook benchmark: post-call reports applied in-process, beside the same events sent as /v1/events.

A report costs its authentication, its translation into events, the whole-unit check and the dedup ledger on
top of what the same events cost on the ingest path; the ratio of the two event rates, measured in the same
run on process CPU time (best of three interleaved rounds), is the figure to compare.
"""

from __future__ import annotations

import json
import time

from tests.webhooks import fixtures as fx
from voice_monitoring.exporter.core import Exporter, Limits
from voice_monitoring.exporter.request_body import parse_body
from voice_monitoring.exporter.webhooks.receiver import WebhookReceiver
from voice_monitoring.exporter.webhooks.reports import LiveCalls
from voice_monitoring.exporter.webhooks.retell import RetellEvents
from voice_monitoring.exporter.webhooks.vapi import VapiAuth, VapiMessages

CALLS = 2000
SECRET = "bench-secret"


def vapi_bodies(now: float) -> list[bytes]:
    return [fx.body_of(fx.vapi_end_of_call_report(now, call_id=f"vapi-{i}")) for i in range(CALLS)]


def retell_bodies(now: float) -> list[bytes]:
    return [fx.body_of(fx.retell_event("call_ended", fx.retell_call(now, call_id=f"retell-{i}"))) for i in range(CALLS)]


def events_of(platform, bodies: list[bytes], now: float) -> list[bytes]:
    """The same calls as plain /v1/events batches, one per report."""
    out = []
    for body in bodies:
        events = platform.translate(json.loads(body), now, LiveCalls()).events
        out.append(json.dumps(events).encode())
    return out


def exporter() -> Exporter:
    return Exporter(Limits(max_live_calls=1_000_000))


def through_receiver(make_platform, bodies: list[bytes], headers_of) -> tuple[float, int]:
    target = exporter()
    receiver = WebhookReceiver(make_platform(), target)
    accepted = 0
    start = time.process_time()
    for body in bodies:
        status, reply = receiver(headers_of(body), body)
        accepted += reply.get("accepted", 0)
    return time.process_time() - start, accepted


def through_ingest(batches: list[bytes]) -> tuple[float, int]:
    target = exporter()
    accepted = 0
    start = time.process_time()
    for body in batches:
        parsed = parse_body(body, "application/json", 10_000)
        accepted += target.ingest(parsed.events, max_age_seconds=86400, fields_checked=parsed.fields_checked)[0]
    return time.process_time() - start, accepted


def best(runs: list[tuple[float, int]]) -> float:
    """Events per CPU second of the fastest run."""
    return max(count / seconds for seconds, count in runs)


def main() -> None:
    now = time.time()
    vapi = vapi_bodies(now)
    retell = retell_bodies(now)
    vapi_events = events_of(VapiMessages(VapiAuth(SECRET)), vapi, now)
    retell_events = events_of(RetellEvents(SECRET), retell, now)
    bearer = {"Authorization": f"Bearer {SECRET}"}
    cases = {
        "vapi end-of-call-report (bearer)": (
            lambda: through_receiver(lambda: VapiMessages(VapiAuth(SECRET)), vapi, lambda body: bearer),
            lambda: through_ingest(vapi_events),
        ),
        "retell call_ended (signed)": (
            lambda: through_receiver(
                lambda: RetellEvents(SECRET),
                retell,
                lambda body: {"x-retell-signature": fx.retell_signature(body, SECRET, time.time())},
            ),
            lambda: through_ingest(retell_events),
        ),
    }
    print(f"webhooks: {CALLS} reports per platform, in-process, events per CPU second (best of 3)")
    for name, (report, baseline) in cases.items():
        reports, plain = [], []
        for _ in range(3):
            reports.append(report())
            plain.append(baseline())
        per_report = reports[0][1] / CALLS
        report_rate, plain_rate = best(reports), best(plain)
        print(
            f"  {name}: {report_rate:,.0f} events/s ({report_rate / per_report:,.0f} reports/s, "
            f"{per_report:.0f} events each); the same events as /v1/events batches {plain_rate:,.0f} events/s; "
            f"ratio {report_rate / plain_rate:.2f}"
        )


if __name__ == "__main__":
    main()
