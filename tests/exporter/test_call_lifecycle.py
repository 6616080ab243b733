"""Per-call series live while the call does plus a grace period; live gauges and costs add up."""

import time

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from tests.exporter.exposition_samples import per_call_names, value
from tests.harness import post_events, start_exporter, wait_for
from voice_monitoring.exporter.pricing import PriceTable


def test_series_stay_for_the_grace_period_after_the_call_ends_then_go():
    clock = Clock()
    exporter = make(clock)
    turn = {"type": "turn", "ts": clock.now, "call_id": "c-1", "attrs": {"latency_seconds": 0.9}}
    assert exporter.ingest([started(clock), turn, turn, turn])[0] == 4
    assert "ai_agent_call_turn_response_p95_seconds" in per_call_names(exporter, "c-1")
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 1
    clock.now += 30
    exporter.ingest([ended(clock)])
    assert value(exporter, "ai_agent_call_ended", call_id="c-1", provider="deepgram", tenant="acme") == 1
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 0
    assert (
        value(
            exporter,
            "ai_agent_calls_ended_total",
            tenant="acme",
            provider="deepgram",
            pipeline="cascade",
            reason="user_hangup",
        )
        == 1
    )
    clock.now += 119
    assert exporter.sweep() == 0 and per_call_names(exporter, "c-1")
    clock.now += 2
    assert exporter.sweep() == 1
    assert per_call_names(exporter, "c-1") == set()
    assert value(exporter, "ai_agent_exporter_calls_expired_total", reason="grace") == 1
    assert value(exporter, "ai_agent_exporter_live_calls") == 0


def test_a_silent_call_expires_after_the_idle_timeout_and_leaves_the_live_gauges():
    clock = Clock()
    exporter = make(clock, idle_seconds=600)
    state = {
        "type": "state",
        "ts": clock.now,
        "call_id": "c-1",
        "attrs": {"state": "speaking", "tts_gating": True, "audio_capture": True},
    }
    exporter.ingest([started(clock), state])
    assert value(exporter, "ai_agent_conversation_state", state="speaking") == 1
    assert value(exporter, "ai_agent_tts_gating_active") == 1
    clock.now += 599
    assert exporter.sweep() == 0
    clock.now += 2
    assert exporter.sweep() == 1
    assert per_call_names(exporter, "c-1") == set()
    assert value(exporter, "ai_agent_conversation_state", state="speaking") == 0
    assert value(exporter, "ai_agent_tts_gating_active") == 0
    assert value(exporter, "ai_agent_audio_capture_enabled") == 0
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 0
    assert value(exporter, "ai_agent_active_calls_by_transport", transport="audiosocket") == 0
    assert value(exporter, "ai_agent_exporter_calls_expired_total", reason="idle") == 1


def test_a_call_is_started_and_ended_once():
    clock = Clock()
    exporter = make(clock)
    _, _, rejected = exporter.ingest([started(clock), started(clock), ended(clock), ended(clock)])
    assert [(r["index"], r["error"]) for r in rejected] == [
        (1, "call c-1 has already started"),
        (3, "call c-1 has already ended"),
    ]
    assert value(exporter, "ai_agent_calls_started_total", tenant="acme", provider="deepgram", pipeline="cascade") == 1


def test_events_inherit_the_labels_of_their_call():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest(
        [started(clock), {"type": "turn", "ts": clock.now, "call_id": "c-1", "attrs": {"latency_seconds": 0.4}}]
    )
    assert value(exporter, "ai_agent_turn_response_seconds_count", pipeline="cascade", provider="deepgram") == 1


def test_usage_without_a_cost_event_is_priced_at_call_end_and_reported_cost_wins():
    clock = Clock()
    exporter = make(clock)
    prices = PriceTable.default()
    usage = [
        {
            "type": "usage",
            "ts": clock.now,
            "call_id": "c-1",
            "provider": "deepgram",
            "attrs": {"service": "stt", "unit": "audio_seconds", "quantity": 120},
        },
        {
            "type": "usage",
            "ts": clock.now,
            "call_id": "c-1",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "attrs": {"service": "llm", "unit": "tokens_in", "quantity": 10_000},
        },
        {
            "type": "cost",
            "ts": clock.now,
            "call_id": "c-1",
            "provider": "openai",
            "attrs": {"service": "llm", "usd": 0.5},
        },
    ]
    exporter.ingest([started(clock)] + usage)
    stt = prices.price("stt", "deepgram", None, "audio_seconds", 120)
    assert abs(stt - 2 * 0.0043) < 1e-12
    assert value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="deepgram", service="stt") is None
    running = value(exporter, "ai_agent_call_running_cost_usd", call_id="c-1", provider="deepgram", tenant="acme")
    assert abs(running - (stt + 0.5)) < 1e-9
    exporter.ingest([ended(clock)])
    assert (
        abs(value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="deepgram", service="stt") - stt) < 1e-12
    )
    assert value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="openai", service="llm") == 0.5
    assert value(exporter, "ai_agent_call_cost_usd_count", tenant="acme") == 1
    assert abs(value(exporter, "ai_agent_call_cost_usd_sum", tenant="acme") - (stt + 0.5)) < 1e-9


