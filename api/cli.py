"""``voice-api``: the read API over Prometheus (or VictoriaMetrics).  Every flag has an environment variable twin."""

from __future__ import annotations

import argparse
import logging
import sys

from voice_monitoring.api.server import ApiServer, StreamLimits
from voice_monitoring.api.tokens import Tokens, read_tokens
from voice_monitoring.scorer.promql import PrometheusClient, Security, read_basic_auth_file
from voice_monitoring.shared.flags import Flag, add_flags, server_flags, server_limits

log = logging.getLogger("voice-api")


_STREAM = StreamLimits()
FLAGS = (
    Flag(
        "--prometheus-url",
        "API_PROMETHEUS_URL",
        str,
        "http://127.0.0.1:9090",
        "Prometheus or VictoriaMetrics to query ({env})",
    ),
    Flag(
        "--prometheus-ca-file",
        "API_PROMETHEUS_CA_FILE",
        str,
        None,
        "CA bundle (PEM) verifying an https Prometheus ({env})",
    ),
    Flag(
        "--prometheus-basic-auth-file",
        "API_PROMETHEUS_BASIC_AUTH_FILE",
        str,
        None,
        "file whose first line is username:password ({env})",
    ),
    Flag(
        "--tokens-file",
        "API_TOKENS_FILE",
        str,
        None,
        "file of '<tenant> <token>' lines, tenant * for an admin ({env}, required)",
    ),
    Flag("--listen-address", "API_LISTEN_ADDRESS", str, "127.0.0.1", "address to listen on ({env}, default 127.0.0.1)"),
    Flag("--port", "API_PORT", int, 9472, "port to listen on ({env}, default 9472)"),
    Flag(
        "--query-timeout",
        "API_QUERY_TIMEOUT",
        float,
        10.0,
        "seconds a query may take from its start to its last byte ({env})",
    ),
    Flag(
        "--stream-interval",
        "API_STREAM_INTERVAL",
        float,
        _STREAM.interval,
        f"seconds between stream polls, at least 1 ({{env}}, default {_STREAM.interval:g})",
    ),
    Flag(
        "--stream-max-subscribers",
        "API_STREAM_MAX_SUBSCRIBERS",
        int,
        _STREAM.max_subscribers,
        "stream subscribers at most; one more is answered 503 ({env})",
    ),
    Flag(
        "--stream-queue-size",
        "API_STREAM_QUEUE_SIZE",
        int,
        _STREAM.queue_size,
        "polls a subscriber may fall behind before it is dropped ({env})",
    ),
    Flag(
        "--stream-send-timeout",
        "API_STREAM_SEND_TIMEOUT",
        float,
        _STREAM.send_timeout,
        "seconds one poll's batch may take to send before the subscriber is dropped ({env})",
    ),
    *server_flags("API"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="voice-api", description="Serve the stack's figures per tenant over PromQL.")
    add_flags(p, FLAGS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        if not args.tokens_file:
            raise ValueError("--tokens-file (API_TOKENS_FILE) is required")
        if args.stream_interval < 1 or args.stream_max_subscribers < 1 or args.stream_queue_size < 1:
            raise ValueError("the stream interval must be at least 1 s, its bounds at least 1")
        tokens = Tokens(read_tokens(args.tokens_file))
        username = password = None
        if args.prometheus_basic_auth_file:
            username, password = read_basic_auth_file(args.prometheus_basic_auth_file)
        security = Security(ca_file=args.prometheus_ca_file, username=username, password=password)
        prometheus = PrometheusClient(args.prometheus_url, timeout=args.query_timeout, security=security)
        stream = StreamLimits(
            args.stream_interval, args.stream_max_subscribers, args.stream_queue_size, args.stream_send_timeout
        )
        server = ApiServer((args.listen_address, args.port), prometheus, tokens, server_limits(args), stream)
    except (OSError, ValueError) as exc:
        print(f"voice-api: {exc}", file=sys.stderr)
        return 2
    server.serve(lambda: log.info("listening on %s:%s", args.listen_address, server.port))
    prometheus.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
