"""Provider Performance: one provider's latencies, failures and availability, and its worst calls in the range.

An alert about a provider opens this dashboard with the provider selected; its worst calls lead to Call Detail.
"""

from grafana.builder import alert_thresholds as th
from grafana.builder import board, drilldown, links, units
from grafana.builder.panels import (
    CRITICAL,
    OK,
    above,
    bargauge_panel,
    below,
    query,
    row,
    state_timeline_panel,
    steps,
    timeseries_panel,
    value_text,
)
from grafana.builder.promql import rate, recorded, sel

UID = drilldown.PROVIDER_UID
P = '{provider=~"$provider"}'
# blackbox_exporter's series for the endpoints in prometheus/targets/providers.yml (job provider_probe).
PROBE = '{job="provider_probe", provider=~"$provider"}'
PROBE_SUCCESS = "probe_success" + PROBE
PROBE_DURATION = "probe_duration_seconds" + PROBE
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
    success = th.value("component_success_ratio")
    probe_failing_for = th.value("provider_probe_failing_for")
    slow_ratio, slow_min = th.value("provider_probe_slow_ratio"), th.value("provider_probe_slow_min_seconds")
    turn_warn, turn_crit = th.value("turn_latency_p95_warning_seconds"), th.value("turn_latency_p95_critical_seconds")
    dash = (
        board.new(
            UID,
            "Voice Agent / Provider Performance",
            "One provider or several side by side: turn and component latencies, request and call failures, "
            "availability, and the worst calls of the time range.",
            board.provider(),
            links=(links.runbook_link(),),
        )
        .with_row(row("Latency"))
        .with_panel(
            timeseries_panel(
                "Turn response p95 by provider",
                "End-to-end turn latency p95 over 5 minutes, providers side by side; HighTurnResponseLatency "
                f"fires above {turn_warn:g} s, CriticalTurnResponseLatency above {turn_crit:g} s.",
                "s",
                query(recorded("provider:ai_agent_turn_response_seconds:p95_rate5m") + P, "{{provider}}"),
                thresholds=above(turn_warn, turn_crit),
                threshold_lines=True,
                w=12,
            )
        )
        .with_panel(
            timeseries_panel(
                "Component latency p95",
                "p95 latency of every pipeline component the engine reports (STT, LLM first token, TTS first "
                "byte, endpointing, network), by provider; ComponentHighLatency fires above the line.",
                "s",
                query(
                    recorded("component_provider:ai_agent_component_latency_seconds:p95_rate5m") + P,
                    "{{component}} {{provider}}",
                ),
                thresholds=above(critical=th.value("component_latency_p95_seconds")),
                threshold_lines=True,
                w=12,
            )
        )
    )
    for component, title, description in COMPONENTS:
        dash = dash.with_panel(_component(component, title, description))
    return (
        dash.with_row(row("Failures"))
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
                "Errors the voice engine reported, per turn, by component, over all providers (errors carry no "
                "provider); HighErrorRate fires above the line.",
                "percentunit",
                query(recorded("component:ai_agent_errors_per_turn:ratio_rate5m"), "{{component}}"),
                thresholds=above(critical=th.value("errors_per_turn_ratio")),
                threshold_lines=True,
                w=12,
            )
        )
        .with_panel(drilldown.codec_alignment(w=12))
        .with_row(row("Availability and cost"))
        .with_panel(
            state_timeline_panel(
                "Provider up/down",
                "Reachability of each provider service over time; ProviderDown fires after 2 minutes down.",
                "none",
                query(sel("ai_agent_provider_up", provider="$provider"), "{{provider}} {{service}}"),
                thresholds=steps(CRITICAL, (1, OK)),
                mappings=value_text({0: ("down", CRITICAL), 1: ("up", OK)}),
                w=16,
            )
        )
        .with_panel(
            bargauge_panel(
                "Cost per call by provider",
                "Mean cost of the calls seen in the time range, by the call's provider: the total of ended calls, "
                "the cost so far of live ones.",
                units.of("ai_agent_call_running_cost_usd"),
                query(
                    f"avg by (provider) ({drilldown.last('ai_agent_call_running_cost_usd', provider='$provider')})",
                    "{{provider}}",
                    instant=True,
                ),
                w=8,
            )
        )
        .with_row(row("Probes"))
        .with_panel(
            state_timeline_panel(
                "Probe success",
                "Whether blackbox_exporter's probe of each provider endpoint listed in "
                "prometheus/targets/providers.yml succeeded, by provider, service and module: a view that needs no "
                f"call in progress. ProviderEndpointDown fires after {probe_failing_for} of failures. Empty until an "
                "endpoint is listed.",
                "none",
                query(PROBE_SUCCESS, "{{provider}} {{service}} {{module}}"),
                thresholds=steps(CRITICAL, (1, OK)),
                mappings=value_text({0: ("down", CRITICAL), 1: ("up", OK)}),
                w=12,
            )
        )
        .with_panel(
            timeseries_panel(
                "Probe duration",
                "How long each probe took (DNS, connection, TLS handshake and the HTTP answer), beside the "
                "endpoint's median over the last day; ProviderEndpointSlow fires when the median of 10 minutes "
                f"exceeds {slow_ratio:g} times that line and {slow_min:g} s.",
                "s",
                query(PROBE_DURATION, "{{provider}} {{service}} {{module}}"),
                query(
                    recorded("provider_service_instance:probe_duration_seconds:median1d") + P,
                    "{{provider}} {{service}} {{module}}, median of the last day",
                ),
                w=12,
            )
        )
        .with_row(row("Calls"))
        .with_panel(
            drilldown.worst_calls(
                "Worst calls in range",
                "The ten calls of the selected providers with the lowest quality score among those seen in the "
                "time range (live or ended), their band, the factor that costs them most and their cost. "
                "Click a call to open Call Detail.",
                provider="$provider",
            )
        )
    )
