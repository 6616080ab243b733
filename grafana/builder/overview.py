"""System Overview: traffic, provider mix, transport, and the health of everything the stack watches."""

from grafana.builder import alert_thresholds as th
from grafana.builder import board, units
from grafana.builder.panels import (
    CRITICAL,
    OK,
    WARNING,
    above,
    bargauge_panel,
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
from grafana.builder.promql import RANGE, agg, increase, recorded, sel

UID = "voice-system-overview"
P = {"provider": "$provider"}
JOBS = "ai_engine|voice_exporter|voice_scorer|prometheus|alertmanager"
UP_DOWN = value_text({0: ("DOWN", CRITICAL), 1: ("UP", OK)})
BREAKER = value_text({0: ("closed", OK), 1: ("half-open", WARNING), 2: ("open", CRITICAL)})


def build():
    calls_rate = recorded("provider:ai_agent_calls_started:rate5m")
    memory = th.value("worker_memory_ratio")
    return (
        board.new(
            UID,
            "Voice Agent / System Overview",
            "Live traffic and the health of the voice engine, exporter, scorer, workers, breakers and alerts.",
            board.provider(),
        )
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
        .with_panel(
            table_panel(
                "Firing alerts",
                "Alerts firing now, from Prometheus's ALERTS series.",
                "none",
                query('sum by (alertname, severity) (ALERTS{alertstate="firing"})', instant=True, fmt="table"),
                w=24,
            ).with_transformation(organize(("Time", "Value"), {"alertname": "Alert", "severity": "Severity"}))
        )
    )
