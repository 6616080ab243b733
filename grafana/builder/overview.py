"""System Overview: what is firing and how calls are doing, then traffic and the health of everything the stack
watches. The top row is where a page starts: each tile opens the dashboard that explains it."""

from grafana_foundation_sdk.builders import dashboard

from grafana.builder import alert_thresholds as th
from grafana.builder import board, call_quality, links, provider_performance, units
from grafana.builder.bands import SCORE_BANDS
from grafana.builder.panels import (
    CRITICAL,
    OK,
    WARNING,
    above,
    bargauge_panel,
    below,
    organize,
    piechart_panel,
    query,
    row,
    stat_panel,
    steps,
    table_panel,
    timeseries_panel,
    value_text,
)
from grafana.builder.promql import RANGE, agg, increase, rate, recorded, sel

UID = "voice-system-overview"
P = {"provider": "$provider"}
JOBS = "ai_engine|voice_exporter|voice_scorer|prometheus|alertmanager"
UP_DOWN = value_text({0: ("DOWN", CRITICAL), 1: ("UP", OK)})
BREAKER = value_text({0: ("closed", OK), 1: ("half-open", WARNING), 2: ("open", CRITICAL)})
FIRING = 'ALERTS{alertstate="firing", alertname!="Watchdog"}'
P_FILTER = '{provider=~"$provider"}'
BOARD_TITLES = {provider_performance.UID: "Provider Performance", call_quality.UID: "Call Quality"}


def runbook_data_link():
    return dashboard.DashboardLink("Runbook: one section per alert").url(links.runbook()).target_blank(True)


def _worst_provider_tile(title: str, description: str, unit: str, expr: str, thresholds, uid: str):
    """A top-row number over the selected providers, linking to the dashboard that explains it."""
    return stat_panel(title, description, unit, query(expr), thresholds=thresholds, graph=True, w=4, h=6).data_links(
        [links.to_dashboard(BOARD_TITLES[uid], uid, provider="${provider}")]
    )


def top_row(dash):
    """Firing alerts, then the four numbers that say whether callers are fine."""
    turn_warn, turn_crit = th.value("turn_latency_p95_warning_seconds"), th.value("turn_latency_p95_critical_seconds")
    budget = round(1 - th.value("slo_target_ratio"), 10)
    return (
        dash.with_row(row("Now"))
        .with_panel(
            table_panel(
                "Firing alerts",
                "Alerts firing now (the Watchdog, which always fires, left out), with the labels that say where. "
                "Each alert's notification links to the panel that shows its signal.",
                "none",
                query(
                    "sum by (alertname, severity, provider, service, tenant, component, worker, breaker, endpoint) "
                    f"({FIRING})",
                    instant=True,
                    fmt="table",
                ),
                w=8,
                h=6,
            )
            .with_transformation(organize(("Time", "Value"), {"alertname": "Alert", "severity": "Severity"}))
            .data_links([runbook_data_link()])
        )
        .with_panel(
            _worst_provider_tile(
                "Turn response p95",
                "Highest turn latency p95 of the selected providers over 5 minutes. Click to compare providers.",
                "s",
                f"max({recorded('provider:ai_agent_turn_response_seconds:p95_rate5m')}{P_FILTER})",
                above(turn_warn, turn_crit),
                provider_performance.UID,
            )
        )
        .with_panel(
            _worst_provider_tile(
                "Call failure ratio",
                "Highest share of calls ending in error or timeout over 15 minutes among the selected providers.",
                "percentunit",
                f"max({recorded('provider:ai_agent_calls_failed:ratio_rate15m')}{P_FILTER})",
                above(critical=th.value("call_failure_ratio")),
                provider_performance.UID,
            )
        )
        .with_panel(
            _worst_provider_tile(
                "Mean call score",
                "Lowest mean final quality score among the selected providers, over calls ended in the last 30 "
                "minutes. Click to see the worst calls.",
                "none",
                f"min({recorded('provider:ai_agent_call_quality_final_score:mean_rate30m')}{P_FILTER})",
                SCORE_BANDS,
                call_quality.UID,
            )
        )
        .with_panel(
            stat_panel(
                "Turn latency SLO burn",
                "How fast slow turns spend the turn latency error budget over the windows TurnLatencySLOBurn "
                "reads, for the selected provider burning fastest: 1 spends the budget in exactly 30 days; the "
                "alert pages at 14.4 over 1 h and 6 over 6 h, and opens a ticket at 3 over 1 d and 1 over 3 d.",
                "suffix:×",
                *(
                    query(
                        f"max({recorded(f'provider:ai_agent_turn_response_slow:ratio_rate{w}')}"
                        f'{{provider=~"$provider"}}) / {budget:g}',
                        w,
                    )
                    for w in ("1h", "6h", "1d", "3d")
                ),
                thresholds=above(warning=1),
                w=4,
                h=6,
            )
        )
    )


