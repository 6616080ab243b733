"""The scorer service: its endpoints, insufficient data, calls leaving, and Prometheus failing."""

import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.harness import BIN, free_port, post_events, start_scorer, wait_for
from tests.scorer.scoring_stack import call_events, start_stack, stop_stack
from voice_monitoring.scorer.inputs import INPUT_NAMES, PROMOTED, InputReader
from voice_monitoring.scorer.model import FACTORS
from voice_monitoring.scorer.promql import PrometheusClient
from voice_monitoring.scorer.scoring_parameters import DEFAULTS
from voice_monitoring.scorer.service import Scorer
from voice_monitoring.shared import catalogue

pytestmark = pytest.mark.binaries

FINAL_COUNT = catalogue.metric("ai_agent_call_quality_final_score").name + "_count"
SCORED_CALLS = catalogue.metric("ai_agent_scorer_scored_calls").name
QUERY_ERRORS = catalogue.metric("ai_agent_scorer_query_errors_total").name


@pytest.fixture
def short_grace_stack(tmp_path):
    s = start_stack(
        tmp_path,
        exporter_flags=("--grace-seconds", "2"),
        scorer_flags=(
            "--keep-absent-call-seconds",
            "2",
            "--expire-after-cycles",
            "3",
            "--max-backoff-seconds",
            "2",
            "--query-timeout",
            "1.5",
        ),
    )
    try:
        yield s
    finally:
        stop_stack(s)


def test_scores_insufficient_data_and_calls_leaving(short_grace_stack):
    s = short_grace_stack
    assert post_events(s.exporter.url, call_events("good-1", 4) + call_events("short-1", 2)).status_code == 200
    wait_for(lambda: s.call("good-1") and s.call("short-1"), 20, what="both calls scored")
    good, short = s.call("good-1"), s.call("short-1")
    assert good["score"] == 100.0 and good["band_name"] == "excellent" and not good["insufficient_data"]
    assert set(good["factors"]) == set(FACTORS)
    assert good["emodel"]["mos"] == pytest.approx(4.37, abs=0.01)  # RTT 60 ms: the echo terms of 70 ms one-way
    assert short["insufficient_data"] and short["score"] is None and short["band"] is None

    score = catalogue.metric("ai_agent_call_quality_score").name
    insufficient = catalogue.metric("ai_agent_call_quality_insufficient_data").name
    penalty = catalogue.metric("ai_agent_call_quality_penalty").name
    assert [x.labels["call_id"] for x in s.samples(score)] == ["good-1"]
    assert {x.labels["call_id"]: x.value for x in s.samples(insufficient)} == {"good-1": 0.0, "short-1": 1.0}
    assert {x.labels["factor"] for x in s.samples(penalty)} == set(FACTORS)
    assert s.samples(SCORED_CALLS)[0].value == 1.0
    assert requests.get(f"{s.scorer.url}/ready", timeout=5).status_code == 200
    assert requests.get(f"{s.scorer.url}/calls/nobody", timeout=5).status_code == 404

    # The call ends: its final score is observed once; once the exporter drops it, so does the scorer.
    assert post_events(s.exporter.url, [call_events("good-1", 0, end=True)[-1]]).status_code == 200
    wait_for(lambda: s.samples(FINAL_COUNT), 10, what="final score observed")
    [count] = s.samples(FINAL_COUNT)
    assert count.labels == {"provider": "deepgram", "tenant": "acme"} and count.value == 1.0
    published = {m.name: set(m.series_names) for m in catalogue.published_by(catalogue.SCORER)}
    exposed = {x.name for family in s.families() for x in family.samples}
    # Every metric but the calibration figures, which wait for a call's feedback.
    calibration = {name for name in published if name.startswith("ai_agent_quality_calibration_")}
    assert exposed == set().union(*(names for name, names in published.items() if name not in calibration))
    wait_for(lambda: s.call("good-1") is None, 20, what="the ended call to leave")
    assert [x.labels["call_id"] for x in s.samples(score)] == []
    assert s.samples(FINAL_COUNT)[0].value == 1.0
    assert s.call("short-1") is not None


