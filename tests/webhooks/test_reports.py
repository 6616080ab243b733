"""The two memories a webhook receiver keeps (``exporter/webhooks/reports.py``): the reports it applied and the
calls whose start it took live, each for its TTL and within its bound."""

from __future__ import annotations

from voice_monitoring.exporter.webhooks.reports import (
    REPORT_LEDGER_SIZE,
    REPORT_MAX_AGE_SECONDS,
    LiveCall,
    LiveCalls,
    ReportLedger,
    Translation,
)


def test_an_applied_report_is_known_for_its_ttl_then_forgotten():
    ledger = ReportLedger(ttl=60)
    ledger.applied("retell:call-1", now=1000.0)
    ledger.forget_expired(1059.9)
    assert "retell:call-1" in ledger
    ledger.forget_expired(1060.0)
    assert "retell:call-1" not in ledger and len(ledger) == 0


def test_a_report_applied_again_is_known_for_a_ttl_from_then():
    ledger = ReportLedger(ttl=60)
    ledger.applied("r-1", now=0.0)
    ledger.applied("r-1", now=50.0)
    ledger.forget_expired(100.0)
    assert "r-1" in ledger and len(ledger) == 1
    ledger.forget_expired(110.0)
    assert "r-1" not in ledger


def test_beyond_its_bound_the_ledger_forgets_the_oldest_report_and_says_so():
    evicted = []
    ledger = ReportLedger(ttl=60, size=2, on_evict=lambda: evicted.append(1))
    for i, key in enumerate(("r-1", "r-2", "r-3")):
        ledger.applied(key, now=float(i))
    assert ("r-1" in ledger, "r-2" in ledger, "r-3" in ledger) == (False, True, True)
    assert len(evicted) == 1


def test_by_default_a_report_is_remembered_as_long_as_the_receiver_accepts_one_within_the_default_bound():
    ledger = ReportLedger()
    assert (ledger.ttl, ledger.max_ids) == (REPORT_MAX_AGE_SECONDS, REPORT_LEDGER_SIZE)
    ledger.applied("r-1", now=0.0)
    ledger.forget_expired(REPORT_MAX_AGE_SECONDS - 1)
    assert "r-1" in ledger


def test_a_call_started_live_has_a_fresh_interruption_count_of_its_own():
    live = LiveCalls(ttl=30)
    live.start("c-1", now=0.0)
    live.start("c-2", now=0.0)
    first = live.get("c-1")
    assert isinstance(first, LiveCall) and first.interruptions == 0
    first.interruptions += 2
    assert live.get("c-1").interruptions == 2 and live.get("c-2").interruptions == 0
    assert live.get("never") is None


def test_a_call_started_live_is_forgotten_after_its_ttl_or_beyond_the_bound():
    live = LiveCalls(ttl=30, size=2)
    live.start("c-1", now=0.0)
    live.start("c-2", now=10.0)
    live.forget_expired(30.0)
    assert "c-1" not in live and live.get("c-1") is None and "c-2" in live
    live.start("c-3", now=11.0)
    live.start("c-4", now=12.0)
    assert sorted(key for _, key, _ in live) == ["c-3", "c-4"]


def test_a_call_whose_start_is_popped_hands_back_what_it_counted():
    live = LiveCalls()
    live.start("c-1", now=0.0)
    live.get("c-1").interruptions = 3
    assert live.pop("c-1") == LiveCall(interruptions=3)
    assert "c-1" not in live and live.pop("c-1") is None


def test_a_translation_starts_empty_and_each_keeps_its_own_lists():
    first, second = Translation(), Translation()
    first.events.append({"type": "turn"})
    first.counted["unknown_product"] = 1
    assert (second.events, second.counted, second.report, second.note) == ([], {}, None, "")
