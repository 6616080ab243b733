"""The read API's PromQL: the caller's tenant is an equality matcher in every selector of a tenant's series, any
value only ever a string literal, and each range evaluated at its end."""

from __future__ import annotations

import json
import re

import pytest

from voice_monitoring.api import queries
from voice_monitoring.api.queries import Window, literal, selector

WINDOW = Window(end=1_800_000_000.25, seconds=3600)
HOSTILE = ['acme"} or vector(1) #', "a\\", 'x\\"y', "new\nline", "cr\rlf", "tab\there", "☎", ""]
# every selector (a metric name and its braces) in a query
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[^{}\"]|\"(?:[^\"\\]|\\.)*\")*)\}")


@pytest.mark.parametrize("value", HOSTILE)
def test_a_literal_reads_back_as_the_value_and_holds_no_bare_quote(value):
    text = literal(value)
    assert json.loads(text, strict=False) == value  # PromQL's double-quoted escapes are JSON's for these
    assert re.fullmatch(r'"(?:[^"\\\n\r]|\\.)*"', text)


def test_a_selector_matches_the_labels_given_a_value_and_appends_the_regex_matchers():
    assert selector("m", tenant="acme", call_id=None) == 'm{tenant="acme"}'
    assert selector("m", 'reason=~"a|b"', tenant=None) == 'm{reason=~"a|b"}'
    assert selector("m") == "m{}"


def test_a_range_is_evaluated_at_its_end_to_the_millisecond():
    assert WINDOW.over("m{}") == "m{}[3600s] @ 1800000000.250"


def tenant_queries(tenant: str | None) -> list[str]:
    return [
        *queries.calls(tenant, WINDOW).values(),
        *queries.cost(tenant, WINDOW).values(),
        queries.call_cost(tenant, "c-1"),
    ]


@pytest.mark.parametrize("tenant", HOSTILE[:3])
def test_every_selector_of_a_tenants_query_carries_the_tenant_as_a_literal(tenant):
    for query in tenant_queries(tenant):
        found = SELECTOR.findall(query)
        assert found, query
        for _, matchers in found:
            assert f"tenant={literal(tenant)}" in matchers, query


def test_without_a_tenant_no_selector_matches_one():
    assert all("tenant=" not in q for q in tenant_queries(None))


def test_failed_calls_are_the_failure_reasons_and_success_needs_ended_calls():
    success = queries.calls("acme", WINDOW)["success_rate"]
    assert f'reason=~"{"|".join(queries.FAILURE_REASONS)}"' in success
    assert "> 0)" in success  # no ended calls: no rate, rather than a division by zero


def test_latency_has_one_quantile_per_figure_over_the_component_or_the_whole_turn():
    turn = queries.latency(None, "deepgram", WINDOW)
    assert (
        list(turn)
        == [f"p{round(q * 100)}_seconds" for q in queries.QUANTILES]
        == ["p50_seconds", "p95_seconds", "p99_seconds"]
    )
    assert all("ai_agent_turn_response_seconds_bucket" in q and 'provider="deepgram"' in q for q in turn.values())
    stt = queries.latency("stt", None, WINDOW)["p95_seconds"]
    assert stt.startswith("histogram_quantile(0.95,") and 'component="stt"' in stt and "provider=" not in stt


def test_health_filters_by_service_only_when_asked():
    assert all('service="tts"' in q or 'component="tts"' in q for q in queries.health("tts").values())
    assert all("=" not in q.split("{", 1)[1] for q in queries.health(None).values())
