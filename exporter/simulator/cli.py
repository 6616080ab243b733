"""``voice-sim``: play simulated voice-engine traffic to an exporter."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from voice_monitoring.exporter.simulator.profiles import SCENARIOS
from voice_monitoring.exporter.simulator.traffic import Simulator


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="voice-sim", description="Play simulated voice-engine traffic.")
    p.add_argument("--url", default="http://127.0.0.1:9470", help="exporter base URL")
    p.add_argument("--token-file", help="file holding the exporter's ingest bearer token")
    p.add_argument("--calls", type=int, default=10, help="concurrent calls")
    p.add_argument("--duration", type=float, default=0, help="wall seconds to play (0: until interrupted)")
    p.add_argument("--speed", type=float, default=1.0, help="time compression (10 plays a minute in 6 s)")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), help="fault scenario to play")
    p.add_argument("--matrix", action="store_true", help="play the validation matrix once and exit")
    p.add_argument(
        "--feedback",
        choices=("faults", "random"),
        help="rate calls after they end: negatively mostly where a fault was felt (faults), or at random",
    )
    p.add_argument("--fault-share", type=float, default=1.0, help="share of the provider's calls a fault touches")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same traffic)")
    p.add_argument("--list-scenarios", action="store_true", help="describe the fault scenarios and exit")
    args = p.parse_args(argv)

    if args.list_scenarios:
        for fault in SCENARIOS.values():
            print(f"{fault.name:22} {fault.description}")
        return 0
    token = None
    if args.token_file:
        with open(args.token_file) as f:
            token = f.read().strip()
    sim = Simulator(
        args.url, seed=args.seed, speed=args.speed, token=token, feedback=args.feedback, fault_share=args.fault_share
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: sim.stop())
    if args.matrix:
        expected = sim.play_matrix()
        for call_id, (kind, minimum) in expected.items():
            print(f"{call_id}: {kind}, expected quality > {minimum}")
    else:
        worker = threading.Thread(target=sim.run, args=(args.duration, args.calls, args.scenario))
        worker.start()
        while worker.is_alive():
            worker.join(0.5)
    print(f"sent {sim.sent} events, {len(sim.errors)} failed requests", file=sys.stderr)
    for error in sim.errors[:5]:
        print(f"  {error}", file=sys.stderr)
    return 1 if sim.errors else 0


if __name__ == "__main__":
    sys.exit(main())
