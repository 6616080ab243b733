"""``python -m voice_monitoring.scorer.replay``: score the calls Prometheus recorded again, with the current scoring
parameters and with a candidate file, and compare how well each agrees with the feedback recorded for them.

Every ended call's per-call inputs are read as their last values over ``--since`` (``last_over_time``), and so are
the feedback ratings; each parameter set scores every call, and the calibration figures (ROC AUC against negative
feedback, mean rating by band, the number of rated calls) are computed per provider as the scorer does.  A change
to the scoring parameters should raise the AUC, or at least not lower it, before it is rolled out.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from voice_monitoring.scorer.calibration import Figures, Pair, Rating, figures
from voice_monitoring.scorer.inputs import FEEDBACK, QUERIES, CallSample, Query, merge
from voice_monitoring.scorer.model import BAND_NAMES, assess
from voice_monitoring.scorer.promql import PrometheusClient, QueryError
from voice_monitoring.scorer.scoring_parameters import ScoringParameters, ScoringParametersError, load
from voice_monitoring.shared import quality_bands
from voice_monitoring.shared.feedback import SCALES

BANDS = tuple(band.level for band in quality_bands.ALL)


def recorded(query: Query, job: str | None, since: str) -> str:
    """``query`` over the last values of its series within ``since``: the final values of calls that ended."""
    matchers = f'__name__=~"{"|".join(query.names)}"' + (f', job="{job}"' if job else "")
    selector = f"last_over_time({{{matchers}}}[{since}])"
    if query.filter:
        selector = f"{selector} {query.filter}"
    return f"max by ({', '.join(('__name__', 'call_id') + query.labels)}) ({selector})"


@dataclass
class Recorded:
    calls: dict[str, CallSample]  # ended calls, outside-the-sample promoted ones left out
    ratings: list[Rating]


def read(client: PrometheusClient, job: str | None, since: str) -> Recorded:
    calls = merge([client.instant(recorded(q, job, since)) for q in QUERIES])
    ratings: list[Rating] = []
    for labels, value in client.instant(recorded(FEEDBACK, job, since)):
        if labels.get("call_id") and labels.get("scale") in SCALES and labels.get("source"):
            ratings.append((labels["call_id"], labels["source"], labels["scale"], value))
    ended = {call_id: s for call_id, s in calls.items() if s.ended and not s.promoted}
    return Recorded(ended, ratings)


def calibrate(
    data: Recorded, params: ScoringParameters, min_samples: int, sources: set[str] | None = None
) -> dict[str, Figures]:
    """Each provider's calibration figures with every recorded call scored by ``params``."""
    scores = {call_id: assess(sample.inputs(), params) for call_id, sample in data.calls.items()}
    pairs: dict[str, list[Pair]] = {}
    for call_id, source, scale, rating in data.ratings:
        assessment = scores.get(call_id)
        if assessment is None or assessment.score is None or assessment.band is None:  # a score always has its band
            continue
        if sources is not None and source not in sources:
            continue
        s = SCALES[scale]
        pair = Pair(0.0, assessment.score, assessment.band, s.satisfaction(rating), s.negative(rating))
        pairs.setdefault(data.calls[call_id].provider, []).append(pair)
    return {provider: figures(p, min_samples, BANDS) for provider, p in sorted(pairs.items())}


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def report(current: dict[str, Figures], candidate: dict[str, Figures] | None) -> str:
    lines = ["provider  rated  negative  AUC now  AUC candidate  mean rating by band now (poor..excellent)"]
    for provider, f in current.items():
        c = candidate.get(provider) if candidate is not None else None
        means = " ".join(f"{BAND_NAMES[b]}={_number(f.mean_rating[b])}/{f.band_pairs[b]}" for b in BANDS)
        lines.append(f"{provider}  {f.pairs}  {f.negatives}  {_number(f.auc)}  {_number(c.auc) if c else '-'}  {means}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m voice_monitoring.scorer.replay",
        description="Compare scoring parameters against the caller feedback Prometheus recorded.",
    )
    p.add_argument("--prometheus-url", default="http://127.0.0.1:9090")
    p.add_argument("--job", default="voice_exporter", help="Prometheus job of the exporter; empty for any")
    p.add_argument("--since", default="7d", help="how far back to read calls and feedback (a PromQL duration)")
    p.add_argument("--scoring-parameters", help="the parameters the scorer runs with now (default: the defaults)")
    p.add_argument("--candidate", help="a scoring-parameters file to compare with them")
    p.add_argument("--min-samples", type=int, default=50, help="as the scorer's --calibration-min-samples")
    p.add_argument("--sources", help="comma-separated feedback sources to count (default all)")
    args = p.parse_args(argv)
    try:
        current = load(args.scoring_parameters)
        candidate = load(args.candidate) if args.candidate else None
        data = read(PrometheusClient(args.prometheus_url, 120.0), args.job or None, args.since)
    except (ScoringParametersError, OSError, QueryError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    sources = {s.strip() for s in args.sources.split(",")} if args.sources else None
    now = calibrate(data, current, args.min_samples, sources)
    then = calibrate(data, candidate, args.min_samples, sources) if candidate is not None else None
    print(f"{len(data.calls)} ended calls, {len(data.ratings)} ratings over {args.since}")
    print(report(now, then))
    return 0


if __name__ == "__main__":
    sys.exit(main())
