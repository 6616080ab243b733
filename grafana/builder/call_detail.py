"""Call detail: one call's score, band and each factor's penalty over its life, with the inputs behind them.

A call's series are removed a couple of minutes after it ends; the verdict panels read the last value in the
dashboard's time range, so any call seen in the range opens, however long ago it ended.
"""

from grafana_foundation_sdk.models import common as mc

from grafana.builder import alert_thresholds as th
from grafana.builder import board, drilldown, links, provider_performance, units
from grafana.builder.bands import BAND_COLOURS, BAND_NAMES, SCORE_BANDS
from grafana.builder.panels import (
    CRITICAL,
    OK,
    WARNING,
    above,
    bargauge_panel,
    organize,
    query,
    row,
    stat_panel,
    steps,
    table_panel,
    timeseries_panel,
    value_text,
)
from grafana.builder.promql import sel
from voice_monitoring.shared.quality_bands import QUALITY_BANDS

UID = drilldown.CALL_DETAIL_UID
CALL = {"call_id": "=$call_id"}


def _call(metric: str) -> str:
    return sel(metric, **CALL)


def _last(metric: str) -> str:
    return drilldown.last(metric, **CALL)


def _verdict(title: str, description: str, metric: str, legend: str, **kw):
    return stat_panel(title, description, units.of(metric), query(_last(metric), legend, instant=True), **kw)


def _series(title: str, description: str, metric: str, legend: str, **kw):
    return timeseries_panel(title, description, units.of(metric), query(_call(metric), legend), calcs=(), **kw)


