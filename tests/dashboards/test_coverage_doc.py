"""docs/integrations/coverage.md is what the coverage source generates (run `make generate`)."""

from grafana.builder import coverage
from grafana.builder.coverage_doc import DOC_PATH, measured, render


def test_committed_coverage_doc_matches_the_source():
    assert DOC_PATH.exists(), f"{DOC_PATH} is missing: run make generate"
    assert DOC_PATH.read_text() == render(), f"{DOC_PATH} drifted from grafana/builder/coverage.py: run make generate"


def test_the_webhook_and_engine_runs_assert_their_coverage():
    """The runs this change measures; the framework adapters' runs are their own tests'."""
    for key in ("simulator", "vapi", "retell", "asterisk_ai_voice_agent"):
        assert measured(coverage.BY_KEY[key]), key
