"""The read API against a real Prometheus fed by the simulator: each figure is the PromQL it stands for, and a
tenant token reads its own tenant only, whatever the path, query or headers say."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path

import aiohttp
import pytest
import requests
import yaml

from tests.harness import prometheus_config, query, start_exporter, start_prometheus, wait_for
from tests.scaleout.topology import start_victoria_metrics
from voice_monitoring.api.server import ApiServer, StreamLimits
from voice_monitoring.api.tokens import Tokens, parse_tokens
from voice_monitoring.exporter.simulator import Simulator
from voice_monitoring.scorer.promql import PrometheusClient

pytestmark = pytest.mark.binaries

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin-token-0123456789abcdef"
ACME = "acme-token-0123456789abcdef"
GLOBEX = "globex-token-0123456789abcdef"
TOKENS = f"* {ADMIN}\nacme {ACME}\nglobex {GLOBEX}\n"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Exporter, Prometheus (with the recording rules) and the API; the simulator plays while the module runs."""
    tmp = tmp_path_factory.mktemp("api")
    with start_exporter(tmp) as exporter:
        config = prometheus_config(
            {"voice_exporter": [exporter.url.removeprefix("http://")]},
            rule_files=[str(ROOT / "prometheus/rules/recording.yml")],
        )
        with start_prometheus(tmp, config) as prom:
            sim = Simulator(exporter.url, seed=5, speed=10)
            player = threading.Thread(target=sim.run, args=(0, 9), daemon=True)
            player.start()
            api = ApiServer(
                ("127.0.0.1", 0),
                PrometheusClient(prom.url, timeout=5),
                Tokens(parse_tokens(TOKENS)),
                stream_limits=StreamLimits(interval=1.0, max_subscribers=4, queue_size=3, send_timeout=2.0),
            )
            try:
                with api.running():
                    wait_for(
                        lambda: len(query(prom.url, "sum by (tenant) (increase(ai_agent_calls_ended_total[10m])) > 0"))
                        == 3,
                        timeout=40,
                        what="ended calls of all three tenants in Prometheus",
                    )
                    yield {"prom": prom.url, "api": f"http://127.0.0.1:{api.port}", "server": api}
            finally:
                sim.stop()
                player.join(30)