def build():
    calls_rate = recorded("provider:ai_agent_calls_started:rate5m")
    memory = th.value("worker_memory_ratio")
    expiry_days = th.value("provider_tls_expiry_days")
    dash = board.new(
        UID,
        "Voice Agent / System Overview",
        "What is firing and how calls are doing, live traffic, and the health of the voice engine, exporter, "
        "scorer, workers and breakers.",
        board.provider(),
        links=(
            links.dashboard_link(
                "Provider Performance", provider_performance.UID, "Providers' latencies, failures, worst calls"
            ),
            links.runbook_link(),
        ),
    )
    return (
        top_row(dash)
        .with_row(row("Traffic"))
        .with_panel(
            stat_panel(
                "Active calls",
                "Calls in progress now, over the selected providers.",
                units.of("ai_agent_active_calls"),
                query(agg("sum", "ai_agent_active_calls", **P), "active"),
                graph=True,
            )
        )
        .with_panel(
            stat_panel(
                "Call rate",
                "Calls started per minute (5-minute average).",
                "cpm",
                query(f'sum({calls_rate}{{provider=~"$provider"}}) * 60', "calls/min"),
                graph=True,
            )
        )
        .with_panel(
            piechart_panel(
                "Provider distribution",
                "Share of calls started in the time range, by provider.",
                "short",
                query(
                    increase("ai_agent_calls_started_total", ("provider",), RANGE, **P), "{{provider}}", instant=True
                ),
            )
        )
        .with_panel(
            piechart_panel(
                "Audio transport mode",
                "Calls in progress by audio transport (AudioSocket, external media, WebRTC, SIP).",
                units.of("ai_agent_active_calls_by_transport"),
                query(agg("sum", "ai_agent_active_calls_by_transport", ("transport",)), "{{transport}}", instant=True),
            )
        )
        .with_panel(
            timeseries_panel(
                "Active calls by provider",
                "Calls in progress over time, stacked by provider.",
                units.of("ai_agent_active_calls"),
                query(agg("sum", "ai_agent_active_calls", ("provider",), **P), "{{provider}}"),
                stack=True,
                w=24,
            )
        )
        .with_row(row("Health"))
        .with_panel(
            stat_panel(
                "Service health",
                "Whether Prometheus can scrape each service (voice engine, exporter, scorer, "
                "Prometheus, Alertmanager). A service never deployed shows no tile.",
                "none",
                query(f'up{{job=~"{JOBS}"}}', "{{job}}", instant=True),
                thresholds=steps(CRITICAL, (1, OK)),
                mappings=UP_DOWN,
                w=12,
            )
        )
        .with_panel(
            stat_panel(
                "Scorer freshness",
                "Seconds since the quality scorer last completed a cycle; ScorerStale fires above the red line.",
                "s",
                query(f"time() - max({sel('ai_agent_scorer_last_success_timestamp_seconds')})", "age", instant=True),
                thresholds=above(critical=th.value("scorer_stale_seconds")),
                w=6,
            )
        )
        .with_panel(
            stat_panel(
                "Live per-call series",
                "Per-call series the exporter exposes now (cardinality).",
                units.of("ai_agent_exporter_per_call_series"),
                query(agg("sum", "ai_agent_exporter_per_call_series"), "series"),
                thresholds=above(critical=th.value("per_call_series_max")),
                w=6,
            )
        )
        .with_panel(
            bargauge_panel(
                "Worker memory",
                "Memory use of each worker as a share of its limit; WorkerMemoryHigh fires above the threshold.",
                units.of("ai_agent_worker_memory_ratio"),
                query(agg("max", "ai_agent_worker_memory_ratio", ("worker",)), "{{worker}}", instant=True),
                thresholds=above(critical=memory),
                w=8,
            )
            .min(0)
            .max(1)
        )
        .with_panel(
            bargauge_panel(
                "Worker CPU",
                "CPU use of each worker as a share of its allowance.",
                units.of("ai_agent_worker_cpu_ratio"),
                query(agg("max", "ai_agent_worker_cpu_ratio", ("worker",)), "{{worker}}", instant=True),
                thresholds=above(warning=memory),
                w=8,
            )
            .min(0)
            .max(1)
        )
        .with_panel(
            bargauge_panel(
                "Calls per worker",
                "Calls each worker handles now.",
                units.of("ai_agent_worker_active_calls"),
                query(agg("max", "ai_agent_worker_active_calls", ("worker",)), "{{worker}}", instant=True),
                w=8,
            )
        )
        .with_panel(
            stat_panel(
                "Circuit breakers",
                "State of each circuit breaker; CircuitBreakerOpen fires when one stays open for 5 minutes.",
                "none",
                query(agg("max", "ai_agent_circuit_breaker_state", ("breaker",)), "{{breaker}}", instant=True),
                thresholds=steps(OK, (1, WARNING), (2, CRITICAL)),
                mappings=BREAKER,
                w=12,
            )
        )
        .with_panel(
            stat_panel(
                "Provider services",
                "Whether each provider service is reachable; ProviderDown fires after 2 minutes down.",
                "none",
                query(
                    agg("min", "ai_agent_provider_up", ("provider", "service"), **P),
                    "{{provider}} {{service}}",
                    instant=True,
                ),
                thresholds=steps(CRITICAL, (1, OK)),
                mappings=UP_DOWN,
                w=12,
            )
        )
        .with_row(row("Monitoring pipeline"))
        .with_panel(
            timeseries_panel(
                "Events rejected",
                "Share of the events the exporter received that it rejected, by exporter; ExporterRejectingEvents "
                "fires above the line. 0 while nothing is rejected.",
                "percentunit",
                query(
                    f"{rate('ai_agent_exporter_events_rejected_total', ('instance',))}\n  /\n"
                    f"({rate('ai_agent_exporter_events_accepted_total', ('instance',))}"
                    f" + {rate('ai_agent_exporter_events_rejected_total', ('instance',))})"
                    f"\nor\n0 * {rate('ai_agent_exporter_events_accepted_total', ('instance',))}",
                    "{{instance}}",
                ),
                thresholds=above(critical=th.value("exporter_rejected_ratio")),
                threshold_lines=True,
                w=8,
            ).min(0)
        )
        .with_panel(
            timeseries_panel(
                "Rule evaluation failures",
                "Rule evaluations Prometheus failed, by rule group; PrometheusRuleEvaluationFailures fires on any.",
                "short",
                query(
                    "sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total[$__rate_interval]))",
                    "{{rule_group}}",
                ),
                w=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Notification failures",
                "Share of Alertmanager notifications that failed, by integration; AlertmanagerNotificationsFailing "
                "fires above the line.",
                "percentunit",
                query(
                    "sum by (integration) (rate(alertmanager_notifications_failed_total[$__rate_interval]))\n  /\n"
                    "(sum by (integration) (rate(alertmanager_notifications_total[$__rate_interval])) > 0)",
                    "{{integration}}",
                ),
                thresholds=above(critical=th.value("notification_failure_ratio")),
                threshold_lines=True,
                w=8,
            ).min(0)
        )
        .with_row(row("Provider probes"))
        .with_panel(
            stat_panel(
                "Provider endpoints",
                "Whether blackbox_exporter's last probe of each provider endpoint in prometheus/targets/providers.yml "
                f"succeeded; ProviderEndpointDown fires after {th.value('provider_probe_failing_for')} of failures. "
                "Unlike Provider services, this needs no call in progress. Empty until an endpoint is listed.",
                "none",
                query(
                    f"min by (provider, service, module) ({provider_performance.PROBE_SUCCESS})",
                    "{{provider}} {{service}} {{module}}",
                    instant=True,
                ),
                thresholds=steps(CRITICAL, (1, OK)),
                mappings=UP_DOWN,
                w=12,
            )
        )
        .with_panel(
            bargauge_panel(
                "Probe time",
                "How long the last probe of each provider endpoint took; Provider Performance shows it against "
                "the endpoint's own history.",
                "s",
                query(
                    f"max by (provider, service, module) ({provider_performance.PROBE_DURATION})",
                    "{{provider}} {{service}} {{module}}",
                    instant=True,
                ),
                w=6,
            )
        )
        .with_panel(
            bargauge_panel(
                "Certificate expiry",
                "Time until the earliest expiry of the TLS certificates each provider endpoint serves; "
                f"ProviderTLSCertificateExpiring fires below {expiry_days:g} days (red).",
                "s",
                query(
                    "min by (provider, instance) (probe_ssl_earliest_cert_expiry"
                    + provider_performance.PROBE
                    + ") - time()",
                    "{{provider}} {{instance}}",
                    instant=True,
                ),
                thresholds=below(critical=expiry_days * 86400),
                w=6,
            )
        )
        .with_row(row("Tenants"))
        .with_panel(
            timeseries_panel(
                "Calls per hour by tenant, this week against last",
                "Calls each tenant started in the last hour, and in the same hour a week before. "
                "TenantCallVolumeAnomaly opens a ticket when a tenant exceeds "
                f"{th.value('tenant_anomaly_ratio'):g} times last week's figure and "
                f"{th.value('tenant_anomaly_min_calls_per_hour'):g} calls; a tenant with no figure a week before "
                "never does.",
                units.of("ai_agent_calls_started_total"),
                query(recorded("tenant:ai_agent_calls_started:increase1h"), "{{tenant}}"),
                query(recorded("tenant:ai_agent_calls_started:increase1h") + " offset 1w", "{{tenant}} a week before"),
                w=12,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by tenant, this week against last",
                "Dollars each tenant spent in the last hour, and in the same hour a week before. "
                "TenantSpendAnomaly opens a ticket when a tenant exceeds "
                f"{th.value('tenant_anomaly_ratio'):g} times last week's figure and "
                f"${th.value('tenant_anomaly_min_usd_per_hour'):g}; a tenant with no figure a week before never does.",
                units.of("ai_agent_cost_usd_total"),
                query(recorded("tenant:ai_agent_cost_usd:increase1h"), "{{tenant}}"),
                query(recorded("tenant:ai_agent_cost_usd:increase1h") + " offset 1w", "{{tenant}} a week before"),
                w=12,
            )
        )
        .with_row(row("Authentication"))
        .with_panel(authentication_failures())
        .with_panel(authentication_failures_by_reason())
    )


