"""A small client of the Prometheus HTTP API's instant queries, with a deadline and failure reasons.

Each query has one overall deadline, ``timeout`` seconds from its start: every
socket operation is given only the time left, so a server that trickles its answer
a byte at a time cannot hold a query (and the scoring cycle) past it.  The answer is
read up to ``max_answer_bytes`` and checked item by item, so anything malformed,
from broken JSON to nesting too deep to decode, is a ``parse`` failure.  Over
https the server is verified against a CA bundle (the system's by default); a failed
handshake is a ``tls`` failure, and a server refusing the credentials (401, 403) an
``auth`` failure.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import ssl
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlencode, urlsplit

DEFAULT_MAX_ANSWER_BYTES = 256 * 1024 * 1024


class QueryError(Exception):
    """A failed query; ``reason`` is the label value of ai_agent_scorer_query_errors_total."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


# One element of an instant vector: its labels (``__name__`` included) and its value.
Sample = tuple[dict[str, str], float]


class _DeadlineSocket:
    """A connected socket whose every send and receive may take only the time left before ``deadline``."""

    def __init__(self, sock, deadline: float):
        self._sock = sock
        self._deadline = deadline

    def _arm(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the query's deadline passed")
        self._sock.settimeout(left)

    def sendall(self, data) -> None:
        self._arm()
        self._sock.sendall(data)

    def recv_into(self, buffer) -> int:
        self._arm()
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str = "rb", *args, **kwargs):
        return io.BufferedReader(_DeadlineReader(self))

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket):
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._sock.recv_into(buffer)


def _parse_error(detail: str) -> QueryError:
    return QueryError("parse", detail)


_STRINGS = frozenset((str,))


def _sample(item) -> Sample:
    try:
        labels, value = item["metric"], item["value"]
        well_formed = type(labels) is dict and type(value) is list and len(value) == 2 and type(value[1]) is str
        if well_formed and _STRINGS.issuperset(map(type, labels.values())):
            return labels, float(value[1])
    except (TypeError, KeyError, ValueError):
        pass
    raise _parse_error(f'not a vector element of string labels and a [time, "number"] value: {item!r:.120}')


def parse_vector(status: int, body: bytes) -> list[Sample]:
    """The samples of an instant-query answer; raises QueryError(timeout | http | auth | parse)."""
    if status in (401, 403):
        raise QueryError("auth", f"HTTP {status}: Prometheus refused the scorer's credentials")
    try:
        answer = json.loads(body.decode("utf-8"))  # decoded first: json's own detection is slower
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the decoder goes
        raise QueryError("http" if status >= 400 else "parse", f"HTTP {status}, body is not JSON") from None
    if not isinstance(answer, dict):
        raise _parse_error(f"HTTP {status}, body is not a JSON object")
    if status >= 400 or answer.get("status") != "success":
        reason = "timeout" if answer.get("errorType") == "timeout" else "http"
        raise QueryError(reason, f"HTTP {status}: {answer.get('error', answer)!s:.200}")
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        kind = data.get("resultType") if isinstance(data, dict) else type(data).__name__
        raise _parse_error(f"expected a vector, got {kind!r:.40}")
    return [_sample(item) for item in data["result"]]


@dataclass(frozen=True)
class Security:
    """How to reach a secured Prometheus: the CA bundle that verifies it (None: the system's), a client
    certificate and key for mutual TLS, and basic-auth credentials."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never the password
        return f"Security(ca_file={self.ca_file!r}, cert_file={self.cert_file!r}, username={self.username!r})"

    def tls_context(self) -> ssl.SSLContext:
        """A context verifying the server against ``ca_file``; raises OSError or ssl.SSLError for a bad file."""
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


def read_basic_auth_file(path: str) -> tuple[str, str]:
    """``username:password`` from the first line of ``path`` (the password may hold colons); raises ValueError
    naming the file, never its content."""
    try:
        with open(path, encoding="utf-8") as f:
            line = f.readline().rstrip("\r\n")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    username, colon, password = line.partition(":")
    if not colon or not username:
        raise ValueError(f"{path}: the first line must be username:password")
    return username, password


class PrometheusClient:
    def __init__(
        self,
        base_url: str,
        timeout: float = 10.0,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        security: Security | None = None,
    ):
        url = urlsplit(base_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        security = security or Security()
        if url.scheme == "http" and (security.ca_file or security.cert_file):
            raise ValueError("a CA file or client certificate needs an https:// Prometheus URL")
        if url.username is not None and security.username is not None:
            raise ValueError("credentials both in the Prometheus URL and in a basic-auth file")
        self.base_url = base_url.rstrip("/")
        self._tls = security.tls_context() if url.scheme == "https" else None
        self._host = url.hostname
        self._port = url.port
        self._path = f"{url.path}/api/v1/query"
        self._headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        username, password = security.username, security.password
        if url.username is not None:  # http://user:password@host: basic authentication, as before
            username, password = unquote(url.username), unquote(url.password or "")
            self.base_url = url._replace(netloc=url.netloc.rpartition("@")[2]).geturl()
        if username is not None:
            credentials = f"{username}:{password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
        self.timeout = timeout
        self.max_answer_bytes = max_answer_bytes

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._tls is None:
            return http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._tls)

    def _post(self, body: bytes, deadline: float) -> tuple[int, bytes]:
        connection = self._connection(max(deadline - time.monotonic(), 0.001))
        try:
            connection.connect()
            connection.sock = _DeadlineSocket(connection.sock, deadline)
            connection.request("POST", self._path, body=body, headers=self._headers)
            response = connection.getresponse()
            answer = response.read(self.max_answer_bytes + 1)
            if len(answer) > self.max_answer_bytes:
                raise _parse_error(f"the answer is larger than {self.max_answer_bytes} bytes")
            return response.status, answer
        finally:
            connection.close()

    def instant(self, expr: str) -> list[Sample]:
        """The result vector of ``expr``; raises QueryError(timeout | http | tls | auth | parse)."""
        deadline = time.monotonic() + self.timeout
        # plain seconds: "0.5s" is no Prometheus duration
        body = urlencode({"query": expr, "timeout": f"{self.timeout:g}"}).encode()
        try:
            status, answer = self._post(body, deadline)
        except TimeoutError as exc:
            raise QueryError("timeout", f"no answer within {self.timeout:g}s: {exc}") from None
        except ssl.SSLError as exc:  # SSLCertVerificationError included: an untrusted or misnamed server
            raise QueryError("tls", f"TLS handshake with {self.base_url} failed: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise QueryError("http", f"request failed: {exc!r}") from None
        return parse_vector(status, answer)
