"""Why the exporter refused a request's credentials, and the ingest routes' bearer-token check.

Every refusal is counted once in ``ai_agent_exporter_auth_failures_total{endpoint, reason}``; both labels come
from the closed sets below, and nothing the request carried (token, signature, body, address) is recorded.
"""

from __future__ import annotations

import hmac

MISSING = "missing"  # no credential at all
MALFORMED = "malformed"  # cannot be a credential: another scheme, an empty token, an unparsable signature
WRONG = "wrong"  # a well-formed credential that does not match the secret
STALE = "stale"  # a signature whose timestamp is outside the tolerance around the exporter's clock
REASONS = (MISSING, MALFORMED, WRONG, STALE)
BEARER_REASONS = (MISSING, MALFORMED, WRONG)

# The ingest routes' endpoint label; a webhook route's is its platform's name (vapi, retell).
EVENTS = "events"
TRACES = "traces"


def bearer_failure(authorization: str | None, token: str) -> str | None:
    """Why ``authorization`` (the Authorization header) does not carry ``token`` as a bearer token; None when it
    does.  The token is compared in constant time."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    given = given.strip()
    matches = hmac.compare_digest(given.encode(errors="surrogateescape"), token.encode())
    if not scheme:
        return MISSING
    if scheme.lower() != "bearer" or not given:
        return MALFORMED
    return None if matches else WRONG
