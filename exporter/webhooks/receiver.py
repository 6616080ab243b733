"""One platform's webhook route: authenticate, translate, check the whole unit, apply, reply.

``WebhookReceiver`` is the handler the exporter's server calls with the request's headers and raw
body; it answers ``(status, JSON reply)`` only after the events are applied.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from voice_monitoring.exporter.core import Exporter
from voice_monitoring.exporter.credentials import REASONS
from voice_monitoring.exporter.events import InvalidEvent, validate
from voice_monitoring.exporter.webhooks.payload import WebhookRefused
from voice_monitoring.exporter.webhooks.reports import (
    REPORT_MAX_AGE_SECONDS,
    LiveCalls,
    ReportLedger,
    Translation,
)
from voice_monitoring.exporter.webhooks.signatures import Unauthenticated

log = logging.getLogger("voice-exporter")

# Refusals for their credentials are logged once a minute per reason: a flood is counted, not written out.
AUTH_LOG_INTERVAL_SECONDS = 60.0


class Platform(Protocol):
    name: str

    def authenticate(self, headers: Mapping[str, str], body: bytes, now: float) -> None: ...

    def translate(self, payload: Any, now: float, live: LiveCalls) -> Translation: ...


class WebhookReceiver:
    def __init__(self, platform: Platform, exporter: Exporter, report_max_age: float = REPORT_MAX_AGE_SECONDS):
        self.platform = platform
        self.exporter = exporter
        self.report_max_age = report_max_age
        self.ledger = ReportLedger(ttl=report_max_age, on_evict=self._count_forgotten)
        self.live = LiveCalls(ttl=report_max_age, size=exporter.limits.max_live_calls)
        self.lock = threading.Lock()
        self.auth_logged: dict[str, tuple[float, int]] = {}  # reason -> (last logged at, refused since unlogged)
        for reason in REASONS:
            exporter.count_auth_failure(platform.name, reason, 0)

    def __call__(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        now = self.exporter.clock()
        unauthenticated = False
        try:
            self.platform.authenticate(headers, body, now)
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise WebhookRefused(400, "invalid", f"malformed JSON: {exc}") from None
            with self.lock:
                self.ledger.forget_expired(now)
                self.live.forget_expired(now)
                status, reply, outcome = self._apply(self.platform.translate(payload, now, self.live), now)
        except WebhookRefused as exc:
            status, reply, outcome = exc.status, {"error": str(exc)}, exc.outcome
            if isinstance(exc, Unauthenticated):
                unauthenticated = True
                self.exporter.count_auth_failure(self.platform.name, exc.reason)
                self._log_auth_failure(exc, now)
        self.exporter.count_webhook(self.platform.name, outcome)
        if status >= 400 and not unauthenticated:
            log.warning("%s webhook refused (%d): %s", self.platform.name, status, reply["error"])
        return status, reply

    def _count_forgotten(self) -> None:
        """An applied report's key forgotten before its time because the ledger was full."""
        self.exporter.count_webhook(self.platform.name, "forgotten")

    def _log_auth_failure(self, exc: Unauthenticated, now: float) -> None:
        last, unlogged = self.auth_logged.get(exc.reason, (float("-inf"), 0))
        if now - last < AUTH_LOG_INTERVAL_SECONDS:
            self.auth_logged[exc.reason] = (last, unlogged + 1)
            return
        self.auth_logged[exc.reason] = (now, 0)
        since = f" ({unlogged} more refused as {exc.reason} since the last such line)" if unlogged else ""
        log.warning("%s webhook refused (401, %s): %s%s", self.platform.name, exc.reason, exc, since)

    def _apply(self, translation: Translation, now: float) -> tuple[int, dict[str, Any], str]:
        events = translation.events
        if not events:
            return 200, {"ignored": translation.note}, "ignored"
        key = translation.report
        limits = self.exporter.limits
        max_age = limits.max_age_seconds
        if key is not None:
            if key in self.ledger:
                return 200, {"duplicate": True}, "duplicate"
            oldest = min(event["ts"] for event in events)
            if oldest < now - self.report_max_age:
                raise WebhookRefused(
                    422, "too_old", f"the report's call started more than {self.report_max_age:g} s ago"
                )
            max_age = max(max_age, self.report_max_age)
        for index, event in enumerate(events):
            try:
                validate(event, now, max_age, limits.max_future_seconds)
            except InvalidEvent as exc:
                raise WebhookRefused(422, "invalid", f"{event['type']} event {index}: {exc}") from None
        accepted, _, rejected = self.exporter.ingest(events, max_age_seconds=max_age)
        if key is not None:
            self.ledger.applied(key, now)
        for outcome, count in translation.counted.items():
            self.exporter.count_webhook(self.platform.name, outcome, count)
        reply: dict[str, Any] = {"accepted": accepted}
        if rejected:
            reply["rejected"] = rejected
        return 200, reply, "applied"
