"""The exporter's webhook flags, the secrets they name, and the routes they make.

Each secret comes from a file (flag or ``*_FILE`` variable) or directly from an environment variable.
"""

from __future__ import annotations

import argparse
import os

from voice_monitoring.exporter.core import Exporter
from voice_monitoring.exporter.webhooks.receiver import WebhookReceiver
from voice_monitoring.exporter.webhooks.reports import REPORT_MAX_AGE_SECONDS
from voice_monitoring.exporter.webhooks.retell import RetellEvents
from voice_monitoring.exporter.webhooks.vapi import VapiAuth, VapiMessages
from voice_monitoring.shared.flags import Flag, add_flags

VAPI_PATH = "/v1/webhooks/vapi"
RETELL_PATH = "/v1/webhooks/retell"


WEBHOOK_FLAGS = (
    Flag(
        "--vapi-secret-file",
        "VAPI_WEBHOOK_SECRET_FILE",
        str,
        None,
        "file holding the Vapi server URL secret ({env}); VAPI_WEBHOOK_SECRET sets it directly; without one "
        f"{VAPI_PATH} accepts unauthenticated messages",
    ),
    Flag(
        "--vapi-token-header",
        "VAPI_TOKEN_HEADER",
        str,
        "Authorization",
        "header carrying Vapi's bearer token ({env}, default Authorization)",
    ),
    Flag(
        "--retell-api-key-file",
        "RETELL_API_KEY_FILE",
        str,
        None,
        "file holding the Retell API key that signs its webhooks ({env}); RETELL_API_KEY sets it directly; "
        f"without one {RETELL_PATH} refuses every request",
    ),
    Flag(
        "--webhook-report-max-age-seconds",
        "WEBHOOK_REPORT_MAX_AGE_SECONDS",
        float,
        REPORT_MAX_AGE_SECONDS,
        "accept a post-call report whose call started at most this long ago, and remember it as long "
        "to count a redelivery once ({env}, default one day)",
    ),
)


def add_webhook_flags(p: argparse.ArgumentParser) -> None:
    add_flags(p, WEBHOOK_FLAGS)


def read_secret(path: str | None, variable: str) -> str | None:
    """The secret in ``path`` when given, else the environment variable; None when neither holds one."""
    if path:
        with open(path) as f:
            return f.read().strip() or None
    return os.environ.get(variable) or None


def webhook_routes(args: argparse.Namespace, exporter: Exporter) -> dict[str, WebhookReceiver]:
    """Path -> handler of every platform webhook, configured from ``args``."""
    vapi = VapiAuth(read_secret(args.vapi_secret_file, "VAPI_WEBHOOK_SECRET"), token_header=args.vapi_token_header)
    retell_key = read_secret(args.retell_api_key_file, "RETELL_API_KEY")
    max_age = args.webhook_report_max_age_seconds
    return {
        VAPI_PATH: WebhookReceiver(VapiMessages(vapi), exporter, max_age),
        RETELL_PATH: WebhookReceiver(RetellEvents(retell_key), exporter, max_age),
    }
