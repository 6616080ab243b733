"""TLS and basic auth for the scale-out topology: a throwaway certificate authority, a server certificate for
127.0.0.1, the web configuration file Prometheus and Alertmanager read, and VictoriaMetrics' own flags."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import requests

from tests.scaleout.topology import write_yaml

USER = "monitor"


@dataclass
class Credentials:
    ca_file: Path
    cert_file: Path
    key_file: Path
    password: str
    web_config: Path

    def session(self) -> requests.Session:
        """A client that trusts the test CA and logs in."""
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment overrides the CA below
        session.verify = str(self.ca_file)
        session.auth = (USER, self.password)
        return session

    def client_config(self) -> dict:
        """What a Prometheus client block (remote_write, alertmanagers) needs to reach a secured service."""
        return {
            "basic_auth": {"username": USER, "password": self.password},
            "tls_config": {"ca_file": str(self.ca_file)},
        }

    def victoria_metrics_flags(self) -> list[str]:
        return [
            "-tls",
            f"-tlsCertFile={self.cert_file}",
            f"-tlsKeyFile={self.key_file}",
            f"-httpAuth.username={USER}",
            f"-httpAuth.password={self.password}",
        ]


def openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def issue(directory: Path) -> Credentials:
    """A CA, a server certificate for 127.0.0.1 signed by it, a password and a web configuration file."""
    directory.mkdir(parents=True, exist_ok=True)
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl(
        "req",
        "-x509",
        *curve,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=test CA",
        cwd=directory,
    )
    openssl("req", *curve, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=directory)
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "1", "-extfile", "san.ext", cwd=directory,
    )  # fmt: skip
    password = secrets.token_urlsafe(16)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    web_config = write_yaml(
        directory / "web-config.yml",
        {
            "tls_server_config": {
                "cert_file": str(directory / "server.crt"),
                "key_file": str(directory / "server.key"),
            },
            "basic_auth_users": {USER: hashed},
        },
    )
    return Credentials(directory / "ca.crt", directory / "server.crt", directory / "server.key", password, web_config)
