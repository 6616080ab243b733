"""Soak: a real exporter under mixed valid and hostile traffic, idle and trickling sockets, and a SIGTERM restart.

Two phases of ``BENCH_SOAK_SECONDS`` each (default 60) against one exporter process, then SIGTERM (with a
request still in flight), a restart, and a second phase.  Valid senders post whole calls with event ids,
as JSON or NDJSON, and retry some batches; a hostile sender posts broken bodies, hostile labels, truncated
bodies and protocol garbage; other threads hold idle sockets and trickle headers; a scraper checks every
``/metrics`` page with ``promtool check metrics``.  It prints crashes, invalid pages, whether every
acknowledged event was counted exactly once in each process's life, whether live series return to 0 after
the retention windows, and resident memory.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

import requests

from scripts.bench_exporter import rss_mib
from tests.harness import free_port, promtool_lint, wait_for

GRACE, IDLE = 2, 5
VALID_PROVIDER = "soak-valid"


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.sent: deque[tuple[bytes, str]] = deque(maxlen=200)  # the last acknowledged batches

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def __getitem__(self, key: str) -> int:
        return self.counts.get(key, 0)


def call_events(call_id: str, ids: str) -> list[dict]:
    now = time.time()
    c = {"call_id": call_id}
    events = [{"type": "call.started", "ts": now, "tenant": "acme", "provider": VALID_PROVIDER, **c}]
    events += [{"type": "turn", "ts": now, "attrs": {"latency_seconds": 0.4 + i / 10}, **c} for i in range(3)]
    events.append({"type": "call.ended", "ts": now, "attrs": {"duration_seconds": 20, "reason": "user_hangup"}, **c})
    for i, event in enumerate(events):
        event["id"] = f"{ids}-{i}"
    return events


def encode(events: list, ndjson: bool) -> tuple[bytes, str]:
    if ndjson:
        return "\n".join(json.dumps(e) for e in events).encode(), "application/x-ndjson"
    return json.dumps(events).encode(), "application/json"


class Exporter:
    def __init__(self, log_path: Path, state_path: Path):
        self.state_path = state_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        argv = [
            str(Path(sys.executable).parent / "voice-exporter"),
            "--port",
            str(self.port),
            "--grace-seconds",
            str(GRACE),
            "--idle-seconds",
            str(IDLE),
            "--header-timeout",
            "2",
            "--body-timeout",
            "3",
            "--max-connections",
            "256",
            "--state-file",
            str(self.state_path),
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: requests.get(f"{self.url}/ready", timeout=1).ok, 30, what="the exporter")

    def metrics(self) -> str:
        return requests.get(f"{self.url}/metrics", timeout=10).text


def metric_sum(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        named = line.startswith(name + "{") or line.startswith(name + " ")
        if named and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def valid_sender(exporter: Exporter, stop: threading.Event, tally: Tally, name: str) -> None:
    session = requests.Session()
    rng = random.Random(name)
    n = 0
    while not stop.is_set():
        n += 1
        events = call_events(f"{name}-{n}", f"{name}-{n}")
        body, content_type = encode(events, rng.random() < 0.5)
        for attempt in range(2 if rng.random() < 0.2 else 1):  # some batches are retried whole
            try:
                reply = session.post(
                    f"{exporter.url}/v1/events", data=body, headers={"Content-Type": content_type}, timeout=10
                ).json()
            except requests.RequestException:
                tally.add("valid_errors")
                continue
            tally.add("accepted", reply.get("accepted", 0))
            tally.add("duplicates", reply.get("duplicates", 0))
            tally.add("valid_turns", 3 if reply.get("accepted") == 5 else 0)
            tally.sent.append((body, content_type))
            if attempt == 1 and reply.get("duplicates") != 5:
                tally.add("retries_not_deduplicated")
        tally.add("valid_requests")


HOSTILE_BODIES = [
    (b'{"type": "turn", ', "application/json"),
    (b'[{"type": "turn", "ts": NaN}]', "application/json"),
    (b"[" * 50_000 + b"]" * 50_000, "application/json"),
    (b"\xff\xfe\x00", "application/json"),
    (b"[" + b"{}," * 400_000 + b"{}]", "application/json"),
    (b"{}\n" * 300_000, "application/x-ndjson"),
    (b'{"x": 1}\n{broken\n\n{"type": "teleport", "ts": 1}\n', "application/x-ndjson"),
    (b"{}", "text/plain"),
]


def hostile_events() -> list:
    now = time.time()
    nasty = ['quote " and \\', "new\nline", "☎️ 通话", "}{,=", "x" * 128, "y" * 129, "", None, 7]
    value = random.choice(nasty)
    return [
        {"type": "call.started", "ts": now, "call_id": f"h-{random.random()}", "tenant": value, "provider": value},
        {"type": "turn", "ts": now, "call_id": "h", "attrs": {"latency_seconds": random.choice([-1, "x", 1e308])}},
        {"type": "usage", "ts": now, "model": str(value), "attrs": {"tokens_in": 5}},
        "not an event",
        {"type": "health", "ts": now - 7200},
    ]


def raw_exchange(exporter: Exporter, raw: bytes, half_close: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", exporter.port), timeout=5) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        try:
            return sock.recv(4096)
        except OSError:
            return b""


def hostile_sender(exporter: Exporter, stop: threading.Event, tally: Tally) -> None:
    session = requests.Session()
    while not stop.is_set():
        kind = random.randrange(5)
        try:
            if kind == 0:
                body, content_type = random.choice(HOSTILE_BODIES)
                status = session.post(
                    f"{exporter.url}/v1/events", data=body, headers={"Content-Type": content_type}, timeout=10
                ).status_code
            elif kind == 1:
                response = session.post(f"{exporter.url}/v1/events", json=hostile_events(), timeout=10)
                status = response.status_code
                tally.add("accepted", response.json().get("accepted", 0))
            elif kind == 2:  # a truncated body: must apply nothing
                body = "\n".join(json.dumps(e) for e in call_events(f"t-{random.random()}", "t")).encode()
                head = (
                    b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                    b"Content-Length: " + str(len(body) + 100).encode() + b"\r\n\r\n"
                )
                raw_exchange(exporter, head + body, half_close=True)
                status = 0
            elif kind == 3:
                raw = random.choice(
                    [
                        b"GARBAGE\r\n\r\n",
                        b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n",
                        b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 40_000 + b"\r\n\r\n",
                        b"PUT /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                        b"POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    ]
                )
                reply = raw_exchange(exporter, raw)
                status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0
            else:
                status = session.get(f"{exporter.url}/nope/{random.random()}", timeout=10).status_code
        except (requests.RequestException, OSError, ValueError):
            tally.add("hostile_connection_errors")
            session = requests.Session()
            continue
        tally.add("hostile_requests")
        if status >= 500:
            tally.add("hostile_5xx")


def idle_sockets(exporter: Exporter, stop: threading.Event, tally: Tally) -> None:
    while not stop.is_set():
        socks = []
        for _ in range(40):
            try:
                socks.append(socket.create_connection(("127.0.0.1", exporter.port), timeout=5))
            except OSError:
                tally.add("idle_refused")
        if stop.wait(4):  # past the header timeout the server must have closed them; not so when cut short
            for s in socks:
                s.close()
            return
        for s in socks:
            s.settimeout(0.1)
            try:
                s.recv(4096)  # the 408 reply, or the end of the stream
                tally.add("idle_cut_off")
            except TimeoutError:
                tally.add("idle_still_open")
            except OSError:
                tally.add("idle_cut_off")
            s.close()


def trickler(exporter: Exporter, stop: threading.Event, tally: Tally) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", exporter.port), timeout=5) as sock:
                sock.sendall(b"POST /v1/events HTTP/1.1\r\n")
                while not stop.is_set():
                    sock.sendall(b"X: 1\r\n")
                    time.sleep(0.5)
        except OSError:
            tally.add("tricklers_cut_off" if time.monotonic() - started < 5 else "tricklers_cut_late")


def scraper(exporter: Exporter, stop: threading.Event, tally: Tally) -> None:
    while not stop.wait(3):
        try:
            text = exporter.metrics()
        except requests.RequestException:
            tally.add("scrape_errors")
            continue
        tally.add("pages")
        if promtool_lint(text):
            tally.add("invalid_pages")


def run_phase(exporter: Exporter, seconds: float, tally: Tally, phase: int, extra: list | None = None) -> dict:
    stop_valid, stop_rest = threading.Event(), threading.Event()
    threads = [
        threading.Thread(target=valid_sender, args=(exporter, stop_valid, tally, f"p{phase}v{i}")) for i in range(2)
    ]
    threads += [
        threading.Thread(target=hostile_sender, args=(exporter, stop_rest, tally)),
        threading.Thread(target=idle_sockets, args=(exporter, stop_rest, tally)),
        threading.Thread(target=scraper, args=(exporter, stop_rest, tally)),
    ]
    threads += [threading.Thread(target=trickler, args=(exporter, stop_rest, tally)) for _ in range(4)]
    for t in threads:
        t.daemon = True
        t.start()
    peak = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1)
        peak = max(peak, rss_mib(exporter.proc.pid))
        if exporter.proc.poll() is not None:
            tally.add("crashes")
            break
    stop_valid.set()
    stop_rest.set()
    for t in threads:
        t.join(15)
    return {"peak": peak}


def in_flight_across_sigterm(exporter: Exporter) -> tuple[int, int]:
    """SIGTERM while a request's body is half sent: (its reply status, the process's exit code)."""
    body = json.dumps(call_events("in-flight", "in-flight")).encode()
    head = (
        b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", exporter.port), timeout=10) as sock:
        sock.sendall(head + body[:20])
        time.sleep(0.3)
        exporter.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        sock.sendall(body[20:])
        reply = sock.recv(4096)
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0
    return status, exporter.proc.wait(30)


def repost(exporter: Exporter, batches) -> tuple[int, int]:
    """Post ``batches`` again: (events counted again, events recognised as duplicates)."""
    session = requests.Session()
    accepted = duplicates = 0
    for body, content_type in batches:
        reply = session.post(
            f"{exporter.url}/v1/events", data=body, headers={"Content-Type": content_type}, timeout=10
        ).json()
        accepted += reply.get("accepted", 0)
        duplicates += reply.get("duplicates", 0)
    return accepted, duplicates


def main() -> int:
    seconds = float(os.environ.get("BENCH_SOAK_SECONDS", "60"))
    log_path = Path(os.environ.get("BENCH_SOAK_LOG", f"/tmp/voice-exporter-soak-{os.getpid()}.log"))
    state_path = log_path.with_suffix(".state")
    exporter = Exporter(log_path, state_path)
    print(f"soak: two phases of {seconds:.0f} s with a SIGTERM restart between them (exporter log {log_path})\n")
    results = []
    before_restart: list = []
    try:
        for phase in (1, 2):
            tally = Tally()
            exporter.start()
            rss_start = rss_mib(exporter.proc.pid)
            recounted, deduplicated = repost(exporter, before_restart)
            figures = run_phase(exporter, seconds, tally, phase)
            text = exporter.metrics()
            counted = metric_sum(text, "ai_agent_exporter_events_accepted_total")
            turns = metric_sum(text, "ai_agent_turn_response_seconds_count", provider=VALID_PROVIDER)
            time.sleep(GRACE + IDLE + 2)
            after = exporter.metrics()
            results.append(
                {
                    **tally.counts,
                    "phase": phase,
                    "acknowledged": tally["accepted"],
                    "counted": counted,
                    "turns_acknowledged": tally["valid_turns"],
                    "turns_counted": turns,
                    "live_after_windows": metric_sum(after, "ai_agent_exporter_live_calls"),
                    "series_after_windows": metric_sum(after, "ai_agent_exporter_per_call_series"),
                    "rss_start": rss_start,
                    "rss_peak": figures["peak"],
                    "rss_end": rss_mib(exporter.proc.pid),
                    "reposted": 5 * len(before_restart),
                    "recounted": recounted,
                    "deduplicated": deduplicated,
                }
            )
            before_restart = list(tally.sent)
            status, code = in_flight_across_sigterm(exporter)
            results[-1]["in_flight_status"], results[-1]["exit_code"] = status, code
    finally:
        if exporter.proc is not None and exporter.proc.poll() is None:
            exporter.proc.kill()
        state_path.unlink(missing_ok=True)
    tracebacks = log_path.read_text(errors="replace").count("Traceback")
    failed = False
    for r in results:
        exact = r["acknowledged"] == r["counted"] and r["turns_acknowledged"] == r["turns_counted"]
        failed |= not exact or r.get("invalid_pages", 0) > 0 or r.get("crashes", 0) > 0 or r["exit_code"] != 0
        print(
            f"phase {r['phase']}: {r.get('valid_requests', 0):,} valid batches ({r['duplicates']:,} retried events "
            f"deduplicated, {r.get('retries_not_deduplicated', 0)} retries counted twice), "
            f"{r.get('hostile_requests', 0):,} hostile requests ({r.get('hostile_5xx', 0)} answered 5xx)"
        )
        print(
            f"  events acknowledged {r['acknowledged']:,}, counted {r['counted']:,.0f}; "
            f"turns acknowledged {r['turns_acknowledged']:,}, counted {r['turns_counted']:,.0f}: "
            f"{'exactly once' if exact else 'MISMATCH'}"
        )
        print(
            f"  /metrics pages {r.get('pages', 0)}, invalid {r.get('invalid_pages', 0)}; "
            f"crashes {r.get('crashes', 0)}; "
            f"idle sockets cut off {r.get('idle_cut_off', 0)}, still open past the header timeout "
            f"{r.get('idle_still_open', 0)}; trickling clients cut off {r.get('tricklers_cut_off', 0)}"
        )
        print(
            f"  after the windows: live calls {r['live_after_windows']:.0f}, per-call series "
            f"{r['series_after_windows']:.0f}; RSS start {r['rss_start']:.1f} MiB, peak {r['rss_peak']:.1f} MiB, "
            f"end {r['rss_end']:.1f} MiB"
        )
        print(
            f"  SIGTERM with a request in flight: it got {r['in_flight_status']}, the exporter exited {r['exit_code']}"
        )
        if r["reposted"]:
            failed |= r["recounted"] > 0
            print(
                f"  after the restart, {r['reposted']:,} events of the last batches before it posted again: "
                f"{r['deduplicated']:,} recognised as duplicates, {r['recounted']:,} counted again"
            )
    print(f"tracebacks in the exporter log: {tracebacks}")
    return 1 if failed or tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())
