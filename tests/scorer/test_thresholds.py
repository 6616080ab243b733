"""Loading threshold files over the defaults."""

import json
import re
from pathlib import Path

import pytest
import yaml

from voice_monitoring.scorer.model import GOOD, CallInputs, assess
from voice_monitoring.scorer.thresholds import DEFAULTS, ThresholdsError, from_mapping, load

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
        "emodel:\n  is: 1.5\n  codecs:\n    amr: {ie: 5, bpl: 10, packet_seconds: 0.02}\n"
    )
    th = load(path)
    assert th.min_turns == 5
    assert th.penalties.turn_latency.start == 1.0 and th.penalties.turn_latency.maximum == 40.0
    assert th.penalties.turn_latency.full == DEFAULTS.penalties.turn_latency.full
    assert th.gates.good_p95_seconds == 2.5
    assert th.emodel.is_ == 1.5 and th.emodel.codec("AMR").ie == 5.0
    assert assess(CallInputs(turns=4, turn_p95_seconds=0.4), th).insufficient_data
    a = assess(CallInputs(turns=5, turn_p95_seconds=0.4), th)
    assert a.score == 100.0


def test_a_json_file_works_too(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"gates": {"excellent_p95_seconds": 0.7}}))
    th = load(path)
    a = assess(CallInputs(turns=5, turn_p95_seconds=0.8), th)
    assert a.score > 90 and a.band == GOOD


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
        "- a list\n",
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ThresholdsError):
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