def get(stack, path: str, token: str | None, /, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(stack["api"] + path, params=params, headers=headers, timeout=15)


def by_tenant(samples: list[dict], **labels) -> dict[str, float]:
    return {
        s["labels"]["tenant"]: s["value"]
        for s in samples
        if all(s["labels"].get(name) == value for name, value in labels.items())
    }


def expected(stack, expr: str, at: float) -> dict[str, float]:
    return {r["metric"].get("tenant", ""): float(r["value"][1]) for r in query(stack["prom"], expr, at=at)}


def test_calls_figures_are_the_promql_they_stand_for(stack):
    end = time.time() - 3  # samples up to end have been ingested
    reply = get(stack, "/v1/calls", ADMIN, start=end - 600, end=end)
    assert reply.status_code == 200, reply.text
    figures = reply.json()["figures"]
    started = expected(stack, "sum by (tenant) (increase(ai_agent_calls_started_total[600s]))", end)
    assert set(started) == {"acme", "globex", "initech"}
    assert by_tenant(figures["started"]) == pytest.approx(started)
    ended = expected(stack, "sum by (tenant) (increase(ai_agent_calls_ended_total[600s]))", end)
    assert by_tenant(figures["ended"]) == pytest.approx(ended)
    failed = expected(
        stack, 'sum by (tenant) (increase(ai_agent_calls_ended_total{reason=~"error|timeout"}[600s]))', end
    )
    success = {tenant: 1 - failed.get(tenant, 0) / total for tenant, total in ended.items() if total > 0}
    assert by_tenant(figures["success_rate"]) == pytest.approx(success)
    reasons = query(stack["prom"], "sum by (tenant, reason) (increase(ai_agent_calls_ended_total[600s]))", at=end)
    assert len(figures["ended_by_reason"]) == len(reasons)


def test_cost_of_a_month_and_of_one_call(stack):
    month = time.strftime("%Y-%m", time.gmtime())
    reply = get(stack, "/v1/cost", ACME, month=month)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    end = answer["window"]["end"]
    seconds = round(end - answer["window"]["start"])
    spend = expected(stack, f'sum by (tenant) (increase(ai_agent_cost_usd_total{{tenant="acme"}}[{seconds}s]))', end)
    assert spend["acme"] > 0
    assert by_tenant(answer["figures"]["total_usd"]) == pytest.approx(spend)

    live = query(stack["prom"], 'ai_agent_call_running_cost_usd{tenant="acme"} > 0')
    call_id = live[0]["metric"]["call_id"]
    reply = get(stack, "/v1/cost", ACME, call_id=call_id)
    assert reply.status_code == 200, reply.text
    (sample,) = reply.json()["figures"]["call_usd"]
    assert sample["labels"] == {"tenant": "acme", "call_id": call_id}
    assert sample["value"] > 0


def test_latency_and_health_are_the_promql_they_stand_for(stack):
    end = time.time() - 3  # samples up to end have been ingested
    reply = get(stack, "/v1/latency", ADMIN, component="stt", start=end - 300, end=end)
    assert reply.status_code == 200, reply.text
    figures = reply.json()["figures"]
    buckets = 'ai_agent_component_latency_seconds_bucket{component="stt"}'
    for q, name in ((0.5, "p50_seconds"), (0.95, "p95_seconds"), (0.99, "p99_seconds")):
        (want,) = query(stack["prom"], f"histogram_quantile({q}, sum by (le) (increase({buckets}[300s])))", at=end)
        assert figures[name][0]["value"] == pytest.approx(float(want["value"][1]))
    assert figures["p50_seconds"][0]["value"] <= figures["p99_seconds"][0]["value"]

    reply = get(stack, "/v1/health", ADMIN)
    assert reply.status_code == 200, reply.text
    up = {(s["labels"]["provider"], s["labels"]["service"]): s["value"] for s in reply.json()["figures"]["up"]}
    assert up == {
        (r["metric"]["provider"], r["metric"]["service"]): float(r["value"][1])
        for r in query(stack["prom"], "min by (provider, service) (ai_agent_provider_up)")
    }
    assert up


def tenants_in(reply: requests.Response) -> set[str]:
    return {s["labels"].get("tenant") for samples in reply.json()["figures"].values() for s in samples}


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/calls", {}, 200),
        ("/v1/calls", {"tenant": "acme"}, 200),
        ("/v1/calls", {"tenant": "globex"}, 403),
        ("/v1/calls", {"tenant": ".*"}, 403),
        ("/v1/calls", {"tenant": 'acme"} or ai_agent_calls_started_total{tenant="globex'}, 403),
        ("/v1/calls", {"tenant": ["acme", "globex"]}, 400),
        ("/v1/calls", {"tenant_id": "globex"}, 400),
        ("/v1/cost", {"tenant": "globex", "month": "2026-01"}, 403),
        ("/v1/cost", {"month": "0000-01"}, 400),
        ("/v1/cost", {"call_id": '"} or ai_agent_call_running_cost_usd{tenant="globex'}, 200),
        ("/v1/cost", {"call_id": ".+"}, 200),
        ("/v1/stream", {"tenant": "globex"}, 403),
        ("/v1/latency", {}, 403),
        ("/v1/health", {}, 403),
    ],
)
def test_a_tenant_token_reads_its_own_tenant_only(stack, path, params, status):
    reply = get(stack, path, ACME, **params)
    assert reply.status_code == status, reply.text
    if status == 200:
        assert tenants_in(reply) <= {"acme"}
    if "call_id" in params:  # no call has that id: the value stays a literal, never a selector or a pattern
        assert reply.json()["figures"]["call_usd"] == []


def test_the_tenant_in_a_selector_is_a_literal(stack):
    # an admin's tenant filter with regex metacharacters or a closing quote matches no tenant, rather than all
    for tenant in (".*", 'acme"} or vector(1) or {"', "acme|globex"):
        reply = get(stack, "/v1/calls", ADMIN, tenant=tenant)
        assert reply.status_code == 200, reply.text
        assert tenants_in(reply) == set()
    assert tenants_in(get(stack, "/v1/calls", ADMIN, tenant="globex")) == {"globex"}