AUTH_FAILURES = "ai_agent_exporter_auth_failures_total"


def authentication_failures():
    """ExporterAuthenticationFailures' signal: refused credentials a minute per endpoint, every exporter summed."""
    return timeseries_panel(
        "Authentication failures",
        "Requests a minute the exporters refused for missing, malformed, wrong or stale credentials, by endpoint "
        "(events and traces: the ingest bearer token; vapi, retell: the webhook secret or signature). "
        f"ExporterAuthenticationFailures opens a ticket when an endpoint stays above the line "
        f"({th.value('auth_failures_per_minute'):g} a minute) for {th.value('auth_failures_for')}. 0 while every "
        "request is let in.",
        "cpm",
        query(f"{rate(AUTH_FAILURES, ('endpoint',))} * 60", "{{endpoint}}"),
        thresholds=above(warning=th.value("auth_failures_per_minute")),
        threshold_lines=True,
        w=12,
    ).min(0)


def authentication_failures_by_reason():
    """What tells probing from a secret rotated on one side: the reasons, and how steady they are."""
    return timeseries_panel(
        "Authentication failures by reason",
        "The same refusals by endpoint and reason, stacked. A secret rotated on one side only is one endpoint, "
        "reason wrong, at that platform's usual request rate, steady; probing is bursts of missing and malformed "
        "across several endpoints. The Runbook's ExporterAuthenticationFailures section says how to tell them apart.",
        "cpm",
        query(f"{rate(AUTH_FAILURES, ('endpoint', 'reason'))} * 60", "{{endpoint}} {{reason}}"),
        stack=True,
        w=12,
    )
