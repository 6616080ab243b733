"""``voice-api``: the read API over Prometheus (or VictoriaMetrics).  Every flag has an environment variable twin."""

from __future__ import annotations

import argparse
import logging
import sys

from voice_monitoring.api.server import ApiServer, StreamLimits
from voice_monitoring.api.tokens import Tokens, read_tokens
from voice_monitoring.scorer.promql import PrometheusClient, Security, read_basic_auth_file
from voice_monitoring.shared.http_service import add_server_flags, env_default, server_limits

log = logging.getLogger("voice-api")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="voice-api", description="Serve the stack's figures per tenant over PromQL.")
    p.add_argument(
        "--prometheus-url",
        default=env_default("API_PROMETHEUS_URL", "http://127.0.0.1:9090"),
        help="Prometheus or VictoriaMetrics to query (API_PROMETHEUS_URL)",
    )
    p.add_argument(
        "--prometheus-ca-file",
        default=env_default("API_PROMETHEUS_CA_FILE", None),
        help="CA bundle (PEM) verifying an https Prometheus (API_PROMETHEUS_CA_FILE)",
    )
    p.add_argument(
        "--prometheus-basic-auth-file",
        default=env_default("API_PROMETHEUS_BASIC_AUTH_FILE", None),
        help="file whose first line is username:password (API_PROMETHEUS_BASIC_AUTH_FILE)",
    )
    p.add_argument(
        "--tokens-file",
        default=env_default("API_TOKENS_FILE", None),
        help="file of '<tenant> <token>' lines, tenant * for an admin (API_TOKENS_FILE, required)",
    )
    p.add_argument(
        "--listen-address",
        default=env_default("API_LISTEN_ADDRESS", "127.0.0.1"),
        help="address to listen on (API_LISTEN_ADDRESS, default 127.0.0.1)",
    )
    p.add_argument(
        "--port", type=int, default=env_default("API_PORT", 9472), help="port to listen on (API_PORT, default 9472)"
    )
    p.add_argument(
        "--query-timeout",
        type=float,
        default=env_default("API_QUERY_TIMEOUT", 10.0),
        help="seconds a query may take from its start to its last byte (API_QUERY_TIMEOUT)",
    )
    defaults = StreamLimits()
    p.add_argument(
        "--stream-interval",
        type=float,
        default=env_default("API_STREAM_INTERVAL", defaults.interval),
        help=f"seconds between stream polls, at least 1 (API_STREAM_INTERVAL, default {defaults.interval:g})",
    )
    p.add_argument(
        "--stream-max-subscribers",
        type=int,
        default=env_default("API_STREAM_MAX_SUBSCRIBERS", defaults.max_subscribers),
        help="stream subscribers at most; one more is answered 503 (API_STREAM_MAX_SUBSCRIBERS)",
    )
    p.add_argument(
        "--stream-queue-size",
        type=int,
        default=env_default("API_STREAM_QUEUE_SIZE", defaults.queue_size),
        help="polls a subscriber may fall behind before it is dropped (API_STREAM_QUEUE_SIZE)",
    )
    p.add_argument(
        "--stream-send-timeout",
        type=float,
        default=env_default("API_STREAM_SEND_TIMEOUT", defaults.send_timeout),
        help="seconds one poll's batch may take to send before the subscriber is dropped (API_STREAM_SEND_TIMEOUT)",
    )
    add_server_flags(p, "API")
    return p.parse_args(argv)


def main(argv=None) -> int:
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
