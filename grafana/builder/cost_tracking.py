"""Cost Tracking: spend per call, tenant, vendor and service, cost per call-minute, month to date."""

from grafana.builder import alert_thresholds as th
from grafana.builder import board, drilldown, links, units
from grafana.builder.panels import above, bargauge_panel, query, row, stat_panel, timeseries_panel
from grafana.builder.promql import RANGE, increase, mean, quantile, rate, recorded

UID = "voice-cost-tracking"
T = {"tenant": "$tenant"}
# Spend and usage series name the vendor billed in their provider label; $vendor filters it.
TV = {"tenant": "$tenant", "provider": "$vendor"}
USD = units.of("ai_agent_cost_usd_total")
# The alert's own recording rule: cost is booked when a call ends, so a short window swings with every call end.
PER_CALL_MINUTE = recorded("tenant:ai_agent_cost_usd_per_call_minute:ratio_rate30m") + '{tenant=~"$tenant"}'
SPEND_1H = recorded("tenant:ai_agent_cost_usd:increase1h") + '{tenant=~"$tenant"}'


def build():
    limit = th.value("cost_per_call_minute_usd")
    return (
        board.new(
            UID,
            "Voice Agent / Cost Tracking",
            "What calls cost: per call, per tenant, per vendor and service, per call-minute, month to date.",
            board.tenant(),
            board.vendor(),
            links=(links.runbook_link(),),
        )
        .with_row(row("Unit costs"))
        .with_panel(
            stat_panel(
                "Cost per call-minute",
                "Highest cost per call-minute among the selected tenants over 30 minutes, the window "
                f"HighCostPerCallMinute reads; it fires above ${limit:.2f}.",
                USD,
                query(f"max({PER_CALL_MINUTE})", "$/call-minute"),
                thresholds=above(critical=limit),
                graph=True,
                w=6,
                h=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Cost per call-minute by tenant",
                "Spend per minute over the mean number of calls in progress, by tenant, over 30 minutes as "
                "HighCostPerCallMinute reads it; it fires above the line.",
                USD,
                query(PER_CALL_MINUTE, "{{tenant}}"),
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
            timeseries_panel(
                "Spend per hour by tenant, this week against last",
                "Dollars each tenant spent in the last hour over every vendor, and in the same hour a week before. "
                "TenantSpendAnomaly opens a ticket when a tenant exceeds "
                f"{th.value('tenant_anomaly_ratio'):g} times last week's figure and "
                f"${th.value('tenant_anomaly_min_usd_per_hour'):g}; a tenant with no figure a week before never does.",
                USD,
                query(SPEND_1H, "{{tenant}}"),
                query(f"{SPEND_1H} offset 1w", "{{tenant}} a week before"),
                w=24,
            )
        )
        .with_panel(
            bargauge_panel(
                "Month to date by tenant",
                "Spend since the start of the month, by tenant.",
                USD,
                query(increase("ai_agent_cost_usd_total", ("tenant",), RANGE, **TV), "{{tenant}}", instant=True),
                w=8,
            ).time_from("now/M")
        )
        .with_panel(
            timeseries_panel(
                "Usage by service",
                "Usage per second by vendor, service and unit (tokens, characters, audio seconds, minutes).",
                units.rate_of("ai_agent_usage_total"),
                query(
                    rate("ai_agent_usage_total", ("provider", "service", "unit"), provider="$vendor"),
                    "{{provider}} {{service}} {{unit}}",
                ),
                w=8,
            )
        )
        .with_panel(
            bargauge_panel(
                "Usage with no price",
                "Usage in the time range that reported no cost and that the price table has no price for, by "
                "vendor, service and unit: it is priced at 0, so the spend above is short by what it cost. Add the "
                "vendor, or vendor/model, to the price table (--price-table).",
                "short",
                query(
                    increase(
                        "ai_agent_usage_unpriced_total", ("provider", "service", "unit"), RANGE, provider="$vendor"
                    ),
                    "{{provider}} {{service}} {{unit}}",
                    instant=True,
                ),
                w=8,
            )
        )
        .with_row(row("Calls"))
        .with_panel(
            drilldown.costliest_calls(
                "Costliest calls in range",
                "The ten calls of the selected tenants that cost most among those seen in the time range (live "
                "ones so far), with their quality score. Click a call to open Call Detail.",
                tenant="$tenant",
            )
        )
    )
