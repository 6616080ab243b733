"""The feedback event: accepted within its window after the call's end, once per call and source, refused for
calls the exporter never saw, published under the call's own labels for the scorer to read."""

from tests.exporter.call_events import ended, started
from tests.exporter.clocked_exporter import Clock, make
from tests.exporter.exposition_samples import samples, value

RATING = "ai_agent_call_feedback_rating"


def feedback(clock, call_id="c-1", rating=2, source="survey", scale="stars", **extra) -> dict:
    attrs = {"scale": scale, "rating": rating, "source": source}
    return {"type": "feedback", "ts": clock.now, "call_id": call_id, "attrs": attrs, **extra}


def rejected(exporter, reason: str) -> float:
    return value(exporter, "ai_agent_exporter_events_rejected_total", type="feedback", reason=reason) or 0.0


def ratings(exporter) -> dict:
    return {labels: v for (name, labels), v in samples(exporter).items() if name == RATING}


def test_a_rating_after_the_end_is_published_under_the_calls_labels_then_withdrawn():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock), ended(clock)])
    clock.now += 30
    # The envelope's provider is not the call's: the rating lands where the call's score does.
    assert exporter.ingest([feedback(clock, provider="elsewhere", tenant="other")])[:2] == (1, 0)
    key = (("call_id", "c-1"), ("provider", "deepgram"), ("scale", "stars"), ("source", "survey"), ("tenant", "acme"))
    assert ratings(exporter) == {key: 2.0}
    labels = {"tenant": "acme", "provider": "deepgram", "source": "survey", "negative": "true"}
    assert value(exporter, "ai_agent_feedback_total", **labels) == 1
    clock.now += exporter.limits.feedback_series_seconds + 1
    exporter.sweep()
    assert ratings(exporter) == {}
    assert value(exporter, "ai_agent_feedback_total", **labels) == 1


def test_a_rating_is_accepted_after_the_calls_series_are_gone_until_the_window_closes():
    clock = Clock()
    exporter = make(clock, grace_seconds=60, feedback_window_seconds=600)
    exporter.ingest([started(clock, "early"), ended(clock, "early"), started(clock, "late"), ended(clock, "late")])
    clock.now += 120
    exporter.sweep()
    assert exporter.live_calls == 0  # both calls' series are gone
    assert exporter.ingest([feedback(clock, "early", rating=5)])[:2] == (1, 0)
    clock.now += 481
    exporter.sweep()
    accepted, _, refused = exporter.ingest([feedback(clock, "late")])
    assert accepted == 0 and "feedback is accepted for that long" in refused[0]["error"]
    assert rejected(exporter, "feedback_too_late") == 1
    # Past the guard that remembers removed calls, the call is simply unknown.
    clock.now += exporter.limits.retry_window_seconds
    exporter.sweep()
    exporter.ingest([feedback(clock, "late", source="app", scale="thumbs", rating=0)])
    assert rejected(exporter, "unknown_call") == 1


def test_a_live_call_can_be_rated_and_its_rating_still_counts_once_per_source_after_the_end():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock), feedback(clock, source="dtmf", scale="csat", rating=4)])
    exporter.ingest([ended(clock), feedback(clock, source="dtmf", scale="csat", rating=1)])
    assert rejected(exporter, "duplicate_feedback") == 1
    assert exporter.ingest([feedback(clock, source="survey", rating=1)])[:2] == (1, 0)
    assert sorted(dict(k)["source"] for k in ratings(exporter)) == ["dtmf", "survey"]


def test_a_call_nobody_rated_holds_no_list_of_sources_and_the_first_rating_after_the_end_still_counts_once():
    clock = Clock()
    exporter = make(clock, grace_seconds=60, feedback_window_seconds=600)
    exporter.ingest([started(clock, "rated"), ended(clock, "rated"), started(clock, "quiet"), ended(clock, "quiet")])
    assert exporter.registry.calls["quiet"].feedback_sources is None  # one list less for each of 100,000s of calls
    assert exporter.ingest([feedback(clock, "rated")])[:2] == (1, 0)  # in its grace period: the call is held
    assert exporter.registry.calls["rated"].feedback_sources == ["survey"]
    clock.now += 61
    exporter.sweep()
    assert exporter.live_calls == 0  # the series are gone; the window of each call is open
    accepted, _, refused = exporter.ingest([feedback(clock, "rated", rating=5)])
    assert accepted == 0 and "already has feedback from survey" in refused[0]["error"]
    assert exporter.ingest([feedback(clock, "quiet", rating=5), feedback(clock, "quiet", rating=1)])[:2] == (1, 0)
    assert rejected(exporter, "duplicate_feedback") == 2


