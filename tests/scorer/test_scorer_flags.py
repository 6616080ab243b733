"""How long the scorer keeps a call missing from Prometheus' answers: its flag, its variable, and the earlier
names a deployment may still use."""

from __future__ import annotations

import pytest

from voice_monitoring.scorer.cli import parse_args


@pytest.fixture(autouse=True)
def no_scorer_variables(monkeypatch):
    monkeypatch.delenv("SCORER_KEEP_ABSENT_CALL_SECONDS", raising=False)
    monkeypatch.delenv("SCORER_CALL_GRACE_SECONDS", raising=False)


def test_the_flag_sets_how_long_an_absent_call_is_kept(capsys):
    assert parse_args([]).keep_absent_call_seconds == 60.0
    assert parse_args(["--keep-absent-call-seconds", "7"]).keep_absent_call_seconds == 7.0
    assert "deprecated" not in capsys.readouterr().err


def test_the_earlier_flag_still_works_and_says_it_is_deprecated(capsys):
    assert parse_args(["--call-grace-seconds", "9"]).keep_absent_call_seconds == 9.0
    assert "--call-grace-seconds is deprecated; use --keep-absent-call-seconds" in capsys.readouterr().err
    assert parse_args(["--call-grace-seconds=4"]).keep_absent_call_seconds == 4.0


def test_the_earlier_variable_still_works_and_the_new_one_wins(monkeypatch, capsys):
    monkeypatch.setenv("SCORER_CALL_GRACE_SECONDS", "11")
    assert parse_args([]).keep_absent_call_seconds == 11.0
    assert "SCORER_CALL_GRACE_SECONDS is deprecated; use SCORER_KEEP_ABSENT_CALL_SECONDS" in capsys.readouterr().err
    monkeypatch.setenv("SCORER_KEEP_ABSENT_CALL_SECONDS", "12")
    assert parse_args([]).keep_absent_call_seconds == 12.0
    assert parse_args(["--call-grace-seconds", "13"]).keep_absent_call_seconds == 13.0


def test_the_help_names_the_earlier_flag_and_variable(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--keep-absent-call-seconds KEEP_ABSENT_CALL_SECONDS, --call-grace-seconds" in help_text
    assert "(SCORER_CALL_GRACE_SECONDS)" in help_text