def test_usage_after_the_call_ended_is_priced_at_once_into_spend_and_the_running_cost():
    """Pipecat's STT flushes its last usage when the pipeline ends, after call.ended went out."""
    clock = Clock()
    exporter = make(clock)
    prices = PriceTable.default()

    def stt_usage(seconds):
        return {
            "type": "usage",
            "ts": clock.now,
            "call_id": "c-1",
            "provider": "deepgram",
            "attrs": {"service": "stt", "unit": "audio_seconds", "quantity": seconds},
        }

    exporter.ingest([started(clock), stt_usage(90)])
    exporter.ingest([ended(clock)])
    spend = {"tenant": "acme", "provider": "deepgram", "service": "stt"}
    at_end = value(exporter, "ai_agent_cost_usd_total", **spend)
    assert abs(at_end - prices.price("stt", "deepgram", None, "audio_seconds", 90)) < 1e-12
    clock.now += 1
    assert exporter.ingest([stt_usage(30)])[0] == 1
    late = prices.price("stt", "deepgram", None, "audio_seconds", 30)
    assert abs(value(exporter, "ai_agent_cost_usd_total", **spend) - (at_end + late)) < 1e-12
    running = value(exporter, "ai_agent_call_running_cost_usd", call_id="c-1", provider="deepgram", tenant="acme")
    assert abs(running - (at_end + late)) < 1e-12
    assert value(exporter, "ai_agent_exporter_usage_priced_total", service="stt") == 2
    # the final cost was observed when the call ended
    assert value(exporter, "ai_agent_call_cost_usd_count", tenant="acme") == 1


def test_usage_after_the_end_of_a_service_that_reported_its_cost_is_not_priced():
    clock = Clock()
    exporter = make(clock)
    cost = {
        "type": "cost",
        "ts": clock.now,
        "call_id": "c-1",
        "provider": "openai",
        "attrs": {"service": "llm", "usd": 0.2},
    }
    usage = {
        "type": "usage",
        "ts": clock.now,
        "call_id": "c-1",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "attrs": {"service": "llm", "unit": "tokens_in", "quantity": 50_000},
    }
    exporter.ingest([started(clock), cost, ended(clock), usage])
    assert value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="openai", service="llm") == 0.2
    running = value(exporter, "ai_agent_call_running_cost_usd", call_id="c-1", provider="deepgram", tenant="acme")
    assert running == 0.2


def test_usage_the_price_table_has_no_row_for_is_priced_at_0_and_counted_unpriced():
    clock = Clock()
    exporter = make(clock)

    def tts_usage(provider, characters, call_id="c-1"):
        return {
            "type": "usage",
            "ts": clock.now,
            **({"call_id": call_id} if call_id else {}),
            "provider": provider,
            "attrs": {"service": "tts", "unit": "characters", "quantity": characters},
        }

    assert PriceTable.default().price("tts", "rime", None, "characters", 1000) is None
    exporter.ingest([started(clock), tts_usage("rime", 400), tts_usage("rime", 100), tts_usage("cartesia", 1000)])
    unpriced = {"provider": "rime", "service": "tts", "unit": "characters"}
    assert value(exporter, "ai_agent_usage_unpriced_total", **unpriced) is None  # booked when the call settles
    exporter.ingest([ended(clock)])
    assert value(exporter, "ai_agent_usage_unpriced_total", **unpriced) == 500
    assert value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="rime", service="tts") is None
    assert value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="cartesia", service="tts") == 0.038
    assert (
        value(exporter, "ai_agent_usage_unpriced_total", provider="cartesia", service="tts", unit="characters") is None
    )
    exporter.ingest([tts_usage("rime", 50), tts_usage("rime", 25, call_id=None)])  # after the end, and call-less
    assert value(exporter, "ai_agent_usage_unpriced_total", **unpriced) == 575
    running = value(exporter, "ai_agent_call_running_cost_usd", call_id="c-1", provider="deepgram", tenant="acme")
    assert running == 0.038


