"""The quality bands exist once: the scorer, the dashboards, the alert and the docs all agree with the source."""

import json
import re
from pathlib import Path

import pytest

from voice_monitoring.scorer.model import BAND_NAMES, score_band
from voice_monitoring.shared import catalogue, quality_bands
from voice_monitoring.shared.quality_bands import QUALITY_BANDS, Bands

ROOT = Path(__file__).resolve().parents[2]
SCORE_METRICS = ("ai_agent_call_quality_score", "ai_agent_call_quality_final_score")


def score_range(band: quality_bands.Band) -> str:
    """How the documents write a band's scores: "90–100", "75–89", "below 60"."""
    if band is quality_bands.POOR:
        return f"below {QUALITY_BANDS.fair:g}"
    top = QUALITY_BANDS.highest(band) - (0 if band is quality_bands.EXCELLENT else 1)
    return f"{QUALITY_BANDS.lowest(band):g}–{top:g}"


def band_rows(markdown: str) -> dict[str, list[str]]:
    """{band name: cells} of the markdown table rows that start with a band name."""
    names = {b.name for b in quality_bands.ALL}
    rows = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] in names:
            rows[cells[0]] = cells
    return rows


@pytest.mark.parametrize("doc", ["docs/quality-score.md", "docs/Monitoring-Guide.md"])
def test_band_tables_in_the_docs_match_the_source(doc):
    rows = band_rows((ROOT / doc).read_text())
    assert set(rows) == {b.name for b in quality_bands.ALL}, f"{doc} has no complete band table"
    for band in quality_bands.ALL:
        assert score_range(band) in rows[band.name], f"{doc}: {band.name} should read {score_range(band)}"


def test_level_column_of_the_score_doc_matches_the_source():
    rows = band_rows((ROOT / "docs/quality-score.md").read_text())
    for band in quality_bands.ALL:
        assert f"{band.level}" in rows[band.name][1]


def test_the_alert_fires_below_the_good_band():
    rule = (ROOT / "prometheus/rules/quality.yml").read_text()
    assert re.search(rf":mean_rate30m < {QUALITY_BANDS.good:g}\s", rule), rule


def test_the_scorer_bands_scores_with_the_source():
    for band in quality_bands.ALL:
        assert score_band(QUALITY_BANDS.lowest(band)) == band.level
        assert BAND_NAMES[band.level] == band.name.lower()
    assert score_band(QUALITY_BANDS.fair - 0.001) == quality_bands.POOR.level
    assert score_band(QUALITY_BANDS.excellent - 0.001) == quality_bands.GOOD.level


def test_band_edges_are_buckets_of_the_final_score_histogram():
    buckets = catalogue.metric("ai_agent_call_quality_final_score").buckets
    for band in quality_bands.ALL[1:]:
        assert QUALITY_BANDS.lowest(band) in buckets


def test_band_help_text_names_every_level():
    help_text = catalogue.metric("ai_agent_call_quality_band").help
    for band in quality_bands.ALL:
        assert f"{band.level} {band.name}" in help_text


def _panels(panels):
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def test_dashboards_colour_scores_and_name_bands_from_the_source():
    edges = [None] + [QUALITY_BANDS.lowest(b) for b in quality_bands.ALL[1:]]
    colours = [b.colour for b in quality_bands.ALL]
    score_panels = band_panels = 0
    for path in sorted((ROOT / "grafana/dashboards").glob("*.json")):
        for panel in _panels(json.loads(path.read_text()).get("panels", [])):
            exprs = " ".join(t.get("expr", "") for t in panel.get("targets", []))
            defaults = panel.get("fieldConfig", {}).get("defaults", {})
            steps = defaults.get("thresholds", {}).get("steps")
            reads_score = any(re.search(rf"\b{m}(_sum|_count|_bucket)?\b|:{m}:", exprs) for m in SCORE_METRICS)
            if steps and reads_score and len(steps) > 1:
                score_panels += 1
                assert [s["value"] for s in steps] == edges, f"{path.name}: {panel['title']}"
                assert [s["color"] for s in steps] == colours, f"{path.name}: {panel['title']}"
            for mapping in defaults.get("mappings", []):
                options = mapping.get("options", {})
                if any(o.get("text") in BAND_NAMES or o.get("text") == "Excellent" for o in options.values()):
                    band_panels += 1
                    for band in quality_bands.ALL:
                        assert options[str(band.level)]["text"] == band.name, f"{path.name}: {panel['title']}"
                        assert options[str(band.level)]["color"] == band.colour
    assert score_panels and band_panels, "no dashboard colours scores or names bands"


@pytest.mark.parametrize(
    "changes", [{"fair": 95}, {"excellent": 101}, {"good": 50, "fair": 50}, {"fair": 0}, {"excellent": 70}]
)
def test_inconsistent_bands_are_refused(changes):
    with pytest.raises(ValueError, match="bands must satisfy"):
        Bands(**changes)


def test_highest_of_a_band_is_the_next_bands_lowest():
    assert QUALITY_BANDS.highest(quality_bands.POOR) == QUALITY_BANDS.fair
    assert QUALITY_BANDS.highest(quality_bands.GOOD) == QUALITY_BANDS.excellent
    assert QUALITY_BANDS.highest(quality_bands.EXCELLENT) == quality_bands.MAX_SCORE