def test_duplicates_by_id_and_by_source_count_once():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock), ended(clock)])
    first = feedback(clock, id="f-1")
    assert exporter.ingest([first, first])[:2] == (1, 1)  # a retry of the same event
    accepted, duplicates, refused = exporter.ingest([feedback(clock, rating=5, id="f-2")])
    assert (accepted, duplicates) == (0, 0) and "already has feedback from survey" in refused[0]["error"]
    assert list(ratings(exporter).values()) == [2.0]  # the first rating stands
    assert (
        value(exporter, "ai_agent_feedback_total", tenant="acme", provider="deepgram", source="survey", negative="true")
        == 1
    )


def test_feedback_for_a_call_never_seen_is_refused_and_creates_nothing():
    clock = Clock()
    exporter = make(clock)
    accepted, _, refused = exporter.ingest([feedback(clock, "never")])
    assert accepted == 0 and "is unknown" in refused[0]["error"]
    assert rejected(exporter, "unknown_call") == 1
    assert exporter.live_calls == 0 and ratings(exporter) == {}
    assert (
        value(exporter, "ai_agent_calls_adopted_total", tenant="unknown", provider="unknown", pipeline="unknown")
        is None
    )


def test_a_rating_outside_its_scale_is_refused():
    clock = Clock()
    exporter = make(clock)
    exporter.ingest([started(clock), ended(clock)])
    for scale, rating in (("stars", 0), ("thumbs", 2), ("nps", 11), ("sentiment", 3)):
        refused = exporter.ingest([feedback(clock, scale=scale, rating=rating)])[2]
        assert "must be" in refused[0]["error"], (scale, rating)
    assert rejected(exporter, "invalid_field") == 4
    assert exporter.ingest([feedback(clock, scale="nps", rating=10)])[:2] == (1, 0)


def test_the_ledger_of_ended_calls_is_bounded_and_forgetting_is_counted():
    clock = Clock()
    exporter = make(clock, grace_seconds=0, feedback_max_calls=3)
    for i in range(5):
        exporter.ingest([started(clock, f"c-{i}"), ended(clock, f"c-{i}")])
    exporter.sweep()
    assert len(exporter.registry.feedback) == 3
    assert value(exporter, "ai_agent_exporter_feedback_calls_forgotten_total") == 2
    assert rejected(exporter, "feedback_too_late") == 0
    exporter.ingest([feedback(clock, "c-0")])  # forgotten early: its series are gone, so it counts as too late
    assert rejected(exporter, "feedback_too_late") == 1
    assert exporter.ingest([feedback(clock, "c-4")])[:2] == (1, 0)


def test_across_a_restart_a_call_in_its_grace_period_keeps_its_ratings_and_a_removed_one_is_too_late(tmp_path):
    from voice_monitoring.exporter import state_file

    clock = Clock()
    before = make(clock, grace_seconds=60)
    before.ingest([started(clock, "gone"), ended(clock, "gone")])
    clock.now += 61
    before.sweep()
    before.ingest([started(clock, "kept"), ended(clock, "kept"), feedback(clock, "kept")])
    state_file.save(before, tmp_path / "state.sqlite")
    after = make(clock, grace_seconds=60)
    state_file.restore(after, tmp_path / "state.sqlite")
    refused = after.ingest([feedback(clock, "kept", rating=5), feedback(clock, "gone")])[2]
    assert "already has feedback from survey" in refused[0]["error"]
    assert "feedback is accepted for that long" in refused[1]["error"]
    assert after.ingest([feedback(clock, "kept", source="app", scale="thumbs", rating=1)])[:2] == (1, 0)