def test_usage_of_a_service_that_reported_its_cost_is_never_counted_unpriced():
    clock = Clock()
    exporter = make(clock)
    usage = {
        "type": "usage",
        "ts": clock.now,
        "call_id": "c-1",
        "provider": "rime",
        "attrs": {"service": "tts", "unit": "characters", "quantity": 300},
    }
    cost = {
        "type": "cost",
        "ts": clock.now,
        "call_id": "c-1",
        "provider": "rime",
        "attrs": {"service": "tts", "usd": 0.01},
    }
    exporter.ingest([started(clock), usage, cost, ended(clock), usage])
    assert value(exporter, "ai_agent_usage_unpriced_total", provider="rime", service="tts", unit="characters") is None
    assert value(exporter, "ai_agent_cost_usd_total", tenant="acme", provider="rime", service="tts") == 0.01


def test_a_default_the_operators_table_declares_prices_what_no_row_names(tmp_path):
    table = tmp_path / "prices.yaml"
    table.write_text("tts:\n  default: {characters: 0.1}\nstt:\n  whisper: {minutes: 0}\n")
    prices = PriceTable.load(table)
    assert prices.price("stt", "whisper", None, "minutes", 10) == 0.0  # priced, at 0: not unpriced
    assert prices.price("tts", "rime", None, "characters", 1000) == 0.1
    assert prices.price("tts", "cartesia", None, "characters", 1000) == 0.038
    assert prices.price("stt", "rime", None, "minutes", 1) is None


def test_a_user_price_table_overrides_the_defaults(tmp_path):
    table = tmp_path / "prices.yaml"
    table.write_text("stt:\n  deepgram: {minutes: 1.0}\n")
    prices = PriceTable.load(table)
    assert prices.price("stt", "deepgram", None, "minutes", 3) == 3.0
    assert prices.price("tts", "elevenlabs", None, "characters", 1000) == 0.18


def test_per_call_values_describe_the_call():
    clock = Clock()
    exporter = make(clock)
    c = {"call_id": "c-1"}
    events = [started(clock)]
    events += [
        {"type": "turn", "ts": clock.now, **c, "attrs": {"latency_seconds": s, "agent_speech_seconds": 2}}
        for s in (0.5, 0.6, 0.7, 3.0)
    ]
    events += [
        {"type": "audio", "ts": clock.now, **c, "attrs": {"underflow": 2, "codec_alignment": a, "rms": r}}
        for a, r in ((True, 0.1), (False, 0.01))
    ]
    events += [{"type": "interruption", "ts": clock.now, **c, "attrs": {"kind": "barge_in", "reaction_seconds": 0.3}}]
    events += [
        {
            "type": "transport",
            "ts": clock.now,
            **c,
            "attrs": {"rtt_seconds": 0.1, "packet_loss_ratio": 0.02, "codec": "pcmu"},
        }
    ]
    assert exporter.ingest(events)[0] == len(events)
    labels = {"call_id": "c-1", "provider": "deepgram", "tenant": "acme"}
    assert value(exporter, "ai_agent_call_turns", **labels) == 4
    assert value(exporter, "ai_agent_call_turn_response_p95_seconds", **labels) == 3.0
    assert value(exporter, "ai_agent_call_agent_speech_seconds", **labels) == 8
    assert value(exporter, "ai_agent_call_underflow_events", **labels) == 4
    assert value(exporter, "ai_agent_call_codec_alignment_ratio", **labels) == 0.5
    assert abs(value(exporter, "ai_agent_call_rms_spread_db", **labels) - 14.142) < 0.01
    assert value(exporter, "ai_agent_call_barge_in_reaction_p95_seconds", **labels) == 0.3
    assert value(exporter, "ai_agent_call_transport_packet_loss_ratio", **labels) == 0.02
    assert value(exporter, "ai_agent_call_codec_info", codec="pcmu", **labels) == 1
    assert value(exporter, "ai_agent_codec_checks_total", provider="deepgram", result="aligned") == 1
    assert value(exporter, "ai_agent_codec_checks_total", provider="deepgram", result="misaligned") == 1


