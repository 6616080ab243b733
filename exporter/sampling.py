"""Which calls get per-call series: a deterministic sample of calls, plus every call that breaches a gate.

Per-call series are the one cost of the stack that grows with the call rate: Prometheus keeps each call's
series in its head block for hours after the call.  With a sample ratio below 1 a call is in the sample when

    int.from_bytes(blake2b(call_id.encode(), digest_size=8).digest(), "big") / 2**64 < ratio

so the choice is the same in every exporter and after every restart, and a sampled call has its series from
its first scrape to its last.  A call outside the sample gets its series (from then on, with everything the
call did so far) as soon as it breaches one of the gates, the conditions that keep a call from the scorer's
Good band: a p95 turn response above ``Gates.good_p95_seconds`` or an underflow.  Such a call also carries
``ai_agent_call_promoted``, so the scorer can keep it out of the fleet's final-score distribution, which then
stays an unbiased sample.  Fleet metrics never depend on the choice: every call counts in them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from hashlib import blake2b

from voice_monitoring.exporter.call_series import p95
from voice_monitoring.exporter.calls import Call
from voice_monitoring.shared.quality_bands import GOOD_GATE_P95_SECONDS

PROMOTE_P95_SECONDS = GOOD_GATE_P95_SECONDS
PROMOTE_UNDERFLOWS = 0


def in_sample(call_id: str, ratio: float) -> bool:
    """Whether a call is in a sample of ``ratio`` of all calls, decided by its id alone."""
    if ratio >= 1.0:
        return True
    digest = blake2b(call_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < ratio * 2**64


def breaches_gate(call: Call) -> bool:
    latencies = call.turn_latencies
    return call.underflows > PROMOTE_UNDERFLOWS or bool(latencies) and p95(latencies) > PROMOTE_P95_SECONDS


class PerCallSampling:
    """Decides, at each scrape, which calls' per-call series are exposed; a call once exposed stays exposed."""

    def __init__(self, ratio: float = 1.0):
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"the per-call sample ratio must be between 0 and 1, not {ratio}")
        self.ratio = ratio
        self.withheld = 0  # calls whose series the last scrape withheld
        self.promoted = 0  # calls outside the sample exposed because they breached a gate, since start

    def exposed(self, calls: Iterable[Call]) -> Iterator[Call]:
        withheld = 0
        for call in calls:
            if call.exposed is None:
                call.exposed = in_sample(call.call_id, self.ratio)
            if not call.exposed:
                if not breaches_gate(call):
                    withheld += 1
                    continue
                call.exposed = call.promoted = True
                self.promoted += 1
            yield call
        self.withheld = withheld
