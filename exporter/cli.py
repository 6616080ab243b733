"""``voice-exporter``: run the exporter.  Every flag has an environment variable twin."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

from voice_monitoring.exporter import state_file
from voice_monitoring.exporter.mapping import Exporter, Limits
from voice_monitoring.exporter.pricing import PriceTable, PriceTableError
from voice_monitoring.exporter.server import ExporterServer
from voice_monitoring.exporter.webhooks.config import add_webhook_flags, read_secret, webhook_routes
from voice_monitoring.shared.http_service import ServerLimits, add_server_flags, env_default, server_limits

log = logging.getLogger("voice-exporter")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="voice-exporter", description="Bridge voice engine events to Prometheus.")
    d = Limits()
    p.add_argument(
        "--listen-address",
        default=env_default("EXPORTER_LISTEN_ADDRESS", "127.0.0.1"),
        help="address to listen on (EXPORTER_LISTEN_ADDRESS, default 127.0.0.1)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=env_default("EXPORTER_PORT", 9470),
        help="port to listen on (EXPORTER_PORT, default 9470)",
    )
    p.add_argument(
        "--grace-seconds",
        type=float,
        default=env_default("EXPORTER_GRACE_SECONDS", d.grace_seconds),
        help="how long a call's series outlive call.ended (EXPORTER_GRACE_SECONDS)",
    )
    p.add_argument(
        "--idle-seconds",
        type=float,
        default=env_default("EXPORTER_IDLE_SECONDS", d.idle_seconds),
        help="expire a call with no event for this long (EXPORTER_IDLE_SECONDS)",
    )
    p.add_argument(
        "--label-limit",
        type=int,
        default=env_default("EXPORTER_LABEL_LIMIT", d.label_values),
        help="distinct values per label before folding into 'other' (EXPORTER_LABEL_LIMIT)",
    )
    p.add_argument(
        "--series-budget",
        type=int,
        default=env_default("EXPORTER_SERIES_BUDGET", d.series_budget),
        help="series per fleet metric before new label combinations fold into one 'other' series "
        "(EXPORTER_SERIES_BUDGET)",
    )
    p.add_argument(
        "--max-live-calls",
        type=int,
        default=env_default("EXPORTER_MAX_LIVE_CALLS", d.max_live_calls),
        help="refuse events of new calls beyond this many live calls (EXPORTER_MAX_LIVE_CALLS)",
    )
    p.add_argument(
        "--report-ttl-seconds",
        type=float,
        default=env_default("EXPORTER_REPORT_TTL_SECONDS", d.report_ttl_seconds),
        help="drop a worker's, breaker's or provider's last reported value after this long without "
        "a report (EXPORTER_REPORT_TTL_SECONDS)",
    )
    p.add_argument(
        "--per-call-sample-ratio",
        type=float,
        default=env_default("EXPORTER_PER_CALL_SAMPLE_RATIO", d.per_call_sample_ratio),
        help="fraction of calls, chosen by a hash of call_id, whose per-call series are exposed; calls that breach "
        "a quality gate are exposed too; fleet metrics count every call (EXPORTER_PER_CALL_SAMPLE_RATIO, default 1)",
    )
    p.add_argument(
        "--max-age-seconds",
        type=float,
        default=env_default("EXPORTER_MAX_AGE_SECONDS", d.max_age_seconds),
        help="refuse events older than this; an event id is remembered until a retry of its event would be "
        "refused, this plus --max-future-seconds (EXPORTER_MAX_AGE_SECONDS)",
    )
    p.add_argument(
        "--max-future-seconds",
        type=float,
        default=env_default("EXPORTER_MAX_FUTURE_SECONDS", d.max_future_seconds),
        help="refuse events this far in the future (EXPORTER_MAX_FUTURE_SECONDS)",
    )
    p.add_argument(
        "--feedback-window-seconds",
        type=float,
        default=env_default("EXPORTER_FEEDBACK_WINDOW_SECONDS", d.feedback_window_seconds),
        help="accept a call's feedback this long after its call.ended; later feedback is refused as "
        "feedback_too_late (EXPORTER_FEEDBACK_WINDOW_SECONDS, default an hour)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=env_default("EXPORTER_MAX_BODY_BYTES", ServerLimits.max_body_bytes),
        help="largest request body accepted (EXPORTER_MAX_BODY_BYTES)",
    )
    p.add_argument(
        "--max-batch",
        type=int,
        default=env_default("EXPORTER_MAX_BATCH", 10_000),
        help="most events in one request (EXPORTER_MAX_BATCH)",
    )
    p.add_argument(
        "--price-table",
        default=env_default("EXPORTER_PRICE_TABLE", None),
        help="YAML price table laid over the defaults (EXPORTER_PRICE_TABLE)",
    )
    p.add_argument(
        "--state-file",
        default=env_default("EXPORTER_STATE_FILE", None),
        help="SQLite file the live calls and event ids are written to on shutdown and read back from on start, "
        "so a restart loses nothing (EXPORTER_STATE_FILE; off by default)",
    )
    p.add_argument(
        "--token-file",
        default=env_default("EXPORTER_TOKEN_FILE", None),
        help="file holding the ingest bearer token (EXPORTER_TOKEN_FILE); EXPORTER_TOKEN sets it directly",
    )
    add_webhook_flags(p)
    add_server_flags(p, "EXPORTER")
    args = p.parse_args(argv)
    if args.series_budget < 1:
        p.error("--series-budget must be at least 1")
    if not 0.0 <= args.per_call_sample_ratio <= 1.0:
        p.error("--per-call-sample-ratio must be between 0 and 1")
    try:
        args.limits = server_limits(args, max_body_bytes=args.max_body_bytes)
    except ValueError as exc:
        p.error(str(exc))
    return args


def read_token(args) -> str | None:
    return read_secret(args.token_file, "EXPORTER_TOKEN")


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        prices = PriceTable.load(args.price_table)
        token = read_token(args)
    except (PriceTableError, OSError) as exc:
        print(f"voice-exporter: {exc}", file=sys.stderr)
        return 2
    limits = Limits(
        label_values=args.label_limit,
        series_budget=args.series_budget,
        grace_seconds=args.grace_seconds,
        idle_seconds=args.idle_seconds,
        max_live_calls=args.max_live_calls,
        max_age_seconds=args.max_age_seconds,
        max_future_seconds=args.max_future_seconds,
        report_ttl_seconds=args.report_ttl_seconds,
        per_call_sample_ratio=args.per_call_sample_ratio,
        feedback_window_seconds=args.feedback_window_seconds,
    )
    exporter = Exporter(limits, prices)
    try:
        webhooks = webhook_routes(args, exporter)
    except OSError as exc:
        print(f"voice-exporter: {exc}", file=sys.stderr)
        return 2
    if args.state_file:
        try:
            state_file.restore(exporter, args.state_file)
        except state_file.StateFileError as exc:
            aside = f"{args.state_file}.unreadable"
            os.replace(args.state_file, aside)
            log.error("starting without the saved state, moved to %s: %s", aside, exc)
    server = ExporterServer(
        (args.listen_address, args.port), exporter, token=token, max_events=args.max_batch, limits=args.limits
    )
    for path, handler in webhooks.items():
        server.add_webhook(path, handler)
    stop = threading.Event()

    def sweeper():
        while not stop.wait(1.0):
            exporter.sweep()

    def bound():
        threading.Thread(target=sweeper, name="sweeper", daemon=True).start()
        server.ready = True
        log.info(
            "listening on http://%s:%d (token %s)",
            args.listen_address,
            server.port,
            "required" if token else "not required",
        )

    def save_state():
        calls = state_file.save(exporter, args.state_file)
        log.info("saved %d calls to %s", calls, args.state_file)

    server.on_shutdown.append(stop.set)
    if args.state_file:
        server.on_shutdown.append(save_state)
    server.serve(bound)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
