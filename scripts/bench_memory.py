"""Memory that returns: the exporter's resident memory before a churn of calls and once every retention window
has passed (grace, idle, event-id dedup, removed-call guard, reported gauges, the feedback window of ended calls),
over three rounds.

The windows are made short by flags so the rounds take seconds; what is measured is whether everything a
round leaves behind is let go.  Goal: after the windows, within 30 MiB of the figure before the churn, and no
growth from round 2 to round 3.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import orjson
import requests

from scripts.bench_exporter import rss_mib
from tests import harness

WINDOWS = {
    "--grace-seconds": 1,
    "--idle-seconds": 3,
    "--max-age-seconds": 4,  # with --max-future-seconds, the dedup window and the removed-call guard
    "--max-future-seconds": 1,
    "--report-ttl-seconds": 2,
    # an ended call's labels, kept this long after its end so that late feedback still finds them
    "--feedback-window-seconds": 2,
}
# The last thing let go is the id of a call removed when it went idle: kept for the retry window after removal.
LONGEST_WINDOW = WINDOWS["--idle-seconds"] + WINDOWS["--max-age-seconds"] + WINDOWS["--max-future-seconds"]
SWEEPS = 3  # the exporter sweeps once a second: one to remove, one to forget, one to hand memory back
GOAL_MIB = 30.0
NOISE_MIB = 2.0  # resident memory moves this much between identical rounds on a busy machine
BATCH_CALLS = 200
JSON = {"Content-Type": "application/json"}


def call_events(round_: int, i: int, now: float) -> list[dict]:
    """One call: started, a turn, usage of a model never seen before, a worker heartbeat, ended (one call in
    ten is left to go idle instead)."""
    call = {"call_id": f"r{round_}-{i:07d}", "tenant": f"tenant-{i % 20}", "provider": f"provider-{i % 5}"}
    usage = {"service": "llm", "unit": "tokens_in", "quantity": 900}
    events = [
        {"type": "call.started", "ts": now, "pipeline": "cascade", "attrs": {"transport": "sip", "codec": "pcmu"}},
        {"type": "turn", "ts": now, "attrs": {"latency_seconds": 0.6, "stt_seconds": 0.1}},
        {"type": "usage", "ts": now, "model": f"model-{round_}-{i}", "attrs": usage},
        {"type": "health", "ts": now, "attrs": {"worker": f"worker-{i % 50}", "memory_ratio": 0.4}},
    ]
    if i % 10:
        events.append({"type": "call.ended", "ts": now, "attrs": {"duration_seconds": 42, "reason": "user_hangup"}})
    return [{**e, **call, "id": f"{call['call_id']}-{n}"} for n, e in enumerate(events)]


def churn(session: requests.Session, url: str, round_: int, calls: int, pid: int) -> float:
    """Post ``calls`` calls; returns the peak resident memory seen meanwhile."""
    peak = 0.0
    for first in range(0, calls, BATCH_CALLS):
        now = time.time()
        batch = [e for i in range(first, min(first + BATCH_CALLS, calls)) for e in call_events(round_, i, now)]
        response = session.post(f"{url}/v1/events", data=orjson.dumps(batch), headers=JSON, timeout=60)
        assert response.status_code == 200, response.text[:300]
        if first % (50 * BATCH_CALLS) == 0:
            session.get(f"{url}/metrics", timeout=60)
            peak = max(peak, rss_mib(pid))
    return max(peak, rss_mib(pid))


def anonymous_mib(pid: int) -> tuple[float, float]:
    """Resident MiB of the C library's heap (``[heap]``: large objects, tables over 512 bytes, request bodies) and of
    the other anonymous mappings (mostly Python's 1 MiB arenas of small objects)."""
    heap = other = 0
    name = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and not fields[0].endswith(":"):  # a mapping's header: range, perms, offset, dev, inode
            name = fields[5] if len(fields) > 5 else ""
        elif fields[0] == "Rss:" and name in ("", "[heap]"):
            if name:
                heap += int(fields[1])
            else:
                other += int(fields[1])
    return heap / 1024, other / 1024


def self_metric(session: requests.Session, url: str, name: str) -> float:
    for line in session.get(f"{url}/metrics", timeout=60).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


def settle(session: requests.Session, url: str) -> None:
    """Wait out every retention window, then until the exporter holds no call."""
    time.sleep(LONGEST_WINDOW + SWEEPS)
    harness.wait_for(
        lambda: self_metric(session, url, "ai_agent_exporter_live_calls") == 0, 30, what="live calls to expire"
    )


def main() -> int:
    calls = int(os.environ.get("BENCH_CHURN_CALLS", "100000"))
    port = harness.free_port()
    flags = [str(x) for item in WINDOWS.items() for x in item]
    argv = [str(harness.BIN / "voice-exporter"), "--port", str(port), "--max-live-calls", "200000", *flags]
    windows = ", ".join(f"{k.removeprefix('--')} {v}" for k, v in WINDOWS.items())
    print(f"exporter memory through call churn ({calls:,} calls a round, 5 events each; windows: {windows})")
    with tempfile.TemporaryDirectory() as logs, harness.local_service("exporter", argv, port, "/ready", logs) as svc:
        pid, url, session = svc.process.pid, svc.url, requests.Session()
        start = rss_mib(pid)
        churn(session, url, 0, 1000, pid)  # warm up: every code path and lazily built table
        settle(session, url)
        before = rss_mib(pid)
        heap_before, arenas_before = anonymous_mib(pid)
        print(
            f"  at start {start:.1f} MiB; before the churn (after a warm-up of 1,000 calls) {before:.1f} MiB "
            f"(C heap {heap_before:.1f}, other anonymous {arenas_before:.1f})"
        )
        after = {}
        for round_ in (1, 2, 3):
            t0 = time.perf_counter()
            peak = churn(session, url, round_, calls, pid)
            elapsed = time.perf_counter() - t0
            settle(session, url)
            after[round_] = rss_mib(pid)
            heap, arenas = anonymous_mib(pid)
            print(
                f"  round {round_}: peak {peak:.1f} MiB, after the windows {after[round_]:.1f} MiB "
                f"({after[round_] - before:+.1f} MiB on before: C heap {heap - heap_before:+.1f}, other anonymous "
                f"{arenas - arenas_before:+.1f}; churn took {elapsed:.0f} s)"
            )
    growth = after[3] - after[2]
    worst = max(after.values()) - before
    print(
        f"  after the windows, worst {worst:+.1f} MiB on before (goal within {GOAL_MIB:.0f}): "
        f"{'met' if worst <= GOAL_MIB else 'NOT met'}; round 2 to 3 {growth:+.1f} MiB (goal no growth): "
        f"{'met' if growth <= NOISE_MIB else 'NOT met'} (within {NOISE_MIB:.0f} MiB of noise)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
