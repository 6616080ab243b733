"""``make demo``: the monitoring stack on this machine, with simulated voice traffic.

    .venv/bin/python scripts/demo.py [--scenario provider_outage] [--duration 600]

Starts Prometheus, Alertmanager, blackbox_exporter, the exporter, the scorer, the read API, the simulator, a webhook
receiver that prints every notification, and Grafana when its binary is installed, all on 127.0.0.1.  Ctrl-C stops
everything.
State (generated configurations, data, logs) lives in .demo/.
"""

from __future__ import annotations

import argparse
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import yaml

from scripts.native_stack import DEFAULT_PORTS, ROOT, NativeStack, Options
from voice_monitoring.exporter.simulator import SCENARIOS

# The shipped alert each fault scenario is expected to raise.
SCENARIO_ALERTS = {
    "latency_spike": "HighTurnResponseLatency",
    "underflow_storm": "HighUnderflowRate",
    "provider_outage": "ProviderDown",
    "circuit_breaker_open": "CircuitBreakerOpen",
    "codec_mismatch": "ProviderCodecMismatch",
    "memory_pressure": "WorkerMemoryHigh",
    "cost_spike": "HighCostPerCallMinute",
}
WARM_UP_SECONDS = 20


def alert_rules() -> dict[str, dict]:
    rules = {}
    for path in sorted((ROOT / "prometheus" / "rules").glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule:
                    rules[rule["alert"]] = rule
    return rules


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", duration))


def busy_ports(ports: dict[str, int]) -> list[str]:
    busy = []
    for name, port in ports.items():
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(f"{name} ({port})")
    return busy


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="demo", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--scenario",
        choices=sorted(SCENARIOS),
        help="play this fault after a short warm-up, then stop it, so an alert fires and resolves",
    )
    p.add_argument(
        "--fault-seconds",
        type=float,
        default=None,
        help="how long the fault lasts (default: the alert's for: plus 3 minutes)",
    )
    p.add_argument("--duration", type=float, default=0, help="stop by itself after this many seconds (0: never)")
    p.add_argument("--calls", type=int, default=10, help="concurrent simulated calls (default 10)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated time compression (default 1)")
    p.add_argument("--seed", type=int, default=1, help="simulator seed")
    p.add_argument(
        "--engine", metavar="HOST:PORT", help="also scrape a real voice engine's /metrics here (job ai_engine)"
    )
    p.add_argument(
        "--receiver-port",
        type=int,
        default=DEFAULT_PORTS["receiver"],
        help=f"port of the local webhook receiver (default {DEFAULT_PORTS['receiver']})",
    )
    p.add_argument(
        "--port-offset", type=int, default=0, help="add this to every port, to run beside another stack (default 0)"
    )
    p.add_argument("--no-grafana", action="store_true", help="do not start Grafana even when it is installed")
    p.add_argument("--state-dir", type=Path, default=ROOT / ".demo", help="state folder (default .demo/)")
    return p.parse_args(argv)


