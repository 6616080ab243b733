"""Bearer tokens of the read API, each bound to one tenant or to all (admin), read from a file.

The file holds one token a line, ``<tenant> <token>``; the tenant ``*`` makes the token an admin's, which sees
every tenant.  Blank lines and lines starting with ``#`` are skipped.  Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

ADMIN = "*"
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class Principal:
    """Who a token speaks for: one tenant, or every tenant (``tenant`` None)."""

    tenant: str | None

    @property
    def admin(self) -> bool:
        return self.tenant is None


class AuthError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def parse_tokens(text: str, source: str = "tokens file") -> dict[str, Principal]:
    tokens: dict[str, Principal] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tenant, _, token = line.partition(" ")
        token = token.strip()
        if not tenant or len(token) < MIN_TOKEN_LENGTH or " " in token:
            raise ValueError(
                f"{source}:{number}: expected '<tenant> <token>' with a token of {MIN_TOKEN_LENGTH}+ chars"
            )
        if token in tokens:
            raise ValueError(f"{source}:{number}: a token appears twice")
        tokens[token] = Principal(None if tenant == ADMIN else tenant)
    if not tokens:
        raise ValueError(f"{source}: no tokens")
    return tokens


def read_tokens(path: str) -> dict[str, Principal]:
    with open(path, encoding="utf-8") as f:
        return parse_tokens(f.read(), path)


class Tokens:
    def __init__(self, tokens: Mapping[str, Principal]):
        self._tokens = [(token.encode(), principal) for token, principal in tokens.items()]

    def principal(self, authorizations: list[str]) -> Principal:
        """The principal of the request's Authorization headers (exactly one, ``Bearer <token>``); raises AuthError."""
        if not authorizations:
            raise AuthError(401, "an Authorization: Bearer <token> header is required")
        if len(authorizations) > 1:
            raise AuthError(400, "more than one Authorization header")
        scheme, _, given = authorizations[0].strip().partition(" ")
        given_bytes = given.strip().encode(errors="surrogateescape")
        if scheme.lower() != "bearer" or not given_bytes:
            raise AuthError(401, "the Authorization header is not a bearer token")
        found = None
        for token, principal in self._tokens:  # every token compared, so the time does not tell which matched
            if hmac.compare_digest(given_bytes, token):
                found = principal
        if found is None:
            raise AuthError(401, "unknown token")
        return found
