"""Provider Performance: component latencies side by side, failures, up/down, and cost per call by provider."""

from grafana.builder import alert_thresholds as th
from grafana.builder import board, units
from grafana.builder.panels import (
    CRITICAL,
    OK,
    above,
    below,
    query,
    row,
    stat_panel,
    state_timeline_panel,
    steps,
    timeseries_panel,
    value_text,
)
from grafana.builder.promql import rate, recorded, sel

UID = "voice-provider-performance"
P = '{provider=~"$provider"}'
COMPONENTS = (
    ("stt", "STT latency", "Speech-to-text latency"),
    ("llm_ttft", "LLM time to first token", "Time to the language model's first token"),
    ("tts_ttfb", "TTS time to first byte", "Time to the first synthesized audio byte"),
)


def _component(component: str, title: str, description: str):
    filt = f'{{component="{component}", provider=~"$provider"}}'
    targets = [
        query(
            recorded(f"component_provider:ai_agent_component_latency_seconds:p{q}_rate5m") + filt,
            f"p{q} {{{{provider}}}}",
        )
        for q in (50, 95)
    ]
    return timeseries_panel(
        title,
        f"{description}, p50 and p95 by provider over 5 minutes; ComponentHighLatency fires above the line.",
        "s",
        *targets,
        thresholds=above(critical=th.value("component_latency_p95_seconds")),
        threshold_lines=True,
        w=8,
    )


def build():
    dash = board.new(
        UID,
        "Voice Agent / Provider Performance",
        "Providers compared: component latencies, request and call failures, availability and cost.",
        board.provider(),
    )
    dash = dash.with_row(row("Latency by component"))
    for component, title, description in COMPONENTS:
        dash = dash.with_panel(_component(component, title, description))
    success = th.value("component_success_ratio")
    return (
        dash.with_panel(
            timeseries_panel(
                "Turn response p95 by provider",
                "End-to-end turn latency p95, providers side by side.",
                "s",
                query(recorded("provider:ai_agent_turn_response_seconds:p95_rate5m") + P, "{{provider}}"),
                thresholds=above(
                    th.value("turn_latency_p95_warning_seconds"), th.value("turn_latency_p95_critical_seconds")
                ),
                threshold_lines=True,
                w=24,
            )
        )
        .with_row(row("Failures"))
        .with_panel(
            timeseries_panel(
                "Request success ratio",
                "Share of provider requests that succeeded, by provider "
                "and service; ComponentLowSuccessRate fires below the line.",
                "percentunit",
                query(
                    recorded("provider_service:ai_agent_provider_requests_success:ratio_rate5m") + P,
                    "{{provider}} {{service}}",
                ),
                thresholds=below(success),
                threshold_lines=True,
                w=8,
            )
            .min(0)
            .max(1)
        )
        .with_panel(
            timeseries_panel(
                "Failed requests",
                "Provider requests that errored or timed out, per second.",
                units.rate_of("ai_agent_provider_requests_total"),
                query(
                    rate(
                        "ai_agent_provider_requests_total",
                        ("provider", "service", "status"),
                        provider="$provider",
                        status="!=ok",
                    ),
                    "{{provider}} {{service}} {{status}}",
                ),
                w=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Call failure ratio",
                "Share of ended calls that ended in error or timeout over "
                "15 minutes; CallFailureRateHigh fires above the line.",
                "percentunit",
                query(recorded("provider:ai_agent_calls_failed:ratio_rate15m") + P, "{{provider}}"),
                thresholds=above(critical=th.value("call_failure_ratio")),
                threshold_lines=True,
                w=8,
            ).min(0)
        )
        .with_panel(
            timeseries_panel(
                "Engine errors per turn",
                "Errors the voice engine reported, per turn, by component; HighErrorRate fires above the line.",
                "percentunit",
                query(recorded("component:ai_agent_errors_per_turn:ratio_rate5m"), "{{component}}"),
                thresholds=above(critical=th.value("errors_per_turn_ratio")),
                threshold_lines=True,
                w=12,
            )
        )
        .with_panel(
            stat_panel(
                "Codec alignment",
                "Whether each provider's codec and sample rate match the call's; "
                "ProviderCodecMismatch fires on misalignment.",
                "none",
                query(sel("ai_agent_codec_alignment", provider="$provider"), "{{provider}}", instant=True),
                thresholds=steps(CRITICAL, (1, OK)),
                mappings=value_text({0: ("misaligned", CRITICAL), 1: ("aligned", OK)}),
                w=12,
                h=8,
            )
        )
        .with_row(row("Availability and cost"))
        .with_panel(
            state_timeline_panel(
                "Provider up/down",
                "Reachability of each provider service over time; ProviderDown fires after 2 minutes down.",
                "none",
                query(sel("ai_agent_provider_up", provider="$provider"), "{{provider}} {{service}}"),
                thresholds=steps(CRITICAL, (1, OK)),
                mappings=value_text({0: ("down", CRITICAL), 1: ("up", OK)}),
                w=24,
            )
        )
        .with_panel(
            timeseries_panel(
                "Cost per call by provider",
                "Mean cost of the calls that ended in the last few "
                "minutes (their per-call series linger for the grace period), by the call's "
                "provider.",
                units.of("ai_agent_call_running_cost_usd"),
                query(
                    f"avg by (provider) ({sel('ai_agent_call_running_cost_usd', provider='$provider')}"
                    f" and on (call_id) ({sel('ai_agent_call_ended')} == 1))",
                    "{{provider}}",
                ),
                w=12,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by vendor",
                "Spend rate by the vendor billed (STT, LLM and TTS vendors), in dollars per hour.",
                "currencyUSD",
                query(f"{rate('ai_agent_cost_usd_total', ('provider',))} * 3600", "{{provider}}"),
                stack=True,
                w=12,
            )
        )
    )