def raw_get(stack, target: str, *headers: str) -> tuple[int, bytes]:
    host, port = stack["api"].removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n" + "".join(h + "\r\n" for h in headers)
        sock.sendall((head + "\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def test_header_and_path_tricks_do_not_widen_a_tenant_token(stack):
    # a second Authorization header (an admin's after a tenant's) is refused, not merged or picked
    status, _ = raw_get(stack, "/v1/calls", f"Authorization: Bearer {ACME}", f"Authorization: Bearer {ADMIN}")
    assert status == 400
    status, _ = raw_get(stack, "/v1/calls", f"Authorization: Bearer {ACME}, Bearer {ADMIN}")
    assert status == 401
    # encoded slashes and query markers in the path reach no other route, and never another tenant
    for target in ("/v1%2Fcalls?tenant=globex", "/v1/calls%3Ftenant=globex", "/v1/calls/..%2Fcost?tenant=globex"):
        status, body = raw_get(stack, target, f"Authorization: Bearer {ACME}")
        assert status in (400, 403, 404), (target, status, body)
        assert b'"tenant":"globex"' not in body
    # a token in the query string is no credential
    assert get(stack, "/v1/calls", None, token=ADMIN).status_code == 401
    assert get(stack, "/v1/calls", "not-a-token").status_code == 401


async def read_stream(url: str, token: str, seconds: float, slow: bool = False) -> list[list[dict]]:
    batches = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session, session.ws_connect(url, headers=headers) as ws:
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                message = await ws.receive(timeout=left)
            except TimeoutError:
                break
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            batches.append(json.loads(message.data))
    return batches


def test_the_stream_serves_each_tenant_its_own_updates(stack):
    url = stack["api"].replace("http", "ws") + "/v1/stream"

    async def both():
        return await asyncio.gather(read_stream(url, ACME, 6), read_stream(url, ADMIN, 6))

    acme, admin = asyncio.run(asyncio.wait_for(both(), 20))
    acme_updates = [u for batch in acme for u in batch]
    admin_updates = [u for batch in admin for u in batch]
    assert {u["tenant"] for u in acme_updates} == {"acme"}
    assert {u["tenant"] for u in admin_updates} >= {"acme", "globex"}
    kinds = {u["type"] for u in admin_updates}
    assert {"fleet", "call.started", "call.ended"} <= kinds, kinds


def test_a_slow_subscriber_does_not_slow_the_others(stack):
    url = stack["api"].replace("http", "ws") + "/v1/stream"
    host, port = stack["api"].removeprefix("http://").split(":")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.settimeout(10)
    try:
        slow.connect((host, int(port)))
        slow.sendall(
            (
                f"GET /v1/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                f"Authorization: Bearer {ADMIN}\r\n\r\n"
            ).encode()
        )
        assert slow.recv(12) == b"HTTP/1.1 101"  # then never read again
        started = time.monotonic()
        batches = asyncio.run(asyncio.wait_for(read_stream(url, ADMIN, 8), 20))
        # one batch a poll (interval 1 s): the reader that keeps up is not held to the slow one's pace
        assert len(batches) >= 6, len(batches)
        assert time.monotonic() - started < 12
    finally:
        slow.close()


def test_the_same_figures_from_victoria_metrics(tmp_path):
    """VictoriaMetrics scraping the exporter answers the API's PromQL (``@`` modifier included) as it answers the
    query by hand."""
    with start_exporter(tmp_path) as exporter:
        scrape = tmp_path / "scrape.yml"
        config = prometheus_config({"voice_exporter": [exporter.url.removeprefix("http://")]})
        del config["global"]["evaluation_interval"]  # VictoriaMetrics scrapes; it evaluates no rules
        scrape.write_text(yaml.safe_dump(config))
        sim = Simulator(exporter.url, seed=6, speed=10)
        player = threading.Thread(target=sim.run, args=(0, 9), daemon=True)
        player.start()
        try:
            with start_victoria_metrics(tmp_path, f"-promscrape.config={scrape}") as vm:
                api = ApiServer(("127.0.0.1", 0), PrometheusClient(vm.url, timeout=5), Tokens(parse_tokens(TOKENS)))
                with api.running():
                    expr = "sum by (tenant) (increase(ai_agent_calls_started_total[120s]))"
                    wait_for(lambda: len(query(vm.url, expr)) == 3, timeout=40, what="calls in VictoriaMetrics")
                    end = time.time() - 3
                    headers = {"Authorization": f"Bearer {ACME}"}
                    reply = requests.get(
                        f"http://127.0.0.1:{api.port}/v1/calls",
                        params={"start": end - 120, "end": end},
                        headers=headers,
                        timeout=15,
                    )
                    assert reply.status_code == 200, reply.text
                    want = {
                        r["metric"]["tenant"]: float(r["value"][1])
                        for r in query(vm.url, expr.replace("_total[", '_total{tenant="acme"}['), at=end)
                    }
                    assert want["acme"] > 0
                    assert by_tenant(reply.json()["figures"]["started"]) == pytest.approx(want)
        finally:
            sim.stop()
            player.join(30)
