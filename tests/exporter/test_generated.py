"""Generated artefacts are committed; these fail when they drift from the code (run `make generate`)."""

import pytest

from scripts import generate_reference as generate


@pytest.mark.parametrize("path", list(generate.ARTEFACTS), ids=lambda p: p.name)
def test_committed_artefact_matches_the_code(path):
    assert path.exists(), f"{path} is missing: run make generate"
    assert path.read_text() == generate.ARTEFACTS[path](), f"{path} drifted from the code: run make generate"


def test_metrics_reference_lists_every_catalogued_metric():
    from voice_monitoring.shared import catalogue

    text = generate.metrics_doc()
    for m in catalogue.METRICS:
        assert f"`{m.name}`" in text
