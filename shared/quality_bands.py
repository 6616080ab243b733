"""The call quality bands: their names, levels, colours and score edges, the one place they are written.

The scorer bands and caps scores with them, the dashboards colour scores and name
``ai_agent_call_quality_band`` values with them, ``prometheus/generate.py`` puts the
Good edge into ``CallQualityDegraded``, and a test holds ``docs/quality-score.md`` to them.
Change a band here, then run ``make generate``.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_SCORE = 100.0
# The p95 turn latency a call must stay under to be Good whatever its penalties: the scorer's default gate, and
# the exporter's condition for exposing the series of a call outside the per-call sample.
GOOD_GATE_P95_SECONDS = 2.0


@dataclass(frozen=True)
class Band:
    level: int  # the value of ai_agent_call_quality_band
    name: str
    colour: str  # a Grafana colour name


POOR = Band(0, "Poor", "red")
FAIR = Band(1, "Fair", "orange")
GOOD = Band(2, "Good", "yellow")
EXCELLENT = Band(3, "Excellent", "green")
ALL = (POOR, FAIR, GOOD, EXCELLENT)  # indexed by level
LEVELS = tuple(band.level for band in ALL)


@dataclass(frozen=True)
class Bands:
    """The lowest score of each band; below ``fair`` is Poor."""

    excellent: float = 90
    good: float = 75
    fair: float = 60

    def __post_init__(self) -> None:
        # Each band at least one point wide, so that its top score (below) lies inside it.
        if not MAX_SCORE >= self.excellent >= self.good + 1 >= self.fair + 2 >= 3:
            raise ValueError(
                f"bands must satisfy {MAX_SCORE:g} >= excellent > good > fair > 0, each band at least one point wide, "
                f"not excellent={self.excellent:g}, good={self.good:g}, fair={self.fair:g}"
            )

    def lowest(self, band: Band) -> float:
        """The lowest score in ``band``."""
        return (0, self.fair, self.good, self.excellent)[band.level]

    def highest(self, band: Band) -> float:
        """The supremum of ``band``'s scores: the next band's lowest score (excluded), or 100 (included)."""
        return MAX_SCORE if band is EXCELLENT else self.lowest(ALL[band.level + 1])

    def top(self, band: Band) -> float:
        """The highest score a call in ``band`` is given: 100 for Excellent, else one point below the next band.

        These are the upper ends of the ranges as the specification writes them (Good 75-89, Fair 60-74, ...).
        """
        return MAX_SCORE if band is EXCELLENT else float(self.highest(band) - 1)

    def of(self, score: float) -> Band:
        """The band a score falls in."""
        for band in reversed(ALL):
            if score >= self.lowest(band):
                return band
        return POOR

    def describe(self) -> str:
        """The bands in one line, as panel descriptions say them."""
        return ", ".join(
            f"{b.name} below {self.fair:g}" if b is POOR else f"{b.name} from {self.lowest(b):g}" for b in ALL
        )


QUALITY_BANDS = Bands()
