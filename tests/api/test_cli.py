"""voice-api's command line: the stream's defaults are the server's own, each environment variable replaces its
default, and what the API cannot serve with stops it (status 2, the reason on stderr) before it listens."""

from __future__ import annotations

import pytest

from voice_monitoring.api import cli
from voice_monitoring.api.server import StreamLimits

STREAM = StreamLimits()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for flag in cli.FLAGS:
        monkeypatch.delenv(flag.env, raising=False)


@pytest.fixture
def tokens_file(tmp_path):
    path = tmp_path / "tokens"
    path.write_text("acme s3cret-token-of-acme-0123456789\n")
    return path


def test_without_flags_the_stream_limits_are_the_servers_and_no_tokens_file_is_set():
    args = cli.parse_args([])
    assert (args.stream_interval, args.stream_max_subscribers) == (STREAM.interval, STREAM.max_subscribers)
    assert (args.stream_queue_size, args.stream_send_timeout) == (STREAM.queue_size, STREAM.send_timeout)
    assert args.tokens_file is None and args.prometheus_url == "http://127.0.0.1:9090"


def test_an_environment_variable_replaces_the_default_and_the_flag_wins(monkeypatch):
    monkeypatch.setenv("API_STREAM_QUEUE_SIZE", "7")
    assert cli.parse_args([]).stream_queue_size == 7
    assert cli.parse_args(["--stream-queue-size", "9"]).stream_queue_size == 9


@pytest.mark.parametrize(
    "argv, words",
    [
        ([], "--tokens-file (API_TOKENS_FILE) is required"),
        (["--stream-interval", "0.5"], "the stream interval must be at least 1 s"),
        (["--stream-max-subscribers", "0"], "its bounds at least 1"),
        (["--stream-queue-size", "0"], "its bounds at least 1"),
        (["--header-timeout", "0"], "server timeouts must be positive"),
    ],
)
def test_what_the_api_cannot_serve_with_stops_it_before_it_listens(capsys, tokens_file, argv, words):
    args = argv if not argv else ["--tokens-file", str(tokens_file), *argv]
    assert cli.main(args) == 2
    assert words in capsys.readouterr().err


def test_an_unreadable_tokens_or_basic_auth_file_stops_it(capsys, tmp_path, tokens_file):
    assert cli.main(["--tokens-file", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    auth = ["--prometheus-basic-auth-file", str(tmp_path / "no-auth")]
    assert cli.main(["--tokens-file", str(tokens_file), *auth]) == 2
    assert "no-auth" in capsys.readouterr().err
