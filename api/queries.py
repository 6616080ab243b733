"""The PromQL each figure of the read API stands for.

Every selector over a series that carries a ``tenant`` label gets the caller's tenant as an equality matcher,
built here from the token's principal and never from the request; label values are escaped as PromQL string
literals, so a value is only ever a literal.  Ranges are evaluated at their end with the ``@`` modifier, which
Prometheus and VictoriaMetrics both support, so one instant query answers for any past window.
"""

from __future__ import annotations

from dataclasses import dataclass

# The end reasons counted as failed calls, as in the recording rule provider:ai_agent_calls_failed:ratio_rate15m
FAILURE_REASONS = ("error", "timeout")
QUANTILES = (0.5, 0.95, 0.99)


def literal(value: str) -> str:
    """``value`` as a PromQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def selector(metric: str, *regex_matchers: str, **labels: str | None) -> str:
    """``metric{name="value",...}`` for the labels given a value (None: not matched), plus ``regex_matchers``."""
    equalities = [f"{name}={literal(value)}" for name, value in labels.items() if value is not None]
    return f"{metric}{{{','.join([*equalities, *regex_matchers])}}}"


@dataclass(frozen=True)
class Window:
    """A range of ``seconds`` ending at Unix time ``end``."""

    end: float
    seconds: int

    def over(self, series: str) -> str:
        return f"{series}[{self.seconds}s] @ {self.end:.3f}"


def calls(tenant: str | None, window: Window) -> dict[str, str]:
    started = selector("ai_agent_calls_started_total", tenant=tenant)
    ended = selector("ai_agent_calls_ended_total", tenant=tenant)
    failed = selector("ai_agent_calls_ended_total", f"reason=~{literal('|'.join(FAILURE_REASONS))}", tenant=tenant)
    ended_sum = f"sum by (tenant) (increase({window.over(ended)}))"
    return {
        "started": f"sum by (tenant) (increase({window.over(started)}))",
        "ended": ended_sum,
        "ended_by_reason": f"sum by (tenant, reason) (increase({window.over(ended)}))",
        # a tenant with ended calls but no failed ones has no failed series: "or 0 * ..." stands in for it
        "success_rate": (
            f"1 - (sum by (tenant) (increase({window.over(failed)})) or 0 * {ended_sum}) / ({ended_sum} > 0)"
        ),
    }


def cost(tenant: str | None, window: Window) -> dict[str, str]:
    spend = selector("ai_agent_cost_usd_total", tenant=tenant)
    return {
        "total_usd": f"sum by (tenant) (increase({window.over(spend)}))",
        "by_service_usd": f"sum by (tenant, service) (increase({window.over(spend)}))",
    }


def call_cost(tenant: str | None, call_id: str) -> str:
    return f"max by (tenant, call_id) ({selector('ai_agent_call_running_cost_usd', tenant=tenant, call_id=call_id)})"


def latency(component: str | None, provider: str | None, window: Window) -> dict[str, str]:
    if component is None:
        buckets = selector("ai_agent_turn_response_seconds_bucket", provider=provider)
    else:
        buckets = selector("ai_agent_component_latency_seconds_bucket", component=component, provider=provider)
    return {
        f"p{round(q * 100)}_seconds": f"histogram_quantile({q}, sum by (le) (increase({window.over(buckets)})))"
        for q in QUANTILES
    }


def health(component: str | None) -> dict[str, str]:
    return {
        "up": f"min by (provider, service) ({selector('ai_agent_provider_up', service=component)})",
        "errors_per_turn": selector("component:ai_agent_errors_per_turn:ratio_rate5m", component=component),
        "request_success_ratio": selector(
            "provider_service:ai_agent_provider_requests_success:ratio_rate5m", service=component
        ),
    }


# --- the stream --------------------------------------------------------------------------------------------

LIVE_CALLS = {
    "started": "ai_agent_call_started_timestamp_seconds",
    "ended": "ai_agent_call_ended",
    "score": "ai_agent_call_quality_score",
}

FLEET = {
    "active_calls": "sum by (tenant) (ai_agent_active_calls)",
    "calls_started_per_second": "sum by (tenant) (rate(ai_agent_calls_started_total[5m]))",
    "cost_usd_per_minute": "sum by (tenant) (tenant_provider:ai_agent_cost_usd_per_minute:rate5m)",
}
