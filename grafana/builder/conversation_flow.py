"""Conversation Flow: conversation states, mic gating and capture, barge-ins, false interruptions, turns."""

from grafana.builder import board, colours, links, units
from grafana.builder.panels import (
    OK,
    WARNING,
    piechart_panel,
    query,
    row,
    stat_panel,
    state_timeline_panel,
    steps,
    timeseries_panel,
)
from grafana.builder.promql import RANGE, agg, increase, quantile, rate, recorded

UID = "voice-conversation-flow"
FILTER = {"provider": "$provider", "pipeline": "$pipeline"}


def build():
    turns = rate("ai_agent_turns_total", ("pipeline", "provider"), **FILTER)
    barge_ins = rate("ai_agent_barge_in_events_total", ("provider",), provider="$provider")
    return (
        board.new(
            UID,
            "Voice Agent / Conversation Flow",
            "How conversations flow: who is speaking, microphone gating, interruptions and turns.",
            board.provider(),
            board.pipeline(),
            links=(links.runbook_link(),),
        )
        .with_row(row("Conversation state"))
        .with_panel(
            colours.pin(
                state_timeline_panel(
                    "Conversation state timeline",
                    "Whether any call is in each conversation state over time, all calls of all providers (the "
                    "state gauge counts calls per state; it carries neither call nor provider). Each state has "
                    "its own colour.",
                    units.of("ai_agent_conversation_state"),
                    query(agg("sum", "ai_agent_conversation_state", ("state",)), "{{state}}"),
                ),
                colours.for_states(),
            )
        )
        .with_panel(
            colours.pin(
                timeseries_panel(
                    "Calls by conversation state",
                    "Calls greeting, listening, processing and speaking, stacked, all providers.",
                    units.of("ai_agent_conversation_state"),
                    query(agg("sum", "ai_agent_conversation_state", ("state",)), "{{state}}"),
                    stack=True,
                    w=12,
                ),
                colours.for_states(),
            )
        )
        .with_panel(
            timeseries_panel(
                "TTS gating and audio capture",
                "Calls whose microphone is gated while the "
                "agent speaks, and calls whose caller audio capture is enabled, all providers.",
                units.of("ai_agent_tts_gating_active"),
                query(agg("sum", "ai_agent_tts_gating_active"), "TTS gating active"),
                query(agg("sum", "ai_agent_audio_capture_enabled"), "audio capture enabled"),
                w=12,
            )
        )
        .with_row(row("Interruptions"))
        .with_panel(
            timeseries_panel(
                "Barge-in rate",
                "Caller barge-ins over agent speech per second, by provider.",
                units.rate_of("ai_agent_barge_in_events_total"),
                query(recorded("provider:ai_agent_barge_in_events:rate5m") + '{provider=~"$provider"}', "{{provider}}"),
                w=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "False interruption rate",
                "Barge-ins that turned out not to be speech "
                "(noise, backchannel), per second and as a share of barge-ins.",
                units.rate_of("ai_agent_false_interruptions_total"),
                query(rate("ai_agent_false_interruptions_total", ("provider",), provider="$provider"), "{{provider}}"),
                w=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "False interruptions per barge-in",
                "Share of barge-ins that were false; a high share means the VAD reacts to noise.",
                "percentunit",
                query(
                    f"{rate('ai_agent_false_interruptions_total', ('provider',), provider='$provider')}"
                    f"\n  /\n{barge_ins}",
                    "{{provider}}",
                ),
                thresholds=steps(OK, (0.3, WARNING)),
                w=8,
            ).min(0)
        )
        .with_row(row("Turns"))
        .with_panel(
            timeseries_panel(
                "Turn rate",
                "Turns completed per second, by pipeline and provider.",
                units.rate_of("ai_agent_turns_total"),
                query(turns, "{{pipeline}} {{provider}}"),
                w=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Interrupted turns",
                "Share of turns the caller interrupted, by pipeline and provider.",
                "percentunit",
                query(
                    f"{rate('ai_agent_interrupted_turns_total', ('pipeline', 'provider'), **FILTER)}\n  /\n{turns}",
                    "{{pipeline}} {{provider}}",
                ),
                w=8,
            ).min(0)
        )
        .with_panel(
            stat_panel(
                "Turns in range",
                "Turns completed in the time range.",
                units.of("ai_agent_call_turns"),
                query(increase("ai_agent_turns_total", (), RANGE, **FILTER), "turns", instant=True),
                w=4,
                h=8,
            )
        )
        .with_panel(
            stat_panel(
                "Turns per live call",
                "Mean turns so far of the calls with live series.",
                units.of("ai_agent_call_turns"),
                query(agg("avg", "ai_agent_call_turns", provider="$provider"), "turns/call", instant=True),
                w=4,
                h=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Call duration",
                "Duration of ended calls, p50 and p95 by pipeline.",
                "s",
                query(quantile(0.5, "ai_agent_call_duration_seconds", ("pipeline",), **FILTER), "p50 {{pipeline}}"),
                query(quantile(0.95, "ai_agent_call_duration_seconds", ("pipeline",), **FILTER), "p95 {{pipeline}}"),
                w=12,
            )
        )
        .with_panel(
            piechart_panel(
                "How calls end",
                "Calls ended in the time range, by normalized reason.",
                "short",
                query(increase("ai_agent_calls_ended_total", ("reason",), RANGE, **FILTER), "{{reason}}", instant=True),
                w=12,
            )
        )
    )
