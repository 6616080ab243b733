"""Webhook signatures over the raw body: Retell's ``v=<ms>,d=<hex>`` and Vapi's timestamped HMAC, each refusal a
401 with its reason, and the freshness window inclusive at both ends."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from voice_monitoring.exporter.credentials import MALFORMED, MISSING, STALE, WRONG
from voice_monitoring.exporter.webhooks.signatures import (
    SIGNATURE_TOLERANCE_SECONDS,
    Unauthenticated,
    check_fresh,
    lower_keys,
    verify_retell,
    verify_timestamped_hmac,
)

NOW = 1_800_000_000.0
SECRET = "whsec-test"
BODY = b'{"event": "call_ended"}'


def digest(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def retell_header(stamp_ms: int, body: bytes = BODY) -> str:
    return f"v={stamp_ms},d={digest(body + str(stamp_ms).encode())}"


def refusal(verify, *args) -> str:
    with pytest.raises(Unauthenticated) as refused:
        verify(*args)
    assert refused.value.status == 401 and refused.value.outcome == "unauthorized"
    return refused.value.reason


def test_freshness_is_inclusive_at_the_tolerance_in_both_directions():
    check_fresh(NOW - SIGNATURE_TOLERANCE_SECONDS, NOW)
    check_fresh(NOW + SIGNATURE_TOLERANCE_SECONDS, NOW)
    assert refusal(check_fresh, NOW - SIGNATURE_TOLERANCE_SECONDS - 0.001, NOW) == STALE
    assert refusal(check_fresh, NOW + SIGNATURE_TOLERANCE_SECONDS + 0.001, NOW) == STALE
    assert refusal(check_fresh, NOW - 11, NOW, 10) == STALE


def test_a_retell_signature_over_the_body_and_its_stamp_passes():
    verify_retell(retell_header(int(NOW * 1000)), BODY, SECRET, NOW)
    verify_retell("  " + retell_header(int(NOW * 1000) - 299_000) + "\n", BODY, SECRET, NOW)


@pytest.mark.parametrize(
    "header, reason",
    [
        (None, MISSING),
        ("", MISSING),
        ("d=" + "0" * 64, MALFORMED),
        (f"v={int(NOW * 1000)},d={'A' * 64}", MALFORMED),  # Retell writes lowercase hex
        (f"v={int(NOW * 1000)},d={'0' * 63}", MALFORMED),
        (f"v=1{'0' * 15},d={'0' * 64}", MALFORMED),  # more digits than a millisecond stamp has
        (f"v={int(NOW * 1000)},d={'0' * 64}", WRONG),
    ],
)
def test_a_retell_header_that_is_absent_malformed_or_wrong_is_refused_with_why(header, reason):
    assert refusal(verify_retell, header, BODY, SECRET, NOW) == reason


def test_a_retell_signature_is_bound_to_its_body_its_stamp_and_the_key():
    stamp = int(NOW * 1000)
    assert refusal(verify_retell, retell_header(stamp), BODY + b" ", SECRET, NOW) == WRONG
    assert refusal(verify_retell, retell_header(stamp), BODY, SECRET + "x", NOW) == WRONG
    forged = retell_header(stamp).replace(f"v={stamp}", f"v={stamp + 1}")
    assert refusal(verify_retell, forged, BODY, SECRET, NOW) == WRONG
    assert refusal(verify_retell, retell_header(stamp - 301_000), BODY, SECRET, NOW) == STALE


@pytest.mark.parametrize("stamp", [str(int(NOW)), str(int(NOW * 1000))])
@pytest.mark.parametrize("prefix", ["", "sha256=", "SHA256="])
def test_a_vapi_hmac_passes_with_its_stamp_in_seconds_or_milliseconds_and_an_optional_prefix(stamp, prefix):
    signature = prefix + digest(stamp.encode() + b"." + BODY)
    verify_timestamped_hmac(signature, stamp, BODY, SECRET, NOW)
    verify_timestamped_hmac(f" {signature.upper()} ", f" {stamp} ", BODY, SECRET, NOW)


@pytest.mark.parametrize(
    "signature, stamp, reason",
    [
        ("0" * 64, None, MALFORMED),
        ("0" * 64, "", MALFORMED),
        ("0" * 64, "-1800000000", MALFORMED),
        ("0" * 64, "1" * 16, MALFORMED),
        ("0" * 63, str(int(NOW)), MALFORMED),
        ("sha1=" + "0" * 64, str(int(NOW)), MALFORMED),
        ("0" * 64, str(int(NOW)), WRONG),
        ("0" * 64, str(int(NOW) - 301), STALE),
    ],
)
def test_a_vapi_hmac_without_a_usable_stamp_or_digest_or_a_wrong_one_is_refused_with_why(signature, stamp, reason):
    assert refusal(verify_timestamped_hmac, signature, stamp, BODY, SECRET, NOW) == reason


def test_a_vapi_hmac_covers_the_stamp_so_a_replayed_body_under_a_new_stamp_fails():
    old = str(int(NOW) - 10)
    signature = digest(old.encode() + b"." + BODY)
    assert refusal(verify_timestamped_hmac, signature, str(int(NOW)), BODY, SECRET, NOW) == WRONG


def test_header_names_are_matched_without_case():
    assert lower_keys({"X-Retell-Signature": "v", "x-vapi-secret": "s"}) == {
        "x-retell-signature": "v",
        "x-vapi-secret": "s",
    }