def test_every_input_is_read_back_when_none_is_at_its_default(short_grace_stack):
    s = short_grace_stack
    now = time.time()
    events = call_events("busy-1", 4, latency=1.2) + [
        {
            "type": "audio",
            "ts": now,
            "call_id": "busy-1",
            "attrs": {"stage": "agent_out", "underflow": 2, "fallback": 1, "codec_alignment": False, "rms": 0.1},
        },
        {"type": "audio", "ts": now, "call_id": "busy-1", "attrs": {"stage": "agent_out", "rms": 0.02}},
        {
            "type": "interruption",
            "ts": now,
            "call_id": "busy-1",
            "attrs": {"kind": "barge_in", "reaction_seconds": 0.7},
        },
        {
            "type": "transport",
            "ts": now,
            "call_id": "busy-1",
            "attrs": {"burst_ratio": 2.5, "codec": "opus", "packet_loss_ratio": 0.03},
        },
        {
            "type": "call.ended",
            "ts": now,
            "call_id": "busy-1",
            "attrs": {"duration_seconds": 30, "reason": "user_hangup"},
        },
    ]
    assert post_events(s.exporter.url, events).status_code == 200
    found = wait_for(lambda: (c := s.call("busy-1")) and c["ended"] and c, 20, what="the ended call")
    # Every input but the codec (a label) and the promotion flag (absent when every call is sampled).
    assert set(found["inputs"]) == set(INPUT_NAMES) - {catalogue.metric("ai_agent_call_codec_info").name, PROMOTED}
    assert found["codec"] == "opus" and found["provider"] == "deepgram" and found["tenant"] == "acme"
    assert all(found["factors"][f]["penalty"] > 0 for f in FACTORS), found["factors"]
    assert found["gate_band"] == 2  # p95 1.2 s and underflows bar Excellent; the penalties make it worse
    assert found["score"] < 60 and found["band_name"] == "poor"
    assert found["emodel"]["codec"] == "opus" and found["emodel"]["r_factor"] < 85  # 3% bursty loss


def test_prometheus_down_degrades_expires_scores_and_recovers(short_grace_stack):
    s = short_grace_stack
    assert post_events(s.exporter.url, call_events("live-1", 5)).status_code == 200
    wait_for(lambda: s.call("live-1"), 20, what="a score")
    s.prometheus.stop()
    wait_for(lambda: s.health()["status"] == "degraded", 10, what="health to say degraded")
    # Within three intervals of the last success the scores are withdrawn rather than left to lie.
    wait_for(lambda: s.health()["scores_expired"], 10, what="scores to expire")
    assert requests.get(f"{s.scorer.url}/calls/live-1", timeout=5).status_code == 503
    assert requests.get(f"{s.scorer.url}/ready", timeout=5).status_code == 503
    assert s.samples(catalogue.metric("ai_agent_call_quality_score").name) == []
    errors = {x.labels["reason"]: x.value for x in s.samples(QUERY_ERRORS)}
    assert errors["http"] > 0
    assert s.scorer.process.poll() is None

    s.prometheus.start(timeout=60)
    wait_for(lambda: s.health()["status"] == "ok" and s.call("live-1"), 60, what="recovery")
    assert s.health()["consecutive_failures"] == 0


class _SlowPrometheus(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(3)
        body = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_slow_prometheus_times_out_and_backs_off(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _SlowPrometheus)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with start_scorer(tmp_path, url, "--query-timeout", "0.5", "--max-backoff-seconds", "8") as scorer:

            def timeouts():
                text = requests.get(f"{scorer.url}/metrics", timeout=5).text
                line = [x for x in text.splitlines() if x.startswith(QUERY_ERRORS + '{reason="timeout"}')]
                return float(line[0].split()[-1]) if line else 0.0

            wait_for(lambda: timeouts() >= 4, 15, what="timed-out queries counted")
            health = requests.get(f"{scorer.url}/health", timeout=5).json()
            assert health["status"] == "degraded" and health["last_success"] is None
            assert "0.5" in health["last_error"]
            # Backoff: attempts 1 s, 2 s, 4 s apart -- after 5 s, at most 3 or 4 attempts of 4 queries each.
            first = timeouts()
            time.sleep(5)
            assert timeouts() - first <= 8
            assert scorer.process.poll() is None
    finally:
        server.shutdown()
        server.server_close()


def test_a_bad_scoring_parameters_file_stops_the_scorer_at_start(tmp_path):
    bad = tmp_path / "scoring-parameters.yaml"
    bad.write_text("penalties: {turn_latency: {start: 5, full: 1}}\n")
    done = subprocess.run(
        [str(BIN / "voice-scorer"), "--scoring-parameters", str(bad), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "scoring-parameters.yaml" in done.stderr and "full" in done.stderr


def test_the_backoff_stays_at_its_ceiling_however_long_prometheus_stays_down():
    never_asked = InputReader(PrometheusClient("http://127.0.0.1:9", 1))
    scorer = Scorer(never_asked, DEFAULTS, interval=30, max_backoff_seconds=300)
    delays = []
    for failures in (0, 1, 2, 5, 1024, 100_000):
        scorer.consecutive_failures = failures
        delays.append(scorer.next_delay())
    assert delays == [30, 30, 60, 300, 300, 300]
