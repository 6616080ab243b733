"""FleetMetrics: one holder per series, a bounded number of series per fleet metric with the excess folded into
``other`` and counted, and an exposition no larger than ``ceiling`` says."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from voice_monitoring.exporter.fleet import DEFAULT_SERIES_BUDGET, FleetMetrics, HistogramValue, ceiling
from voice_monitoring.exporter.labels import OTHER
from voice_monitoring.shared import catalogue

ACTIVE = "ai_agent_active_calls"  # a gauge by tenant and provider
TURNS = "ai_agent_turn_response_seconds"  # a histogram by pipeline and provider
ACCEPTED = "ai_agent_exporter_events_accepted_total"  # a self-metric, labelled from a closed set
OVERFLOW = "ai_agent_exporter_series_overflow_total"
FLEET_SCOPED = [m for m in catalogue.published_by(catalogue.EXPORTER) if m.scope == catalogue.FLEET]


def exposed(fleet: FleetMetrics) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(fleet.render())
        for s in family.samples
    }


def test_a_series_is_one_holder_whatever_the_number_of_lookups():
    fleet = FleetMetrics()
    fleet.child(ACTIVE, "acme", "deepgram").inc()
    fleet.child(ACTIVE, "acme", "deepgram").inc(2)
    fleet.child(ACTIVE, "acme", "deepgram").dec()
    assert fleet.child(ACTIVE, "acme", "deepgram") is fleet.child(ACTIVE, "acme", "deepgram")
    assert exposed(fleet)[(ACTIVE, (("provider", "deepgram"), ("tenant", "acme")))] == 2


def test_a_gauge_is_set_and_goes_below_zero_as_told():
    fleet = FleetMetrics()
    gauge = fleet.child(ACTIVE, "acme", "deepgram")
    gauge.set(5)
    gauge.dec(7)
    assert gauge.value == -2


def test_the_wrong_number_of_labels_is_refused_with_the_metrics_labels():
    fleet = FleetMetrics()
    with pytest.raises(ValueError, match=r"ai_agent_active_calls takes labels \('tenant', 'provider'\)"):
        fleet.child(ACTIVE, "acme")


def test_unlabelled_metrics_are_exposed_at_zero_from_the_start_and_labelled_ones_not_at_all():
    with_samples = {f.name for f in text_string_to_metric_families(FleetMetrics().render()) if f.samples}
    for m in catalogue.published_by(catalogue.EXPORTER):
        if m.scope != catalogue.PER_CALL:
            assert (m.name.removesuffix("_total") in with_samples) == (not m.labels), m.name


def test_beyond_its_budget_a_metric_folds_new_series_into_other_and_counts_each_update():
    fleet = FleetMetrics(series_budget=2)
    for tenant in ("a", "b", "c", "d"):
        fleet.child(ACTIVE, tenant, "p").inc()
    fleet.child(ACTIVE, "d", "p").inc()
    samples = exposed(fleet)
    by_tenant = {dict(labels)["tenant"]: v for (name, labels), v in samples.items() if name == ACTIVE}
    assert by_tenant == {"a": 1, "b": 1, OTHER: 3}
    assert samples[(OVERFLOW, (("metric", ACTIVE),))] == 3  # every update past the budget, not every new series


def test_series_within_the_budget_keep_their_labels_once_it_is_full():
    fleet = FleetMetrics(series_budget=1)
    fleet.child(ACTIVE, "a", "p").inc()
    fleet.child(ACTIVE, "b", "p").inc()
    assert fleet.labels_for(ACTIVE, ("a", "p")) == ("a", "p")
    assert fleet.labels_for(ACTIVE, ("z", "p")) == (OTHER, OTHER)


def test_self_metrics_are_not_budgeted():
    fleet = FleetMetrics(series_budget=1)
    for kind in ("turn", "state", "usage"):
        fleet.child(ACCEPTED, kind).inc()
    kinds = {dict(labels)["type"] for (name, labels) in exposed(fleet) if name == ACCEPTED}
    assert kinds == {"turn", "state", "usage"}
    assert (OVERFLOW, (("metric", ACCEPTED),)) not in exposed(fleet)


def test_a_removed_series_leaves_the_exposition_and_frees_its_place_in_the_budget():
    fleet = FleetMetrics(series_budget=1)
    fleet.child(ACTIVE, "a", "p").inc()
    fleet.remove(ACTIVE, "a", "p")
    fleet.remove(ACTIVE, "never", "there")
    assert not any(name == ACTIVE for name, _ in exposed(fleet))
    assert fleet.child(ACTIVE, "b", "p") is fleet.child(ACTIVE, "b", "p")
    assert fleet.labels_for(ACTIVE, ("b", "p")) == ("b", "p")


def test_a_histogram_counts_a_value_on_a_bound_in_that_bounds_bucket_and_above_the_last_in_inf():
    h = HistogramValue((0.1, 1.0))
    for v in (0.1, 0.5, 1.0, 7.0, 0.0):
        h.observe(v)
    assert list(h.counts) == [2.0, 2.0, 1.0]
    assert (h.sum, h.count) == (pytest.approx(8.6), 5.0)


def test_a_histograms_series_renders_cumulative_buckets_sum_and_count():
    fleet = FleetMetrics()
    fleet.child(TURNS, "cascade", "deepgram").observe(0.5)
    samples = exposed(fleet)
    labels = (("pipeline", "cascade"), ("provider", "deepgram"))
    buckets = [
        v for (name, ls), v in samples.items() if name == TURNS + "_bucket" and dict(ls)["pipeline"] == "cascade"
    ]
    assert buckets == sorted(buckets) and buckets[-1] == 1
    assert samples[(TURNS + "_count", labels)] == 1 and samples[(TURNS + "_sum", labels)] == 0.5


@pytest.mark.parametrize("budget", [1, 3])
def test_the_ceiling_is_what_every_fleet_metric_exposes_when_driven_past_its_budget(budget):
    fleet = FleetMetrics(series_budget=budget)
    for m in FLEET_SCOPED:
        for i in range(budget + 4):
            child = fleet.child(m.name, *(f"v{i}" for _ in m.labels))
            if m.type == "histogram":
                child.observe(1.0)
            else:
                child.inc()
    fleet_names = {m.name for m in FLEET_SCOPED}
    families = [
        f
        for f in text_string_to_metric_families(fleet.render())
        if f.name in fleet_names or f.name + "_total" in fleet_names
    ]
    series = {
        (f.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))) for f in families for s in f.samples
    }
    assert ceiling(budget) == (len(families), len(series), sum(len(f.samples) for f in families))


def test_the_default_ceiling_grows_with_the_budget():
    metrics, series, samples = ceiling()
    assert ceiling(DEFAULT_SERIES_BUDGET + 1)[1] - series == sum(1 for m in FLEET_SCOPED if m.labels)
    assert metrics == len(FLEET_SCOPED) and samples > series


def test_a_family_indexed_by_labels_is_the_same_series_folded_counted_and_removed_as_child_s():
    fleet = FleetMetrics(series_budget=2)
    active = fleet.gauges(ACTIVE)
    active["a", "p"].inc()
    assert active["a", "p"] is fleet.child(ACTIVE, "a", "p")
    fleet.child(ACTIVE, "b", "p").inc()
    active["c", "p"].inc()  # over budget: folded into other, counted
    active["c", "p"].inc()
    assert ("c", "p") not in active and active[OTHER, OTHER].value == 2
    assert exposed(fleet)[(OVERFLOW, (("metric", ACTIVE),))] == 2
    fleet.remove(ACTIVE, "a", "p")
    assert ("a", "p") not in active and not any(dict(labels).get("tenant") == "a" for _, labels in exposed(fleet))
    with pytest.raises(ValueError, match="takes labels"):
        active[("only-one",)]
