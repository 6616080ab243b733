"""Checking a webhook's credentials over the raw body, with the standard library only."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from voice_monitoring.exporter.credentials import MALFORMED, MISSING, STALE, WRONG
from voice_monitoring.exporter.webhooks.payload import WebhookRefused

SIGNATURE_TOLERANCE_SECONDS = 300.0


class Unauthenticated(WebhookRefused):
    """A 401: the request's credentials are missing, malformed, wrong or stale (``reason``, from
    ``exporter.credentials``)."""

    def __init__(self, reason: str, message: str):
        super().__init__(401, "unauthorized", message)
        self.reason = reason


def unauthorized(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(reason, message)


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check_fresh(stamp_seconds: float, now: float, tolerance: float = SIGNATURE_TOLERANCE_SECONDS) -> None:
    if abs(now - stamp_seconds) > tolerance:
        raise unauthorized(STALE, f"the signature's timestamp is more than {tolerance:g} s from the exporter's clock")


_RETELL = re.compile(r"v=(\d{1,15}),d=([0-9a-f]{64})")
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def verify_retell(header: str | None, body: bytes, api_key: str, now: float) -> None:
    """``x-retell-signature: v=<ms>,d=<hex HMAC-SHA256(api key, body + ms)>``, within the tolerance."""
    if not header:
        raise unauthorized(MISSING, "x-retell-signature is missing")
    match = _RETELL.fullmatch(header.strip())
    if match is None:
        raise unauthorized(MALFORMED, "x-retell-signature must read v=<milliseconds>,d=<64 hex digits>")
    stamp, digest = match.groups()
    check_fresh(int(stamp) / 1000.0, now)
    if not same(digest, hmac_sha256_hex(api_key, body + stamp.encode())):
        raise unauthorized(WRONG, "x-retell-signature does not match the body")


def verify_timestamped_hmac(signature: str, stamp: str | None, body: bytes, secret: str, now: float) -> None:
    """Vapi's HMAC plan with its defaults: hex HMAC-SHA256 over ``<timestamp>.<body>``, ``sha256=`` prefix allowed.

    The timestamp may be in seconds or milliseconds since the epoch.
    """
    if not stamp or not stamp.strip().isdigit() or len(stamp.strip()) > 15:
        raise unauthorized(MALFORMED, "an HMAC signature needs its timestamp header (Unix seconds or milliseconds)")
    given = signature.strip()
    if given.lower().startswith("sha256="):
        given = given[7:]
    if _HEX_DIGEST.fullmatch(given) is None:
        raise unauthorized(MALFORMED, "an HMAC signature is 64 hex digits, after an optional sha256= prefix")
    stamp = stamp.strip()
    value = int(stamp)
    check_fresh(value / 1000.0 if value > 10**11 else float(value), now)
    if not same(given.lower(), hmac_sha256_hex(secret, stamp.encode() + b"." + body)):
        raise unauthorized(WRONG, "the HMAC signature does not match the body")
