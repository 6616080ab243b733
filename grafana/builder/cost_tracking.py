"""Cost Tracking: spend per call, tenant, vendor and service, cost per call-minute, month to date."""

from grafana.builder import alert_thresholds as th
from grafana.builder import board, promql, units
from grafana.builder.panels import above, bargauge_panel, query, row, stat_panel, timeseries_panel
from grafana.builder.promql import RANGE, increase, mean, quantile, rate, sel

UID = "voice-cost-tracking"
T = {"tenant": "$tenant"}
TV = {"tenant": "$tenant", "provider": "$provider"}
USD = units.of("ai_agent_cost_usd_total")


def _per_call_minute(by: tuple[str, ...]) -> str:
    """Dollars spent per minute divided by the mean number of calls in progress: dollars per call-minute."""
    spend = rate("ai_agent_cost_usd_total", by, **T)
    by_clause = f" by ({', '.join(by)})" if by else ""
    calls = f"sum{by_clause} (avg_over_time({sel('ai_agent_active_calls', **T)}[{promql.RATE_INTERVAL}]))"
    return f"{spend} * 60\n  /\n({calls} > 0)"


def build():
    limit = th.value("cost_per_call_minute_usd")
    return (
        board.new(
            UID,
            "Voice Agent / Cost Tracking",
            "What calls cost: per call, per tenant, per vendor and service, per call-minute, month to date.",
            board.tenant(),
            board.vendor(),
        )
        .with_row(row("Unit costs"))
        .with_panel(
            stat_panel(
                "Cost per call-minute",
                "Spend per minute over the mean number of calls in progress; HighCostPerCallMinute fires above $0.20.",
                USD,
                query(_per_call_minute(()), "$/call-minute"),
                thresholds=above(critical=limit),
                graph=True,
                w=6,
                h=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Cost per call-minute by tenant",
                "Dollars per call-minute by tenant against the alert threshold.",
                USD,
                query(_per_call_minute(("tenant",)), "{{tenant}}"),
                thresholds=above(critical=limit),
                threshold_lines=True,
                w=18,
            )
        )
        .with_panel(
            stat_panel(
                "Mean cost per call",
                "Mean total cost of the calls that ended in the time range.",
                units.of("ai_agent_call_cost_usd"),
                query(mean("ai_agent_call_cost_usd", (), RANGE, **T), "mean", instant=True),
                w=6,
                h=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Cost per call by tenant",
                "Mean and p95 total cost of ended calls, by tenant.",
                units.of("ai_agent_call_cost_usd"),
                query(mean("ai_agent_call_cost_usd", ("tenant",), **T), "mean {{tenant}}"),
                query(quantile(0.95, "ai_agent_call_cost_usd", ("tenant",), **T), "p95 {{tenant}}"),
                w=18,
            )
        )
        .with_row(row("Spend"))
        .with_panel(
            timeseries_panel(
                "Spend per hour by tenant",
                "Spend rate by tenant, in dollars per hour.",
                USD,
                query(f"{rate('ai_agent_cost_usd_total', ('tenant',), **TV)} * 3600", "{{tenant}}"),
                stack=True,
                w=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by vendor",
                "Spend rate by the vendor billed, in dollars per hour.",
                USD,
                query(f"{rate('ai_agent_cost_usd_total', ('provider',), **TV)} * 3600", "{{provider}}"),
                stack=True,
                w=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend per hour by service",
                "Spend rate by service (STT, LLM, TTS, transport, platform), in dollars per hour.",
                USD,
                query(f"{rate('ai_agent_cost_usd_total', ('service',), **TV)} * 3600", "{{service}}"),
                stack=True,
                w=8,
            )
        )
        .with_panel(
            bargauge_panel(
                "Month to date by tenant",
                "Spend since the start of the month, by tenant.",
                USD,
                query(increase("ai_agent_cost_usd_total", ("tenant",), RANGE, **TV), "{{tenant}}", instant=True),
                w=12,
            ).time_from("now/M")
        )
        .with_panel(
            timeseries_panel(
                "Usage by service",
                "Usage per second by vendor, service and unit (tokens, characters, audio seconds, minutes).",
                units.rate_of("ai_agent_usage_total"),
                query(
                    rate("ai_agent_usage_total", ("provider", "service", "unit"), provider="$provider"),
                    "{{provider}} {{service}} {{unit}}",
                ),
                w=12,
            )
        )
    )
