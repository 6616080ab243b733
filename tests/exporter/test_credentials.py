"""bearer_failure: why an Authorization header does not carry the ingest token, from closed reasons."""

import pytest

from voice_monitoring.exporter.credentials import (
    BEARER_REASONS,
    MALFORMED,
    MISSING,
    REASONS,
    WRONG,
    bearer_failure,
)

TOKEN = "s3cret-token"


@pytest.mark.parametrize(
    "header", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER {TOKEN}", f"  Bearer   {TOKEN}  ", f"Bearer {TOKEN}\t"]
)
def test_the_token_passes_under_any_case_of_the_scheme_and_around_spaces(header):
    assert bearer_failure(header, TOKEN) is None


@pytest.mark.parametrize("header", [None, "", "   "])
def test_no_header_is_missing(header):
    assert bearer_failure(header, TOKEN) == MISSING


@pytest.mark.parametrize("header", [f"Basic {TOKEN}", "Bearer", "Bearer    ", TOKEN, f"Token {TOKEN}"])
def test_another_scheme_or_an_empty_token_is_malformed(header):
    assert bearer_failure(header, TOKEN) == MALFORMED


@pytest.mark.parametrize(
    "header", ["Bearer wrong", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN.upper()}", "Bearer \udcff"]
)
def test_a_well_formed_token_that_differs_is_wrong(header):
    assert bearer_failure(header, TOKEN) == WRONG


def test_a_token_with_characters_outside_ascii_is_compared_not_raised():
    assert bearer_failure("Bearer tökén", "tökén") is None
    assert bearer_failure("Bearer tökén", TOKEN) == WRONG


def test_every_bearer_reason_is_a_reason_the_failure_counter_takes():
    assert set(BEARER_REASONS) <= set(REASONS)
    assert len(set(REASONS)) == len(REASONS)
