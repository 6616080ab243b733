"""Call Quality: latency percentiles, streaming health, jitter buffer, and the scorer's view of calls."""

from grafana.builder import agents, board, drilldown, links, promql, units
from grafana.builder import alert_thresholds as th
from grafana.builder.bands import SCORE_BANDS
from grafana.builder.panels import (
    above,
    bargauge_panel,
    below,
    heatmap_panel,
    query,
    row,
    stat_panel,
    timeseries_panel,
)
from grafana.builder.promql import RANGE, increase, recorded
from voice_monitoring.shared.quality_bands import QUALITY_BANDS

UID = "voice-call-quality"
P = '{provider=~"$provider"}'


def percentiles(metric: str) -> list:
    return [query(recorded(f"provider:{metric}:p{q}_rate5m") + P, f"p{q} {{{{provider}}}}") for q in (50, 95, 99)]


CALIBRATION_AUC = f"ai_agent_quality_calibration_auc{P}"
CALIBRATION_PAIRS = f"ai_agent_quality_calibration_pairs{P}"


def build():
    turn_warn, turn_crit = th.value("turn_latency_p95_warning_seconds"), th.value("turn_latency_p95_critical_seconds")
    auc_min, min_pairs = th.value("calibration_auc_min"), th.value("calibration_min_pairs")
    min_negative = th.value("calibration_min_negative_pairs")
    return (
        board.new(
            UID,
            "Voice Agent / Call Quality",
            "How calls sound and feel: turn latency, streaming health and the quality scorer's verdicts.",
            board.provider(),
            board.agent(),
            links=(links.runbook_link(),),
        )
        .with_row(row("Latency"))
        .with_panel(
            timeseries_panel(
                "Turn response latency",
                "User stops speaking to agent starts speaking, p50/p95/p99 by provider over 5 minutes. "
                f"HighTurnResponseLatency warns on p95 above {turn_warn:g} s, CriticalTurnResponseLatency pages above "
                f"{turn_crit:g} s. Click a series to open its provider.",
                "s",
                *percentiles("ai_agent_turn_response_seconds"),
                thresholds=above(turn_warn, turn_crit),
                threshold_lines=True,
                w=8,
            ).data_links([drilldown.provider_link()])
        )
        .with_panel(
            timeseries_panel(
                "STT to TTS latency",
                "Final transcript to first synthesized byte, p50/p95/p99 by provider. No alert watches it: it is "
                "the part of the turn latency the LLM and TTS vendors add.",
                "s",
                *percentiles("ai_agent_stt_to_tts_seconds"),
                w=8,
            ).data_links([drilldown.provider_link()])
        )
        .with_panel(
            timeseries_panel(
                "Barge-in reaction",
                "Caller starts speaking over the agent to the agent "
                "stopping, p50/p95/p99 by provider. SlowBargeInReaction fires on p95 above the line.",
                "s",
                *percentiles("ai_agent_barge_in_reaction_seconds"),
                thresholds=above(th.value("barge_in_reaction_p95_seconds")),
                threshold_lines=True,
                w=8,
            ).data_links([drilldown.provider_link()])
        )
        .with_row(row("Streaming"))
        .with_panel(
            timeseries_panel(
                "Underflow rate",
                "Playback buffer underflows per second by provider; HighUnderflowRate fires above the line.",
                "eps",
                query(recorded("provider:ai_agent_stream_underflow_events:rate5m") + P, "{{provider}}"),
                thresholds=above(th.value("underflow_rate_per_second")),
                threshold_lines=True,
                w=8,
            ).data_links([drilldown.provider_link()])
        )
        .with_panel(
            timeseries_panel(
                "Streaming fallbacks per turn",
                "Falls back from streaming to buffered playback, "
                "per turn; StreamingFallbacksFrequent fires above the line.",
                "percentunit",
                query(recorded("provider:ai_agent_streaming_fallbacks_per_turn:ratio_rate5m") + P, "{{provider}}"),
                thresholds=above(th.value("fallbacks_per_turn_ratio")),
                threshold_lines=True,
                w=8,
            ).data_links([drilldown.provider_link()])
        )
        .with_panel(
            stat_panel(
                "Streaming fallbacks",
                "Streaming fallbacks in the time range, by provider.",
                units.of("ai_agent_call_streaming_fallbacks"),
                query(
                    increase("ai_agent_streaming_fallbacks_total", ("provider",), RANGE, provider="$provider"),
                    "{{provider}}",
                    instant=True,
                ),
                w=8,
                h=8,
            )
        )
        .with_panel(
            heatmap_panel(
                "Jitter buffer depth",
                "Distribution of reported jitter buffer depths (frames) over time; a band at 0 means underruns, "
                "which JitterBufferUnderrun counts.",
                units.of("ai_agent_streaming_jitter_buffer_depth"),
                query(
                    increase(
                        "ai_agent_jitter_buffer_depth_frames",
                        ("le",),
                        promql.RATE_INTERVAL,
                        "_bucket",
                        provider="$provider",
                    ),
                    "{{le}}",
                    fmt="heatmap",
                ),
                w=24,
            )
        )
        .with_row(row("Quality score"))
        .with_panel(
            bargauge_panel(
                "Final score distribution",
                "Final quality scores of calls that ended in the time range, by score bucket.",
                "short",
                query(
                    increase("ai_agent_call_quality_final_score", ("le",), RANGE, "_bucket", provider="$provider"),
                    "{{le}}",
                    instant=True,
                    fmt="heatmap",
                ),
                w=12,
            )
        )
        .with_panel(
            timeseries_panel(
                "Mean final score",
                "Mean final quality score of calls ended in the last 30 "
                f"minutes, by provider; CallQualityDegraded fires below {QUALITY_BANDS.good:g}.",
                "none",
                query(recorded("provider:ai_agent_call_quality_final_score:mean_rate30m") + P, "{{provider}}"),
                thresholds=SCORE_BANDS,
                threshold_lines=True,
                w=12,
            )
            .min(0)
            .max(100)
            .data_links([drilldown.provider_link()])
        )
        .with_panel(
            drilldown.worst_calls(
                "Worst calls in range",
                "The ten calls with the lowest quality score among those seen in the time range (live or ended), "
                "their band, the factor that costs them most and their cost. Click a call to open Call Detail.",
                provider="$provider",
            )
        )
        .with_row(row("Callers"))
        .with_panel(
            timeseries_panel(
                "Does the score agree with callers?",
                "ROC AUC of the final quality score against negative caller feedback, by provider, over the scorer's "
                "calibration window (a day by default): the chance that a call rated well scored higher than a call "
                "rated negatively. 1 is perfect agreement, 0.5 is chance. The scorer publishes it from "
                "its minimum sample on (50 rated calls by default); QualityScoreMiscalibrated opens a ticket below "
                f"{auc_min:g} with {min_pairs:g} rated calls or more, {min_negative:g} of them negative. Empty until "
                "calls get feedback events "
                "(surveys, DTMF, app ratings, evaluators, or the Retell and Vapi verdicts).",
                "none",
                query(CALIBRATION_AUC, "{{provider}}"),
                thresholds=below(auc_min),
                threshold_lines=True,
                w=10,
            )
            .min(0)
            .max(1)
            .data_links([drilldown.provider_link()])
        )
        .with_panel(
            stat_panel(
                "Rated calls behind the figures",
                "Calls rated by feedback and paired with their final score in the calibration window, by provider, "
                "and of them the ones rated negatively: the sample the AUC and the band means rest on.",
                "short",
                query(CALIBRATION_PAIRS, "{{provider}}", instant=True),
                query(f"ai_agent_quality_calibration_negative_pairs{P}", "{{provider}} negative", instant=True),
                w=4,
                h=8,
            )
        )
        .with_panel(
            bargauge_panel(
                "Mean caller rating by quality band",
                "Mean feedback rating of the calls that ended in each quality band, by provider, each rating mapped "
                "onto 0 (worst on its scale) to 1 (best), over the calibration window. It should rise from Poor to "
                "Excellent. A band shows from a fifth of the minimum sample (10 rated calls by default).",
                "percentunit",
                query(
                    f"ai_agent_quality_calibration_mean_rating{P}",
                    "{{provider}} {{band}}",
                    instant=True,
                ),
                w=10,
                thresholds=below(0.5, 0.7),
            )
        )
        .with_row(row("Agents"))
        .with_panel(agents.versions_panel())
        .with_panel(agents.turn_latency_panel())
        .with_panel(agents.active_calls_panel())
    )
