"""The scorer's flags for a secured Prometheus: a CA bundle, a client certificate, basic auth from a file or the
URL, each with its environment twin, and a clear refusal of what does not fit together."""

import base64

import pytest

from tests.scaleout.secured import issue
from voice_monitoring.scorer.cli import parse_args

PASSWORD = "s3cret:with:colons"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return issue(tmp_path_factory.mktemp("tls"))


def authorization(args) -> str | None:
    header = args.prometheus._headers.get("Authorization")
    return None if header is None else base64.b64decode(header.removeprefix("Basic ")).decode()


def refusal(capsys, argv) -> str:
    with pytest.raises(SystemExit) as stopped:
        parse_args(argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err


def test_basic_auth_comes_from_a_file_whose_password_may_hold_colons(tmp_path, tls):
    secret = tmp_path / "basic-auth"
    secret.write_text(f"monitor:{PASSWORD}\n")
    args = parse_args(
        ["--prometheus-url", "https://127.0.0.1:9090", "--prometheus-ca-file", str(tls.ca_file)]
        + ["--prometheus-basic-auth-file", str(secret)]
    )
    assert authorization(args) == f"monitor:{PASSWORD}"
    assert args.prometheus._tls is not None
    assert PASSWORD not in repr(args.prometheus.base_url)


def test_every_flag_has_its_environment_twin(tmp_path, tls, monkeypatch):
    secret = tmp_path / "basic-auth"
    secret.write_text(f"monitor:{PASSWORD}")
    monkeypatch.setenv("SCORER_PROMETHEUS_URL", "https://127.0.0.1:9090")
    monkeypatch.setenv("SCORER_PROMETHEUS_CA_FILE", str(tls.ca_file))
    monkeypatch.setenv("SCORER_PROMETHEUS_CERT_FILE", str(tls.cert_file))
    monkeypatch.setenv("SCORER_PROMETHEUS_KEY_FILE", str(tls.key_file))
    monkeypatch.setenv("SCORER_PROMETHEUS_BASIC_AUTH_FILE", str(secret))
    args = parse_args([])
    assert (args.prometheus_ca_file, args.prometheus_cert_file, args.prometheus_key_file) == (
        str(tls.ca_file),
        str(tls.cert_file),
        str(tls.key_file),
    )
    assert authorization(args) == f"monitor:{PASSWORD}"


def test_credentials_in_the_url_still_work_and_leave_the_logged_url():
    args = parse_args(["--prometheus-url", "http://monitor:p%40ss@127.0.0.1:9090/prom"])
    assert authorization(args) == "monitor:p@ss"
    assert args.prometheus.base_url == "http://127.0.0.1:9090/prom"


def test_no_credentials_and_plain_http_by_default():
    args = parse_args([])
    assert authorization(args) is None
    assert args.prometheus._tls is None


@pytest.mark.parametrize(
    "content",
    ["monitor-s3cret\n", ":s3cret\n", "", "\n"],
    ids=["no colon", "no username", "empty", "empty line"],
)
def test_a_basic_auth_file_that_is_not_username_colon_password_stops_the_scorer(tmp_path, capsys, content):
    secret = tmp_path / "basic-auth"
    secret.write_text(content)
    err = refusal(capsys, ["--prometheus-basic-auth-file", str(secret)])
    assert "the first line must be username:password" in err and str(secret) in err
    assert "s3cret" not in err  # the file's content is never echoed


def test_a_missing_basic_auth_file_is_named(tmp_path, capsys):
    err = refusal(capsys, ["--prometheus-basic-auth-file", str(tmp_path / "absent")])
    assert "--prometheus-basic-auth-file" in err and "absent" in err


def test_credentials_in_both_the_url_and_a_file_are_refused(tmp_path, capsys):
    secret = tmp_path / "basic-auth"
    secret.write_text(f"monitor:{PASSWORD}\n")
    err = refusal(
        capsys,
        ["--prometheus-url", "http://other:pw@127.0.0.1:9090", "--prometheus-basic-auth-file", str(secret)],
    )
    assert "both in the Prometheus URL and in a basic-auth file" in err
    assert PASSWORD not in err


def test_a_ca_file_with_a_plain_http_url_is_refused(tls, capsys):
    err = refusal(capsys, ["--prometheus-ca-file", str(tls.ca_file)])
    assert "needs an https:// Prometheus URL" in err


def test_a_client_certificate_needs_its_key(tls, capsys):
    err = refusal(capsys, ["--prometheus-url", "https://127.0.0.1:9090", "--prometheus-cert-file", str(tls.cert_file)])
    assert "--prometheus-cert-file and --prometheus-key-file go together" in err


@pytest.mark.parametrize("which", ["missing", "not a certificate"])
def test_an_unreadable_ca_file_stops_the_scorer_naming_it(tmp_path, capsys, which):
    ca_file = tmp_path / "ca.crt"
    if which == "not a certificate":
        ca_file.write_text("not a certificate\n")
    err = refusal(capsys, ["--prometheus-url", "https://127.0.0.1:9090", "--prometheus-ca-file", str(ca_file)])
    assert "cannot load the TLS files" in err and str(ca_file) in err