def test_clipping_and_concealment_reach_the_fleet_and_the_call():
    clock = Clock()
    exporter = make(clock)
    c = {"call_id": "c-1"}
    events = [started(clock)]
    events += [
        {"type": "audio", "ts": clock.now, **c, "attrs": {"stage": stage, "clipping_ratio": ratio}}
        for stage, ratio in (("caller_in", 0.04), ("agent_out", 0.01), ("caller_in", 0.002))
    ]
    events += [
        {"type": "transport", "ts": clock.now, **c, "attrs": {"concealment_ratio": ratio}} for ratio in (0.03, 0.004)
    ]
    assert exporter.ingest(events)[0] == len(events)
    labels = {"call_id": "c-1", "provider": "deepgram", "tenant": "acme"}
    assert value(exporter, "ai_agent_audio_clipping_ratio", stage="caller_in") == 0.002
    assert value(exporter, "ai_agent_audio_clipping_ratio", stage="agent_out") == 0.01
    assert value(exporter, "ai_agent_call_audio_clipping_ratio", **labels) == 0.04
    assert value(exporter, "ai_agent_transport_concealment_ratio_count", provider="deepgram") == 2
    assert value(exporter, "ai_agent_transport_concealment_ratio_bucket", provider="deepgram", le="0.005") == 1
    assert value(exporter, "ai_agent_call_transport_concealment_ratio", **labels) == 0.004
    _, _, rejected = exporter.ingest(
        [
            {"type": "audio", "ts": clock.now, **c, "attrs": {"clipping_ratio": 1.5}},
            {"type": "transport", "ts": clock.now, **c, "attrs": {"concealment_ratio": -0.1}},
        ]
    )
    assert [r["error"] for r in rejected] == [
        "attrs.clipping_ratio must be <= 1",
        "attrs.concealment_ratio must be >= 0",
    ]


def test_a_real_exporter_removes_a_call_after_its_grace_period(tmp_path):
    with start_exporter(tmp_path, "--grace-seconds", "1") as service:
        now = time.time()
        post_events(
            service.url,
            [
                {"type": "call.started", "ts": now, "call_id": "gone"},
                {
                    "type": "call.ended",
                    "ts": now,
                    "call_id": "gone",
                    "attrs": {"duration_seconds": 3, "reason": "agent_hangup"},
                },
            ],
        )
        import requests

        assert 'call_id="gone"' in requests.get(f"{service.url}/metrics", timeout=5).text
        wait_for(
            lambda: 'call_id="gone"' not in requests.get(f"{service.url}/metrics", timeout=5).text,
            timeout=10,
            what="the ended call's series to disappear",
        )


def test_a_call_started_again_after_it_ended_is_refused_and_leaves_no_active_call():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock), ended(clock)])
    _, _, rejected = exporter.ingest([started(clock)])
    assert rejected == [{"index": 0, "error": "call c-1 has already started"}]
    clock.now += 121
    exporter.sweep()
    assert value(exporter, "ai_agent_active_calls", tenant="acme", provider="deepgram") == 0


def test_a_late_event_for_a_removed_call_is_refused_instead_of_bringing_the_call_back():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock), ended(clock)])
    clock.now += 121
    exporter.sweep()
    late = {"type": "turn", "ts": clock.now, "call_id": "c-1", "attrs": {"latency_seconds": 0.5}}
    _, _, rejected = exporter.ingest([late])
    assert rejected == [{"index": 0, "error": "call c-1 has ended and its series were removed"}]
    assert per_call_names(exporter, "c-1") == set()
    assert value(exporter, "ai_agent_exporter_events_rejected_total", type="turn", reason="call_expired") == 1


def test_last_reported_values_go_away_when_their_reports_stop():
    clock = Clock()
    exporter = make(clock, report_ttl_seconds=300)
    beat = [
        {"type": "health", "ts": clock.now, "attrs": {"worker": "w-1", "memory_ratio": 0.93}},
        {"type": "health", "ts": clock.now, "provider": "deepgram", "attrs": {"service": "stt", "up": False}},
    ]
    exporter.ingest(beat)
    clock.now += 200
    exporter.ingest(beat[1:])
    clock.now += 200
    exporter.sweep()
    assert value(exporter, "ai_agent_worker_memory_ratio", worker="w-1") is None
    assert value(exporter, "ai_agent_provider_up", provider="deepgram", service="stt") == 0


def test_turn_p95_is_right_whatever_order_turns_arrive_in():
    clock = Clock()
    exporter = make(clock)
    latencies = [0.9, 0.2, 3.5, 0.4] + [0.5] * 16
    exporter.ingest(
        [started(clock)]
        + [{"type": "turn", "ts": clock.now, "call_id": "c-1", "attrs": {"latency_seconds": s}} for s in latencies]
    )
    labels = {"call_id": "c-1", "provider": "deepgram", "tenant": "acme"}
    assert value(exporter, "ai_agent_call_turn_response_p95_seconds", **labels) == 0.9
