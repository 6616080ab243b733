"""Scoring parameters: each class checks itself, and one typed overlay lays files over the defaults."""

import json
import re
from pathlib import Path

import pytest
import yaml

from voice_monitoring.scorer.model import GOOD, CallInputs, assess
from voice_monitoring.scorer.scoring_parameters import (
    DEFAULTS,
    Codec,
    Curve,
    EModel,
    Gates,
    ScoringParameters,
    ScoringParametersError,
    from_mapping,
    load,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "quality-score.md"


def test_no_file_is_the_defaults():
    assert load(None) == DEFAULTS
    assert DEFAULTS.penalties.turn_latency.maximum == 30.0
    assert (
        sum(
            getattr(DEFAULTS.penalties, f).maximum
            for f in (
                "turn_latency",
                "underflows",
                "fallbacks",
                "barge_in_reaction",
                "codec_alignment",
                "rms_consistency",
            )
        )
        == 100.0
    )


def test_a_yaml_file_changes_only_what_it_names(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "min_turns: 5\npenalties:\n  turn_latency: {start: 1.0, max: 40}\n"
        "gates: {good_p95_seconds: 2.5}\n"
        "emodel:\n  telr: 55\n  codecs:\n    amr: {ie: 5, bpl: 10, packet_seconds: 0.02}\n"
    )
    th = load(path)
    assert th.min_turns == 5
    assert th.penalties.turn_latency.start == 1.0 and th.penalties.turn_latency.maximum == 40.0
    assert th.penalties.turn_latency.full == DEFAULTS.penalties.turn_latency.full
    assert th.gates.good_p95_seconds == 2.5
    assert th.emodel.telr == 55.0 and th.emodel.codec("AMR").ie == 5.0
    assert assess(CallInputs(turns=4, turn_response_p95_seconds=0.4), th).insufficient_data
    a = assess(CallInputs(turns=5, turn_response_p95_seconds=0.4), th)
    assert a.score == 100.0


def test_a_json_file_works_too(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"gates": {"excellent_p95_seconds": 0.7}}))
    th = load(path)
    a = assess(CallInputs(turns=5, turn_response_p95_seconds=0.8), th)
    assert a.uncapped_score > 90 and a.score == 89.0 and a.band == GOOD  # the stricter gate caps the score


@pytest.mark.parametrize(
    "text",
    [
        "colour: blue\n",
        "penalties: {latency: {max: 3}}\n",
        "penalties: {turn_latency: {start: 4}}\n",
        "penalties: {turn_latency: {steepness: 4}}\n",
        "bands: {good: 95}\n",  # the bands are not a scoring parameter
        "gates: {good_p95_seconds: 0.5}\n",
        "gates: {excellent_p95_seconds: 5}\n",
        "min_turns: 0\n",
        "penalties: {fallbacks: {max: high}}\n",
        "emodel: {default_codec: nope}\n",
        "emodel: {codecs: {amr: {ie: 5}}}\n",
        "emodel: {codecs: {AMR: {ie: 5, bpl: 10, packet_seconds: 0.02}}}\n",
        "emodel: {stmr: 25}\n",
        "emodel: {telr: .nan}\n",
        "emodel: {codecs: {pcmu: {ie: 120}}}\n",
        "emodel: [1, 2]\n",
        "min_turns: 2.5\n",
        "min_turns: true\n",
        "min_agent_minutes: -1\n",
        "- a list\n",
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScoringParametersError):
        load(path)


def test_the_documented_defaults_are_the_defaults():
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S).group(1)
    data = yaml.safe_load(block)
    assert set(data["emodel"]["codecs"]) == {"amr"}  # the documented example of adding a codec
    del data["emodel"]["codecs"]
    assert from_mapping(data) == DEFAULTS
    table = DOC.read_text()
    for name in ("turn_latency", "underflows", "fallbacks", "barge_in_reaction", "codec_alignment", "rms_consistency"):
        c = getattr(DEFAULTS.penalties, name)
        assert re.search(rf"\| `{name}` \|[^|]*\| {c.start:g} \| {c.full:g} \| {c.maximum:g} \|", table), name


@pytest.mark.parametrize(
    "make",
    [
        lambda: Curve(1.0, 0.5, 3.0),
        lambda: Curve(0.0, 1.0, -1.0),
        lambda: Curve(0.0, float("inf"), 1.0),
        lambda: Gates(excellent_p95_seconds=2.5),
        lambda: Gates(excellent_max_underflows=-1),
        lambda: Codec(ie=100, bpl=10, packet_seconds=0.02),
        lambda: Codec(ie=0, bpl=0, packet_seconds=0.02),
        lambda: EModel(default_codec="nope"),
        lambda: EModel(advantage=30),
        lambda: ScoringParameters(min_turns=0),
    ],
)
def test_each_class_refuses_inconsistent_values_when_built(make):
    with pytest.raises(ScoringParametersError):
        make()


def test_an_error_names_where_it_is():
    with pytest.raises(ScoringParametersError, match=r"penalties\.turn_latency: a curve's full"):
        from_mapping({"penalties": {"turn_latency": {"start": 4}}})
    with pytest.raises(ScoringParametersError, match=r"penalties\.fallbacks\.max must be a finite number"):
        from_mapping({"penalties": {"fallbacks": {"max": "high"}}})
    with pytest.raises(ScoringParametersError, match=r"emodel\.codecs\.amr needs bpl, packet_seconds"):
        from_mapping({"emodel": {"codecs": {"amr": {"ie": 5}}}})
    with pytest.raises(ScoringParametersError, match="shared/quality_bands.py"):
        from_mapping({"bands": {"good": 70}})


def test_the_parameters_cannot_be_changed_in_place():
    with pytest.raises(TypeError):
        DEFAULTS.emodel.codecs["amr"] = Codec(5, 10, 0.02)
    extended = from_mapping({"emodel": {"codecs": {"amr": {"ie": 5, "bpl": 10, "packet_seconds": 0.02}}}})
    assert "amr" in extended.emodel.codecs and "amr" not in DEFAULTS.emodel.codecs
    assert hash(DEFAULTS.emodel) == hash(EModel())
