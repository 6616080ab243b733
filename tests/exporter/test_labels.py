"""LabelLimiter: each label keeps its first N values, later ones fold into ``other`` and every fold is reported."""

from types import SimpleNamespace

from voice_monitoring.exporter.labels import OTHER, UNKNOWN, LabelLimiter


def limiter(limit: int) -> tuple[LabelLimiter, list[str]]:
    folds: list[str] = []
    return LabelLimiter(limit, folds.append), folds


def test_the_first_values_of_a_label_pass_and_later_ones_fold_into_other():
    limit, folds = limiter(2)
    assert [limit("tenant", v) for v in ("a", "b", "c", "d")] == ["a", "b", OTHER, OTHER]
    assert folds == ["tenant", "tenant"]


def test_a_value_already_kept_passes_after_the_limit_is_reached_and_is_not_reported():
    limit, folds = limiter(2)
    limit("tenant", "a"), limit("tenant", "b"), limit("tenant", "c")
    assert [limit("tenant", "a"), limit("tenant", "b")] == ["a", "b"]
    assert folds == ["tenant"]


def test_a_folded_value_stays_folded_and_is_reported_each_time():
    limit, folds = limiter(1)
    limit("provider", "kept")
    assert [limit("provider", "late") for _ in range(3)] == [OTHER] * 3
    assert folds == ["provider"] * 3


def test_each_label_has_its_own_limit():
    limit, folds = limiter(1)
    assert limit("tenant", "a") == "a"
    assert limit("provider", "a") == "a"
    assert limit("provider", "b") == OTHER
    assert limit("tenant", "a") == "a"
    assert folds == ["provider"]


def test_a_limit_of_zero_folds_every_value():
    limit, folds = limiter(0)
    assert limit("tenant", "a") == OTHER
    assert folds == ["tenant"]


def test_an_event_label_is_folded_and_a_missing_one_inherited_from_the_call_or_unknown():
    limit, folds = limiter(1)
    call = SimpleNamespace(tenant="from-the-call")
    assert limit.of_event({"tenant": "acme"}, "tenant") == "acme"
    assert limit.of_event({"tenant": "globex"}, "tenant", call) == OTHER
    assert limit.of_event({}, "tenant", call) == "from-the-call"
    assert limit.of_event({"tenant": None}, "tenant") == UNKNOWN
    assert folds == ["tenant"]  # an inherited value is the call's, already folded when the call began
