"""The quality bands as the dashboards draw them, from shared/quality_bands.py: a band has one colour everywhere."""

from __future__ import annotations

from grafana.builder.panels import steps, value_text
from voice_monitoring.shared import quality_bands
from voice_monitoring.shared.quality_bands import QUALITY_BANDS

# Scores coloured by the band they fall in.
SCORE_BANDS = steps(quality_bands.POOR.colour, *((QUALITY_BANDS.lowest(b), b.colour) for b in quality_bands.ALL[1:]))
# ai_agent_call_quality_band values coloured and named as their band.
BAND_COLOURS = steps(quality_bands.POOR.colour, *((b.level, b.colour) for b in quality_bands.ALL[1:]))
BAND_NAMES = value_text({b.level: (b.name, b.colour) for b in quality_bands.ALL})


def band_label(band_expr: str) -> str:
    """The band of each series of ``band_expr`` as a ``band`` label, so a table shows its name."""
    return " or ".join(
        f'label_replace({band_expr} == {b.level}, "band", "{b.name}", "", "")' for b in quality_bands.ALL
    )
