"""voice-exporter's command line: each flag's default is the exporter's own, its environment variable replaces
the default, the flag wins over both, and values the exporter cannot run with stop it with a usage error."""

from __future__ import annotations

import pytest

from voice_monitoring.exporter import cli
from voice_monitoring.exporter.core import Limits
from voice_monitoring.shared.http_service import ServerLimits

LIMITS = Limits()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for flag in cli.FLAGS:
        monkeypatch.delenv(flag.env, raising=False)
    monkeypatch.delenv("EXPORTER_TOKEN", raising=False)


def usage_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        cli.parse_args(list(argv))
    assert stopped.value.code == 2
    return capsys.readouterr().err


def test_without_flags_the_limits_are_the_exporters_defaults():
    args = cli.parse_args([])
    assert (args.grace_seconds, args.idle_seconds) == (LIMITS.grace_seconds, LIMITS.idle_seconds)
    assert (args.label_limit, args.series_budget) == (LIMITS.label_values, LIMITS.series_budget)
    assert (args.max_live_calls, args.per_call_sample_ratio) == (LIMITS.max_live_calls, LIMITS.per_call_sample_ratio)
    assert (args.max_age_seconds, args.max_future_seconds) == (LIMITS.max_age_seconds, LIMITS.max_future_seconds)
    assert args.feedback_window_seconds == LIMITS.feedback_window_seconds
    assert args.limits == ServerLimits()
    assert (args.listen_address, args.state_file, args.token_file) == ("127.0.0.1", None, None)


def test_an_environment_variable_replaces_the_default_in_the_flags_type_and_the_flag_wins(monkeypatch):
    monkeypatch.setenv("EXPORTER_GRACE_SECONDS", "30.5")
    monkeypatch.setenv("EXPORTER_SERIES_BUDGET", "50")
    args = cli.parse_args([])
    assert args.grace_seconds == 30.5 and args.series_budget == 50 and type(args.series_budget) is int
    assert cli.parse_args(["--grace-seconds", "7"]).grace_seconds == 7.0


def test_the_body_limit_and_the_server_flags_make_the_servers_limits(monkeypatch):
    monkeypatch.setenv("EXPORTER_MAX_CONNECTIONS", "64")
    args = cli.parse_args(["--max-body-bytes", "1024", "--header-timeout", "2.5"])
    assert (args.limits.max_body_bytes, args.limits.max_connections, args.limits.header_timeout) == (1024, 64, 2.5)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--series-budget", "0"], "--series-budget must be at least 1"),
        (["--per-call-sample-ratio", "1.5"], "--per-call-sample-ratio must be between 0 and 1"),
        (["--per-call-sample-ratio", "-0.1"], "--per-call-sample-ratio must be between 0 and 1"),
        (["--header-timeout", "0"], "server timeouts must be positive"),
        (["--max-connections", "0"], "--max-connections and --backlog must be at least 1"),
        (["--port", "http"], "invalid int value"),
        (["--no-such-flag"], "unrecognized arguments"),
    ],
)
def test_a_value_the_exporter_cannot_run_with_is_a_usage_error(capsys, argv, words):
    assert words in usage_error(capsys, *argv)


def test_the_sample_ratio_bounds_are_inclusive():
    assert cli.parse_args(["--per-call-sample-ratio", "0"]).per_call_sample_ratio == 0.0
    assert cli.parse_args(["--per-call-sample-ratio", "1"]).per_call_sample_ratio == 1.0


def test_the_token_comes_from_its_file_stripped_else_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPORTER_TOKEN", "from-env")
    assert cli.read_token(cli.parse_args([])) == "from-env"
    token = tmp_path / "token"
    token.write_text("from-file\n")
    assert cli.read_token(cli.parse_args(["--token-file", str(token)])) == "from-file"
    token.write_text("\n")
    assert cli.read_token(cli.parse_args(["--token-file", str(token)])) is None
    monkeypatch.setenv("EXPORTER_TOKEN", "")
    assert cli.read_token(cli.parse_args([])) is None


def test_an_unreadable_price_table_or_token_file_stops_the_exporter_before_it_listens(tmp_path, capsys):
    assert cli.main(["--price-table", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read price table" in capsys.readouterr().err
    assert cli.main(["--token-file", str(tmp_path / "missing-token")]) == 2
    assert "missing-token" in capsys.readouterr().err
