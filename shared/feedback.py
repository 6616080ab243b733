"""Caller feedback: the rating scales and sources a ``feedback`` event may declare, what counts as negative on
each scale, and the window after a call's end in which feedback is accepted.

The exporter validates feedback with these tables, the scorer turns ratings into the 0-1 satisfaction it
averages by band and the negative verdict it scores the AUC against, and ``docs/events.md`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

# How long after the exporter received a call's call.ended its feedback is still accepted.  The scorer keeps each
# call's final score as long, so feedback accepted by the exporter always finds its score.
FEEDBACK_WINDOW_SECONDS = 3600.0


@dataclass(frozen=True)
class Scale:
    name: str
    lowest: int
    highest: int
    negative_at_most: int  # a rating at or below this is negative feedback
    description: str

    def satisfaction(self, rating: float) -> float:
        """The rating mapped onto 0 (worst the scale allows) to 1 (best)."""
        return (rating - self.lowest) / (self.highest - self.lowest)

    def negative(self, rating: float) -> bool:
        return rating <= self.negative_at_most


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("stars", 1, 5, 2, "1 to 5 stars; 1 or 2 is negative"),
        Scale("csat", 1, 5, 2, "customer satisfaction, 1 (very unsatisfied) to 5 (very satisfied); 1 or 2 is negative"),
        Scale("thumbs", 0, 1, 0, "0 thumbs down (negative), 1 thumbs up; also a platform's unsuccessful/successful"),
        Scale("nps", 0, 10, 6, "net promoter score, 0 to 10; a detractor (0 to 6) is negative"),
        Scale("sentiment", 0, 2, 0, "0 negative (negative), 1 neutral, 2 positive, as a platform's analysis judged"),
    )
}

# A platform's sentiment verdict on the sentiment scale; unknown is no rating.
SENTIMENT_RATINGS = {"negative": 0, "neutral": 1, "positive": 2}

# Who gave the rating.  The platform_* sources are the platforms' own post-call verdicts (Retell user_sentiment and
# call_successful, Vapi successEvaluation), which the webhook receivers send as feedback.
SOURCES = ("survey", "dtmf", "app", "evaluator", "platform_sentiment", "platform_success")
