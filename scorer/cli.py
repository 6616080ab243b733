"""``voice-scorer``: score every live call from Prometheus.  Every flag has an environment variable twin."""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from prometheus_client import disable_created_metrics

from voice_monitoring.scorer import final_records
from voice_monitoring.scorer.calibration import Calibration
from voice_monitoring.scorer.inputs import InputReader
from voice_monitoring.scorer.promql import PrometheusClient, Security, read_basic_auth_file
from voice_monitoring.scorer.scoring_parameters import ScoringParametersError, load
from voice_monitoring.scorer.server import ScorerServer
from voice_monitoring.scorer.service import Scorer
from voice_monitoring.shared.feedback import FEEDBACK_WINDOW_SECONDS, SOURCES
from voice_monitoring.shared.flags import Flag, add_flags, server_flags, server_limits

log = logging.getLogger("voice-scorer")


FLAGS = (
    Flag("--prometheus-url", "SCORER_PROMETHEUS_URL", str, "http://127.0.0.1:9090", "Prometheus to query ({env})"),
    Flag(
        "--prometheus-ca-file",
        "SCORER_PROMETHEUS_CA_FILE",
        str,
        None,
        "CA bundle (PEM) that verifies an https Prometheus; the system's by default ({env})",
    ),
    Flag(
        "--prometheus-cert-file",
        "SCORER_PROMETHEUS_CERT_FILE",
        str,
        None,
        "client certificate (PEM) for a Prometheus asking for one ({env})",
    ),
    Flag(
        "--prometheus-key-file",
        "SCORER_PROMETHEUS_KEY_FILE",
        str,
        None,
        "the client certificate's private key (PEM) ({env})",
    ),
    Flag(
        "--prometheus-basic-auth-file",
        "SCORER_PROMETHEUS_BASIC_AUTH_FILE",
        str,
        None,
        "file whose first line is username:password, for basic auth ({env})",
    ),
    Flag(
        "--listen-address", "SCORER_LISTEN_ADDRESS", str, "127.0.0.1", "address to listen on ({env}, default 127.0.0.1)"
    ),
    Flag("--port", "SCORER_PORT", int, 9471, "port to listen on ({env}, default 9471)"),
    Flag("--interval", "SCORER_INTERVAL", float, 30.0, "seconds between scoring cycles ({env})"),
    Flag(
        "--query-timeout",
        "SCORER_QUERY_TIMEOUT",
        float,
        10.0,
        "seconds a query may take from its start to its last byte ({env})",
    ),
    Flag("--job", "SCORER_JOB", str, "voice_exporter", "Prometheus job of the exporter; empty for any ({env})"),
    Flag(
        "--scoring-parameters",
        "SCORER_SCORING_PARAMETERS",
        str,
        None,
        "YAML or JSON file overriding the default scoring parameters ({env})",
    ),
    Flag(
        "--keep-absent-call-seconds",
        "SCORER_KEEP_ABSENT_CALL_SECONDS",
        float,
        60.0,
        "keep publishing a call this long after its series are missing from Prometheus' answers ({env})",
        deprecated=("--call-grace-seconds", "SCORER_CALL_GRACE_SECONDS"),
    ),
    Flag(
        "--final-record-seconds",
        "SCORER_FINAL_RECORD_SECONDS",
        float,
        final_records.DEFAULT_TTL_SECONDS,
        "hold an ended call's final record (score, band, main penalty, cost) this long and publish it while the "
        "call ranks among the worst of its provider or the costliest of its tenant ended since, for the dashboards' "
        "calls-in-range tables ({env})",
    ),
    Flag(
        "--final-records-ranked",
        "SCORER_FINAL_RECORDS_RANKED",
        int,
        final_records.DEFAULT_RANKED,
        "final records published: this many worst per provider and this many costliest per tenant ({env})",
    ),
    Flag(
        "--final-records-max",
        "SCORER_FINAL_RECORDS_MAX",
        int,
        final_records.DEFAULT_CAPACITY,
        "final records held at most; the oldest are dropped first and counted ({env})",
    ),
    Flag(
        "--expire-after-cycles",
        "SCORER_EXPIRE_AFTER_CYCLES",
        int,
        3,
        "withdraw all scores after this many intervals without a successful read ({env})",
    ),
    Flag(
        "--max-backoff-seconds",
        "SCORER_MAX_BACKOFF_SECONDS",
        float,
        300.0,
        "longest wait between attempts while Prometheus fails ({env})",
    ),
    Flag(
        "--calibration-window-seconds",
        "SCORER_CALIBRATION_WINDOW_SECONDS",
        float,
        86400.0,
        "rolling window of the feedback calibration figures ({env}, default a day)",
    ),
    Flag(
        "--calibration-min-samples",
        "SCORER_CALIBRATION_MIN_SAMPLES",
        int,
        50,
        "ratings a provider's AUC needs (a tenth of them negative, a tenth not); a band's mean rating needs a "
        "fifth of this ({env}, default 50)",
    ),
    Flag(
        "--calibration-sources",
        "SCORER_CALIBRATION_SOURCES",
        str,
        ",".join(SOURCES),
        "comma-separated feedback sources the calibration counts ({env}, default all)",
    ),
    Flag(
        "--feedback-window-seconds",
        "SCORER_FEEDBACK_WINDOW_SECONDS",
        float,
        FEEDBACK_WINDOW_SECONDS,
        "keep a call's final score this long for its feedback; set it to the exporter's "
        "--feedback-window-seconds ({env})",
    ),
    *server_flags("SCORER"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="voice-scorer", description="Score live calls from the exporter's series.")
    add_flags(p, FLAGS)
    args = p.parse_args(argv)
    args.calibration_sources = [s.strip() for s in args.calibration_sources.split(",") if s.strip()]
    unknown = sorted(set(args.calibration_sources) - set(SOURCES))
    if unknown:
        p.error(f"--calibration-sources: unknown source {', '.join(unknown)}; choose from {', '.join(SOURCES)}")
    if args.calibration_min_samples < 1 or args.calibration_window_seconds <= 0:
        p.error("--calibration-min-samples must be at least 1 and --calibration-window-seconds positive")
    try:
        args.limits = server_limits(args)
    except ValueError as exc:
        p.error(str(exc))
    if args.interval <= 0 or args.query_timeout <= 0 or args.expire_after_cycles < 1:
        p.error("--interval and --query-timeout must be positive, --expire-after-cycles at least 1")
    try:
        args.prometheus = promql_client(args)
    except ValueError as exc:
        p.error(str(exc))
    return args


def promql_client(args: argparse.Namespace) -> PrometheusClient:
    """The client the flags describe; raises ValueError naming the flag or file at fault."""
    if bool(args.prometheus_cert_file) != bool(args.prometheus_key_file):
        raise ValueError("--prometheus-cert-file and --prometheus-key-file go together")
    username = password = None
    if args.prometheus_basic_auth_file:
        try:
            username, password = read_basic_auth_file(args.prometheus_basic_auth_file)
        except OSError as exc:
            raise ValueError(f"--prometheus-basic-auth-file: {exc.filename}: {exc.strerror}") from None
    security = Security(
        args.prometheus_ca_file or None,
        args.prometheus_cert_file or None,
        args.prometheus_key_file or None,
        username,
        password,
    )
    try:
        return PrometheusClient(args.prometheus_url, args.query_timeout, security=security)
    except OSError as exc:  # ssl.SSLError included
        files = ", ".join(f for f in (security.ca_file, security.cert_file, security.key_file) if f)
        raise ValueError(f"cannot load the TLS files ({files}): {exc.strerror or exc}") from None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(argv)
    disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
    try:
        parameters = load(args.scoring_parameters)
    except (ScoringParametersError, OSError) as exc:
        print(f"voice-scorer: {exc}", file=sys.stderr)
        return 2
    reader = InputReader(args.prometheus, job=args.job or None)
    scorer = Scorer(
        reader,
        parameters,
        interval=args.interval,
        keep_absent_call_seconds=args.keep_absent_call_seconds,
        expire_after_cycles=args.expire_after_cycles,
        max_backoff_seconds=args.max_backoff_seconds,
        calibration=Calibration(
            window_seconds=args.calibration_window_seconds,
            min_samples=args.calibration_min_samples,
            feedback_window_seconds=args.feedback_window_seconds,
            sources=args.calibration_sources,
        ),
        final_records=final_records.FinalRecords(
            args.final_record_seconds, args.final_records_max, args.final_records_ranked
        ),
    )
    server = ScorerServer((args.listen_address, args.port), scorer, args.limits)
    stop = threading.Event()

    def bound() -> None:
        threading.Thread(target=scorer.run, args=(stop,), name="scoring", daemon=True).start()
        log.info(
            "listening on http://%s:%d, scoring every %gs from %s",
            args.listen_address,
            server.port,
            args.interval,
            reader.client.base_url,  # without credentials
        )

    server.on_shutdown.append(stop.set)
    server.on_shutdown.append(reader.close)
    server.on_shutdown.append(args.prometheus.close)
    server.serve(bound)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
