"""The read API's tokens file and the Authorization header it accepts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from voice_monitoring.api.tokens import AuthError, Principal, Tokens, parse_tokens

ADMIN = "admin-token-0123456789abcdef"
ACME = "acme-token-0123456789abcdef"


def test_a_line_binds_a_token_to_a_tenant_and_the_star_to_every_tenant():
    tokens = parse_tokens(f"# comment\n\n* {ADMIN}\nacme {ACME}\n")
    assert tokens == {ADMIN: Principal(None), ACME: Principal("acme")}
    assert tokens[ADMIN].admin and not tokens[ACME].admin


@pytest.mark.parametrize(
    "text",
    ["", "acme short-token\n", f"acme {ACME}\nglobex {ACME}\n", f"acme {ACME} trailing\n", f"{ACME}\n"],
)
def test_a_file_the_api_cannot_trust_is_refused_at_start(text):
    with pytest.raises(ValueError):
        parse_tokens(text, "tokens")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([], 401),
        ([f"Basic {ACME}"], 401),
        (["Bearer "], 401),
        (["Bearer wrong-token-0123456789"], 401),
        ([f"Bearer {ACME}", f"Bearer {ADMIN}"], 400),
    ],
)
def test_only_one_known_bearer_token_is_a_credential(headers, status):
    tokens = Tokens(parse_tokens(f"* {ADMIN}\nacme {ACME}\n"))
    with pytest.raises(AuthError) as refused:
        tokens.principal(headers)
    assert refused.value.status == status
    assert tokens.principal([f"bearer  {ACME} "]) == Principal("acme")


def test_the_api_loads_nothing_of_the_scorer_but_its_promql_client():
    code = "import sys, voice_monitoring.api.cli; print(sorted(m for m in sys.modules if 'scorer' in m))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "['voice_monitoring.scorer', 'voice_monitoring.scorer.promql']"