def build():
    turn_warn, turn_crit = th.value("turn_latency_p95_warning_seconds"), th.value("turn_latency_p95_critical_seconds")
    return (
        board.new(
            UID,
            "Voice Agent / Call detail",
            "One call, chosen with $call_id among the calls seen in the time range: its quality score, band and "
            "the penalty of each factor over the call's life, and the measurements behind them.",
            board.call_id(),
            time_from="now-30m",
            links=(
                links.dashboard_link(
                    "Provider Performance", provider_performance.UID, "Providers' latencies, failures, worst calls"
                ),
                links.runbook_link(),
            ),
        )
        .with_row(row("Verdict"))
        .with_panel(
            _verdict(
                "Quality score",
                "The scorer's last score for the call in the time range (its final score once the call ended), "
                "0 (worst) to 100.",
                "ai_agent_call_quality_score",
                "score",
                thresholds=SCORE_BANDS,
                w=4,
            )
            .min(0)
            .max(100)
        )
        .with_panel(
            stat_panel(
                "Band",
                QUALITY_BANDS.describe() + ".",
                "none",
                query(_last("ai_agent_call_quality_band"), "band", instant=True),
                thresholds=BAND_COLOURS,
                mappings=BAND_NAMES,
                w=4,
            )
        )
        .with_panel(
            stat_panel(
                "Main penalty",
                "The factor that takes most points off the call's score, and how many.",
                units.of("ai_agent_call_quality_penalty"),
                query(f"topk(1, {_last('ai_agent_call_quality_penalty')})", "{{factor}}", instant=True),
                thresholds=steps(OK, (5, WARNING), (10, CRITICAL)),
                w=4,
            ).text_mode(mc.BigValueTextMode.VALUE_AND_NAME)
        )
        .with_panel(
            _verdict(
                "MOS estimate",
                "E-model MOS from the call's transport (1 to 4.5).",
                "ai_agent_call_mos_estimate",
                "MOS",
                thresholds=steps(CRITICAL, (3.6, WARNING), (4.0, OK)),
                w=3,
            )
        )
        .with_panel(_verdict("Turns", "Turns completed.", "ai_agent_call_turns", "turns", w=3))
        .with_panel(
            _verdict(
                "Cost", "Cost of the call (so far, while it is live).", "ai_agent_call_running_cost_usd", "cost", w=3
            )
        )
        .with_panel(
            stat_panel(
                "Status",
                "Live, or ended.",
                "none",
                query(_last("ai_agent_call_ended"), "ended", instant=True),
                mappings=value_text({0: ("live", OK), 1: ("ended", "blue")}),
                w=3,
            )
        )
        .with_panel(
            table_panel(
                "Call",
                "Provider, tenant and codec of the call, and when it started. Click the row to open the call's "
                "provider in Provider Performance.",
                "dateTimeAsIso",
                query(
                    f"{_last('ai_agent_call_codec_info')} * on (call_id) group_left "
                    f"{_last('ai_agent_call_started_timestamp_seconds')} * 1000",
                    instant=True,
                    fmt="table",
                ),
                w=16,
                h=4,
            )
            .with_transformation(organize(("Time", "__name__", "job", "instance"), {"Value": "started"}))
            .data_links(
                [
                    links.to_dashboard(
                        "Provider ${__data.fields.provider} in Provider Performance",
                        provider_performance.UID,
                        provider="${__data.fields.provider}",
                    )
                ]
            )
        )
        .with_panel(
            stat_panel(
                "End reason",
                "How the call ended, as the engine or platform reported it (Vapi's endedReason, Retell's "
                "disconnection_reason, ...); the fleet dashboards count it by its normalized bucket (user_hangup, "
                "agent_hangup, transfer, timeout, error, other). In progress while the call is live.",
                "none",
                query(
                    f"{_last('ai_agent_call_end_reason_info')} or "
                    f'label_replace({_last("ai_agent_call_ended")} == 0, "reason", "in progress", "", "")',
                    "{{reason}}",
                    instant=True,
                ),
                w=8,
            ).text_mode(mc.BigValueTextMode.NAME)
        )
        .with_panel(
            stat_panel(
                "Agent",
                "The agent (assistant) that handled the call and its version, as the adapter or the platform named "
                "them (unknown when the call named none). Agent Versions on Call Quality compares the versions.",
                "none",
                query(_last("ai_agent_call_agent_info"), "{{agent}} {{agent_version}}", instant=True),
                w=8,
            ).text_mode(mc.BigValueTextMode.NAME)
        )
        .with_row(row("Score over the call's life"))
        .with_panel(
            _series(
                "Score",
                "Quality score over time; the colours mark the bands.",
                "ai_agent_call_quality_score",
                "score",
                thresholds=SCORE_BANDS,
                threshold_lines=True,
            )
            .min(0)
            .max(100)
        )
        .with_panel(
            timeseries_panel(
                "Penalty by factor",
                "Points each factor takes off the score, stacked: the tallest band is what hurts the call.",
                units.of("ai_agent_call_quality_penalty"),
                query(_call("ai_agent_call_quality_penalty"), "{{factor}}"),
                stack=True,
                calcs=("lastNotNull", "max"),
            )
        )
        .with_panel(
            bargauge_panel(
                "Penalties",
                "Each factor's last penalty in the time range, biggest first.",
                units.of("ai_agent_call_quality_penalty"),
                query(f"sort_desc({_last('ai_agent_call_quality_penalty')})", "{{factor}}", instant=True),
                thresholds=steps(OK, (5, WARNING), (10, CRITICAL)),
                w=12,
            )
        )
        .with_panel(
            stat_panel(
                "Insufficient data",
                "1 while the call has too few turns to be scored.",
                "none",
                query(_last("ai_agent_call_quality_insufficient_data"), "insufficient data", instant=True),
                mappings=value_text({0: ("scored", OK), 1: ("too few turns", WARNING)}),
                w=12,
                h=8,
            )
        )
        .with_row(row("Inputs"))
        .with_panel(
            _series(
                "Turn response p95",
                "p95 of the call's turn latency so far (for a platform that reports only its own percentiles, "
                "the p95 it computed, once the call ended).",
                "ai_agent_call_turn_response_p95_seconds",
                "turn p95",
                thresholds=above(turn_warn, turn_crit),
                threshold_lines=True,
                w=6,
            )
        )
        .with_panel(
            _series(
                "Barge-in reaction p95",
                "p95 of the call's barge-in reaction so far.",
                "ai_agent_call_barge_in_reaction_p95_seconds",
                "barge-in p95",
                thresholds=above(th.value("barge_in_reaction_p95_seconds")),
                threshold_lines=True,
                w=6,
            )
        )
        .with_panel(
            timeseries_panel(
                "Streaming events",
                "Underflows, streaming fallbacks, barge-ins and false interruptions so far in the call.",
                units.of("ai_agent_call_underflow_events"),
                query(_call("ai_agent_call_underflow_events"), "underflows"),
                query(_call("ai_agent_call_streaming_fallbacks"), "fallbacks"),
                query(_call("ai_agent_call_barge_ins"), "barge-ins"),
                query(_call("ai_agent_call_false_interruptions"), "false interruptions"),
                calcs=(),
                w=6,
            )
        )
        .with_panel(
            _series(
                "Agent speech",
                "Seconds the agent has spoken so far.",
                "ai_agent_call_agent_speech_seconds",
                "agent speech",
                w=6,
            )
        )
        .with_panel(
            _series(
                "Codec alignment",
                "Share of the call's codec checks that were aligned.",
                "ai_agent_call_codec_alignment_ratio",
                "aligned",
                w=8,
            )
            .min(0)
            .max(1)
        )
        .with_panel(
            _series(
                "Agent level spread",
                "Standard deviation of the agent's per-turn audio level.",
                "ai_agent_call_rms_spread_db",
                "RMS spread",
                w=8,
            )
        )
        .with_panel(
            _series(
                "Clipping",
                "Highest share of samples at full scale reported at any stage of the call so far: clipped "
                "speech is distorted for the caller and for speech-to-text.",
                "ai_agent_call_audio_clipping_ratio",
                "clipping",
                w=8,
            ).min(0)
        )
        .with_panel(
            timeseries_panel(
                "Transport",
                "Last reported RTT and jitter of the call's media transport.",
                "s",
                query(_call("ai_agent_call_transport_rtt_seconds"), "RTT"),
                query(_call("ai_agent_call_transport_jitter_seconds"), "jitter"),
                calcs=(),
                w=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Packet loss",
                "Last reported packet loss, loss burst ratio, and share of the received audio samples the "
                "receiver concealed (lost or too late, filled in by the jitter buffer).",
                "percentunit",
                query(_call("ai_agent_call_transport_packet_loss_ratio"), "loss"),
                query(_call("ai_agent_call_transport_burst_ratio"), "burst ratio"),
                query(_call("ai_agent_call_transport_concealment_ratio"), "concealed"),
                calcs=(),
                w=8,
            )
        )
        .with_panel(
            _series(
                "E-model R",
                "Transmission rating factor R the scorer computes from the call's transport and codec (ITU-T "
                "G.107), from which the MOS estimate follows.",
                "ai_agent_call_r_factor",
                "R",
                w=8,
            )
            .min(0)
            .max(100)
        )
    )
