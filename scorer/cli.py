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
from voice_monitoring.shared.http_service import add_server_flags, env_default, server_limits

log = logging.getLogger("voice-scorer")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="voice-scorer", description="Score live calls from the exporter's series.")
    p.add_argument(
        "--prometheus-url",
        default=env_default("SCORER_PROMETHEUS_URL", "http://127.0.0.1:9090"),
        help="Prometheus to query (SCORER_PROMETHEUS_URL)",
    )
    p.add_argument(
        "--prometheus-ca-file",
        default=env_default("SCORER_PROMETHEUS_CA_FILE", None),
        help="CA bundle (PEM) that verifies an https Prometheus; the system's by default (SCORER_PROMETHEUS_CA_FILE)",
    )
    p.add_argument(
        "--prometheus-cert-file",
        default=env_default("SCORER_PROMETHEUS_CERT_FILE", None),
        help="client certificate (PEM) for a Prometheus asking for one (SCORER_PROMETHEUS_CERT_FILE)",
    )
    p.add_argument(
        "--prometheus-key-file",
        default=env_default("SCORER_PROMETHEUS_KEY_FILE", None),
        help="the client certificate's private key (PEM) (SCORER_PROMETHEUS_KEY_FILE)",
    )
    p.add_argument(
        "--prometheus-basic-auth-file",
        default=env_default("SCORER_PROMETHEUS_BASIC_AUTH_FILE", None),
        help="file whose first line is username:password, for basic auth (SCORER_PROMETHEUS_BASIC_AUTH_FILE)",
    )
    p.add_argument(
        "--listen-address",
        default=env_default("SCORER_LISTEN_ADDRESS", "127.0.0.1"),
        help="address to listen on (SCORER_LISTEN_ADDRESS, default 127.0.0.1)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=env_default("SCORER_PORT", 9471),
        help="port to listen on (SCORER_PORT, default 9471)",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=env_default("SCORER_INTERVAL", 30.0),
        help="seconds between scoring cycles (SCORER_INTERVAL)",
    )
    p.add_argument(
        "--query-timeout",
        type=float,
        default=env_default("SCORER_QUERY_TIMEOUT", 10.0),
        help="seconds a query may take from its start to its last byte (SCORER_QUERY_TIMEOUT)",
    )
    p.add_argument(
        "--job",
        default=env_default("SCORER_JOB", "voice_exporter"),
        help="Prometheus job of the exporter; empty for any (SCORER_JOB)",
    )
    p.add_argument(
        "--scoring-parameters",
        default=env_default("SCORER_SCORING_PARAMETERS", None),
        help="YAML or JSON file overriding the default scoring parameters (SCORER_SCORING_PARAMETERS)",
    )
    p.add_argument(
        "--call-grace-seconds",
        type=float,
        default=env_default("SCORER_CALL_GRACE_SECONDS", 60.0),
        help="keep publishing a call this long after its inputs disappear (SCORER_CALL_GRACE_SECONDS)",
    )
    p.add_argument(
        "--final-record-seconds",
        type=float,
        default=env_default("SCORER_FINAL_RECORD_SECONDS", final_records.DEFAULT_TTL_SECONDS),
        help="hold an ended call's final record (score, band, main penalty, cost) this long and publish it while the "
        "call ranks among the worst of its provider or the costliest of its tenant ended since, for the dashboards' "
        "calls-in-range tables (SCORER_FINAL_RECORD_SECONDS)",
    )
    p.add_argument(
        "--final-records-ranked",
        type=int,
        default=env_default("SCORER_FINAL_RECORDS_RANKED", final_records.DEFAULT_RANKED),
        help="final records published: this many worst per provider and this many costliest per tenant "
        "(SCORER_FINAL_RECORDS_RANKED)",
    )
    p.add_argument(
        "--final-records-max",
        type=int,
        default=env_default("SCORER_FINAL_RECORDS_MAX", final_records.DEFAULT_CAPACITY),
        help="final records held at most; the oldest are dropped first and counted (SCORER_FINAL_RECORDS_MAX)",
    )
    p.add_argument(
        "--expire-after-cycles",
        type=int,
        default=env_default("SCORER_EXPIRE_AFTER_CYCLES", 3),
        help="withdraw all scores after this many intervals without a successful read (SCORER_EXPIRE_AFTER_CYCLES)",
    )
    p.add_argument(
        "--max-backoff-seconds",
        type=float,
        default=env_default("SCORER_MAX_BACKOFF_SECONDS", 300.0),
        help="longest wait between attempts while Prometheus fails (SCORER_MAX_BACKOFF_SECONDS)",
    )
    p.add_argument(
        "--calibration-window-seconds",
        type=float,
        default=env_default("SCORER_CALIBRATION_WINDOW_SECONDS", 86400.0),
        help="rolling window of the feedback calibration figures (SCORER_CALIBRATION_WINDOW_SECONDS, default a day)",
    )
    p.add_argument(
        "--calibration-min-samples",
        type=int,
        default=env_default("SCORER_CALIBRATION_MIN_SAMPLES", 50),
        help="ratings a provider's AUC needs (a tenth of them negative, a tenth not); a band's mean rating needs a "
        "fifth of this (SCORER_CALIBRATION_MIN_SAMPLES, default 50)",
    )
    p.add_argument(
        "--calibration-sources",
        default=env_default("SCORER_CALIBRATION_SOURCES", ",".join(SOURCES)),
        help="comma-separated feedback sources the calibration counts (SCORER_CALIBRATION_SOURCES, default all)",
    )
    p.add_argument(
        "--feedback-window-seconds",
        type=float,
        default=env_default("SCORER_FEEDBACK_WINDOW_SECONDS", FEEDBACK_WINDOW_SECONDS),
        help="keep a call's final score this long for its feedback; set it to the exporter's "
        "--feedback-window-seconds (SCORER_FEEDBACK_WINDOW_SECONDS)",
    )
    add_server_flags(p, "SCORER")
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
        args.prometheus = prometheus_client(args)
    except ValueError as exc:
        p.error(str(exc))
    return args


def prometheus_client(args: argparse.Namespace) -> PrometheusClient:
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


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(argv)
    disable_created_metrics()
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
        call_grace_seconds=args.call_grace_seconds,
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

    def bound():
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
    server.serve(bound)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
