"""``voice-exporter``: run the exporter.  Every flag has an environment variable twin."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from voice_monitoring.exporter import state_file
from voice_monitoring.exporter.core import Exporter, Limits
from voice_monitoring.exporter.housekeeping import Housekeeping
from voice_monitoring.exporter.pricing import PriceTable, PriceTableError
from voice_monitoring.exporter.server import ExporterServer
from voice_monitoring.exporter.webhooks.config import WEBHOOK_FLAGS, read_secret, webhook_routes
from voice_monitoring.shared.flags import Flag, add_flags, server_flags, server_limits
from voice_monitoring.shared.http_service import ServerLimits

log = logging.getLogger("voice-exporter")


_LIMITS = Limits()
FLAGS = (
    Flag(
        "--listen-address",
        "EXPORTER_LISTEN_ADDRESS",
        str,
        "127.0.0.1",
        "address to listen on ({env}, default 127.0.0.1)",
    ),
    Flag("--port", "EXPORTER_PORT", int, 9470, "port to listen on ({env}, default 9470)"),
    Flag(
        "--grace-seconds",
        "EXPORTER_GRACE_SECONDS",
        float,
        _LIMITS.grace_seconds,
        "how long a call's series outlive call.ended ({env})",
    ),
    Flag(
        "--idle-seconds",
        "EXPORTER_IDLE_SECONDS",
        float,
        _LIMITS.idle_seconds,
        "expire a call with no event for this long ({env})",
    ),
    Flag(
        "--label-limit",
        "EXPORTER_LABEL_LIMIT",
        int,
        _LIMITS.label_values,
        "distinct values per label before folding into 'other' ({env})",
    ),
    Flag(
        "--series-budget",
        "EXPORTER_SERIES_BUDGET",
        int,
        _LIMITS.series_budget,
        "series per fleet metric before new label combinations fold into one 'other' series ({env})",
    ),
    Flag(
        "--max-live-calls",
        "EXPORTER_MAX_LIVE_CALLS",
        int,
        _LIMITS.max_live_calls,
        "refuse events of new calls beyond this many live calls ({env})",
    ),
    Flag(
        "--report-ttl-seconds",
        "EXPORTER_REPORT_TTL_SECONDS",
        float,
        _LIMITS.report_ttl_seconds,
        "drop a worker's, breaker's or provider's last reported value after this long without a report ({env})",
    ),
    Flag(
        "--per-call-sample-ratio",
        "EXPORTER_PER_CALL_SAMPLE_RATIO",
        float,
        _LIMITS.per_call_sample_ratio,
        "fraction of calls, chosen by a hash of call_id, whose per-call series are exposed; calls that breach "
        "a quality gate are exposed too; fleet metrics count every call ({env}, default 1)",
    ),
    Flag(
        "--max-age-seconds",
        "EXPORTER_MAX_AGE_SECONDS",
        float,
        _LIMITS.max_age_seconds,
        "refuse events older than this; an event id is remembered until a retry of its event would be "
        "refused, this plus --max-future-seconds ({env})",
    ),
    Flag(
        "--max-future-seconds",
        "EXPORTER_MAX_FUTURE_SECONDS",
        float,
        _LIMITS.max_future_seconds,
        "refuse events this far in the future ({env})",
    ),
    Flag(
        "--feedback-window-seconds",
        "EXPORTER_FEEDBACK_WINDOW_SECONDS",
        float,
        _LIMITS.feedback_window_seconds,
        "accept a call's feedback this long after its call.ended; later feedback is refused as "
        "feedback_too_late ({env}, default an hour)",
    ),
    Flag(
        "--max-body-bytes",
        "EXPORTER_MAX_BODY_BYTES",
        int,
        ServerLimits.max_body_bytes,
        "largest request body accepted ({env})",
    ),
    Flag(
        "--max-batch",
        "EXPORTER_MAX_BATCH",
        int,
        10_000,
        "most events in one request, and spans in one OTLP traces request ({env})",
    ),
    Flag("--price-table", "EXPORTER_PRICE_TABLE", str, None, "YAML price table laid over the defaults ({env})"),
    Flag(
        "--state-file",
        "EXPORTER_STATE_FILE",
        str,
        None,
        "SQLite file the live calls and event ids are written to on shutdown and read back from on start, "
        "so a restart loses nothing ({env}; off by default)",
    ),
    Flag(
        "--state-checkpoint-seconds",
        "EXPORTER_STATE_CHECKPOINT_SECONDS",
        float,
        5.0,
        "also write the state file this often, so a crash loses at most this window; 0 writes it on shutdown "
        "only ({env}, default 5)",
    ),
    Flag(
        "--token-file",
        "EXPORTER_TOKEN_FILE",
        str,
        None,
        "file holding the ingest bearer token ({env}); EXPORTER_TOKEN sets it directly",
    ),
    *WEBHOOK_FLAGS,
    *server_flags("EXPORTER"),
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="voice-exporter", description="Bridge voice engine events to Prometheus.")
    add_flags(p, FLAGS)
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


def read_token(args: argparse.Namespace) -> str | None:
    return read_secret(args.token_file, "EXPORTER_TOKEN")


def main(argv: Sequence[str] | None = None) -> int:
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
    housekeeping = Housekeeping(exporter, state_path=args.state_file, checkpoint_seconds=args.state_checkpoint_seconds)
    server = ExporterServer(
        (args.listen_address, args.port),
        exporter,
        token=token,
        max_events=args.max_batch,
        limits=args.limits,
        housekeeping=housekeeping,
    )
    for path, handler in webhooks.items():
        server.add_webhook(path, handler)

    def bound() -> None:
        server.ready = True
        log.info(
            "listening on http://%s:%d (token %s)",
            args.listen_address,
            server.port,
            "required" if token else "not required",
        )

    server.serve(bound)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