def banner(stack: NativeStack, args) -> str:
    lines = [
        "",
        "The voice monitoring stack is running on 127.0.0.1:",
        f"  Prometheus     {stack.url('prometheus')}/alerts       alert rules and their state",
        f"                 {stack.url('prometheus')}/targets      every target should be UP",
        f"  Alertmanager   {stack.url('alertmanager')}/#/alerts     what is routed, grouped, inhibited, silenced",
        f"  exporter       {stack.url('exporter')}/metrics      the voice metrics (POST events to /v1/events)",
        f"  scorer         {stack.url('scorer')}/metrics      quality scores per call (after a few cycles)",
        f"  read API       {stack.url('api')}/openapi.json calls, cost, latency, health per tenant (docs/api.md);",
        f"                 tokens in {stack.state / 'api_tokens'}",
        f"  prober         {stack.url('blackbox')}              blackbox_exporter: the providers in "
        "prometheus/targets/providers.yml (none by default) and its recent probes",
        f"  receiver       {stack.receiver.url}/notifications   Slack and webhook notifications, also printed below",
        f"  email sink     {stack.smtp.address}            the email digest's messages, printed below",
    ]
    if stack.grafana_password:
        lines.append(
            f"  Grafana        {stack.url('grafana')}   user admin, password in "
            f"{stack.state / 'grafana' / 'admin_password'}"
        )
    else:
        reason = "--no-grafana" if args.no_grafana else stack.grafana_missing_reason
        lines.append(f"  Grafana        not started ({reason}); use the Prometheus and Alertmanager UIs above,")
        lines.append("                 or docker compose -f docker-compose.monitoring.yml up for the dashboards")
    if args.engine is None:
        lines.append("  No voice engine: the ai_engine job is left out (--engine HOST:PORT scrapes one).")
    lines.append(f"  Logs and generated configurations: {stack.state}/")
    lines.append(f"  Try: curl -s '{stack.url('prometheus')}/api/v1/query?query=ai_agent_active_calls'")
    lines.append(
        f'       curl -s -H "Authorization: Bearer $(awk \'$1=="acme"{{print $2}}\' {stack.state / "api_tokens"})" '
        f"'{stack.url('api')}/v1/calls'"
    )
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    ports = {name: port + args.port_offset for name, port in {**DEFAULT_PORTS, "receiver": args.receiver_port}.items()}
    busy = busy_ports({k: v for k, v in ports.items() if k != "grafana" or not args.no_grafana})
    if busy:
        print(
            f"demo: ports already in use: {', '.join(busy)} (another demo, or Debian's own services: "
            "sudo systemctl stop prometheus prometheus-alertmanager)",
            file=sys.stderr,
        )
        return 2
    alert = SCENARIO_ALERTS.get(args.scenario) if args.scenario else None
    rules = alert_rules()
    if alert is not None and alert not in rules:
        print(f"demo: scenario {args.scenario} expects alert {alert}, which no rule defines", file=sys.stderr)
        return 2

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    options = Options(
        state_dir=args.state_dir,
        ports=ports,
        engine=args.engine,
        calls=args.calls,
        speed=args.speed,
        seed=args.seed,
        with_grafana=not args.no_grafana,
    )
    stack = NativeStack(options)
    print(f"starting the stack (logs in {args.state_dir / 'logs'}) ...", flush=True)
    try:
        stack.start()
        print(banner(stack, args), flush=True)
        started = time.monotonic()
        fault_on = fault_off = None
        if args.scenario:
            hold = seconds(rules[alert].get("for", "0s"))
            length = args.fault_seconds if args.fault_seconds is not None else hold + 180
            fault_on, fault_off = started + WARM_UP_SECONDS, started + WARM_UP_SECONDS + length
            print(
                f"\nScenario {args.scenario}: {SCENARIOS[args.scenario].description}.\n"
                f"  It starts in {WARM_UP_SECONDS} s and lasts {length:.0f} s.  Expect {alert} "
                f"(for: {rules[alert].get('for', '0s')}) to fire at {stack.url('prometheus')}/alerts, "
                "then its notification below; the resolved notification follows once the fault stops "
                "(after the route's group_interval).",
                flush=True,
            )
        while not stop.wait(1.0):
            now = time.monotonic()
            if fault_on is not None and now >= fault_on:
                stack.set_fault(args.scenario)
                print(f"[{time.strftime('%H:%M:%S')}] fault {args.scenario} started", flush=True)
                fault_on = None
            if fault_off is not None and fault_on is None and now >= fault_off:
                stack.set_fault(None)
                print(
                    f"[{time.strftime('%H:%M:%S')}] fault {args.scenario} stopped; waiting for the resolved "
                    "notification",
                    flush=True,
                )
                fault_off = None
            failed = stack.failed_children()
            if failed:
                for child in failed:
                    print(
                        f"demo: {child.name} stopped unexpectedly; last lines of {child.log_path}:\n"
                        f"{child.log_tail(1500)}",
                        file=sys.stderr,
                    )
                return 1
            if args.duration and now - started >= args.duration:
                break
    except RuntimeError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping ...", flush=True)
        stack.stop()
        print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
