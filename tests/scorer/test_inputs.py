"""The scorer's read of every call's inputs: each query's PromQL, and the answers folded into one sample per call,
where an absent series reads as its default."""

from __future__ import annotations

import math
import re

from voice_monitoring.scorer import inputs
from voice_monitoring.scorer.emodel import Transport
from voice_monitoring.scorer.inputs import CallSample, Query, merge
from voice_monitoring.scorer.model import CallInputs


def series(name: str, call_id: str | None, value: float, **labels: str):
    found = {"__name__": name, **labels}
    if call_id is not None:
        found["call_id"] = call_id
    return found, value


def test_one_name_is_matched_exactly_and_several_by_one_regex():
    assert Query(("a",)).expr(None) == 'max by (__name__, call_id) ({__name__="a"})'
    assert Query(("a", "b")).expr(None) == 'max by (__name__, call_id) ({__name__=~"a|b"})'


def test_the_job_the_call_the_filter_and_the_kept_labels_shape_the_query():
    query = Query(("a", "b"), "> 0", labels=("provider", "tenant"))
    assert query.expr("voice_exporter", "c-1") == (
        'max by (__name__, call_id, provider, tenant) ({__name__=~"a|b", job="voice_exporter", call_id="c-1"} > 0)'
    )


def test_every_input_name_is_read_by_exactly_one_query_and_one_query_keeps_provider_and_tenant():
    reader = inputs.InputReader(client=None, job=None)
    try:
        read = [n for q in reader.queries for n in re.search(r'__name__=~?"([^"]+)"', q).group(1).split("|")]
        assert sorted(read) == sorted(inputs.INPUT_NAMES) and len(read) == len(set(read))
        assert sum("provider" in q for q in reader.queries) == 1
    finally:
        reader.close()


def test_answers_fold_into_one_sample_per_call_with_its_provider_tenant_and_codec():
    calls = merge(
        [
            [series(inputs.TURNS, "c-1", 4, provider="deepgram", tenant="acme"), series(inputs.TURNS, "c-2", 1)],
            [series(inputs.ENDED, "c-1", 1), series(inputs.RTT, "c-1", 0.12)],
            [series(inputs.CODEC_INFO, "c-1", 1, codec="opus")],
        ]
    )
    assert set(calls) == {"c-1", "c-2"}
    one = calls["c-1"]
    assert (one.provider, one.tenant, one.codec) == ("deepgram", "acme", "opus")
    assert one.values == {inputs.TURNS: 4, inputs.ENDED: 1, inputs.RTT: 0.12}
    assert (calls["c-2"].provider, calls["c-2"].codec) == ("", None)


def test_a_call_without_its_turn_count_was_scraped_between_the_queries_and_is_left_out():
    calls = merge([[series(inputs.TURNS, "c-1", 2)], [series(inputs.ENDED, "c-2", 1), series(inputs.RTT, "c-1", 0.1)]])
    assert set(calls) == {"c-1"}


def test_samples_without_a_call_a_name_or_a_finite_value_are_skipped():
    calls = merge(
        [
            [
                series(inputs.TURNS, "c-1", 2),
                series(inputs.TURNS, None, 9),
                series(inputs.TURNS, "", 9),
                ({"call_id": "c-1"}, 3.0),
                series(inputs.RTT, "c-1", math.nan),
                series(inputs.ENDED, "c-1", math.inf),
            ]
        ]
    )
    assert list(calls) == ["c-1"] and calls["c-1"].values == {inputs.TURNS: 2}


def test_absent_series_read_as_their_defaults():
    sample = CallSample("c-1", "p", "t", {inputs.TURNS: 3.0})
    assert sample.inputs() == CallInputs(turns=3)
    assert sample.transport() == Transport()
    assert not sample.ended and not sample.promoted and sample.cost_usd is None


def test_the_call_ends_is_promoted_and_has_a_barge_in_from_the_series_it_carries():
    values = {inputs.TURNS: 3.0, inputs.ENDED: 1.0, inputs.PROMOTED: 1.0, inputs.BARGE_IN_P95: 0.4}
    values[inputs.RUNNING_COST] = 0.25
    sample = CallSample("c-1", "p", "t", values, codec="pcmu")
    assert sample.ended and sample.promoted and sample.cost_usd == 0.25
    assert (sample.inputs().barge_ins, sample.inputs().barge_in_p95_seconds) == (1.0, 0.4)
    assert sample.transport().codec == "pcmu"
    assert not CallSample("c-1", "p", "t", {inputs.ENDED: 0.5}).ended
