"""What a call played by a framework adapter must leave in Prometheus, and the scorer's verdict on it."""

from __future__ import annotations

from tests.harness import query, wait_for
from tests.scorer.scoring_stack import Stack


def value(stack: Stack, expr: str) -> float:
    result = query(stack.prometheus.url, expr)
    return sum(float(r["value"][1]) for r in result)


def settled(stack: Stack, expr: str, expected: float, timeout: float = 30.0) -> None:
    """Wait until ``expr`` (summed over its series) reaches ``expected`` in Prometheus."""

    def reached():
        return abs(value(stack, expr) - expected) <= 1e-6 * max(1.0, abs(expected))

    wait_for(reached, timeout, interval=0.5, what=f"{expr} to reach {expected} (it is {value(stack, expr)})")


def scored(stack: Stack, call_id: str, timeout: float = 60.0) -> dict:
    """The scorer's answer for the call once it has seen the call end with a score."""

    def final():
        answer = stack.call(call_id)
        return answer if answer and answer["ended"] and answer["score"] is not None else None

    return wait_for(final, timeout, interval=0.5, what=f"a final score of {call_id}")
