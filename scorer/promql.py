"""A small client of the Prometheus HTTP API's instant queries, with a deadline and failure reasons.

The queries go out on aiohttp's client, from one event loop on a thread of its own shared by every client of the
process; ``instant`` is the synchronous face the scorer's cycle, the read API's handlers and replay call.  Each
client keeps its own session, so its connections to Prometheus are kept alive from one query to the next.

Each query has one overall deadline, ``timeout`` seconds from its start (``aiohttp.ClientTimeout(total=...)``,
which covers the connection, the request and the answer's last byte), so a server that trickles its answer a byte
at a time cannot hold a query (and the scoring cycle) past it.  The answer is read up to ``max_answer_bytes`` and
checked item by item, in the caller's thread, so anything malformed, from broken JSON to nesting too deep to
decode, is a ``parse`` failure.  Over https the server is verified against a CA bundle (the system's by default);
a failed handshake is a ``tls`` failure, and a server refusing the credentials (401, 403) an ``auth`` failure.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import ssl
import threading
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import aiohttp

DEFAULT_MAX_ANSWER_BYTES = 256 * 1024 * 1024


class QueryError(Exception):
    """A failed query; ``reason`` is the label value of ai_agent_scorer_query_errors_total."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


# One element of an instant vector: its labels (``__name__`` included) and its value.
Sample = tuple[dict[str, str], float]


def _parse_error(detail: str) -> QueryError:
    return QueryError("parse", detail)


_STRINGS = frozenset((str,))


def _sample(item: Any) -> Sample:
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


# How long a caller waits past a query's deadline for the query loop itself before calling the query timed out:
# the deadline is kept on the loop, this only guards against a loop that no longer runs.
LOOP_MARGIN_SECONDS = 1.0

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _query_loop() -> asyncio.AbstractEventLoop:
    """The event loop every client's queries run on, on a daemon thread started at the first query."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="promql", daemon=True).start()
        return _loop


class _Session:
    """One client's aiohttp session: opened on the query loop at the client's first query, closed with it."""

    def __init__(self, tls: ssl.SSLContext | None):
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        """The open session; called on the query loop only."""
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._tls) if self._tls is not None else aiohttp.TCPConnector()
            # no Accept-Encoding: Prometheus answers uncompressed, and the answer bound counts the bytes it sends
            self._session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("Accept-Encoding",))
        return self._session

    async def _close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def close(self, wait: float = 0.0) -> None:
        """Close the session from any thread, waiting up to ``wait`` seconds for it (0 from a finalizer)."""
        if self._session is None or _loop is None:
            return
        closed = asyncio.run_coroutine_threadsafe(self._close(), _loop)
        if wait > 0:
            closed.result(wait)


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
        self._headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        username, password = security.username, security.password
        if url.username is not None:  # http://user:password@host: basic authentication, as before
            username, password = unquote(url.username), unquote(url.password or "")
            self.base_url = url._replace(netloc=url.netloc.rpartition("@")[2]).geturl()
        if username is not None:
            credentials = f"{username}:{password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
        self._query_url = f"{self.base_url}/api/v1/query"
        self.timeout = timeout
        self.max_answer_bytes = max_answer_bytes
        self._tls = security.tls_context() if url.scheme == "https" else None
        self._session = _Session(self._tls)
        weakref.finalize(self, self._session.close)

    def close(self) -> None:
        """Close the kept-alive connections; a later query opens new ones."""
        self._session.close(wait=5.0)

    async def _post(self, body: bytes) -> tuple[int, bytes]:
        """(status, answer) of one query, within the deadline; raises QueryError(timeout | http | tls | parse)."""
        # ceil_threshold: the deadline to the millisecond, not rounded up to the next whole second
        deadline = aiohttp.ClientTimeout(total=self.timeout, ceil_threshold=math.inf)
        try:
            async with self._session.get().post(
                self._query_url, data=body, headers=self._headers, timeout=deadline, allow_redirects=False
            ) as response:
                if (response.content_length or 0) > self.max_answer_bytes:
                    raise _too_large(self.max_answer_bytes)
                answer = bytearray()
                async for chunk in response.content.iter_any():
                    answer += chunk
                    if len(answer) > self.max_answer_bytes:
                        raise _too_large(self.max_answer_bytes)
                return response.status, bytes(answer)
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError and ConnectionTimeoutError included
            raise QueryError("timeout", _no_answer(self.timeout, exc)) from None
        except (aiohttp.ClientError, OSError) as exc:
            if _tls_failure(exc):  # an untrusted or misnamed server, or a client certificate refused
                raise QueryError("tls", f"TLS handshake with {self.base_url} failed: {exc}") from None
            raise QueryError("http", f"request failed: {exc!r}") from None

    def instant(self, expr: str) -> list[Sample]:
        """The result vector of ``expr``; raises QueryError(timeout | http | tls | auth | parse)."""
        # plain seconds: "0.5s" is no Prometheus duration
        body = urlencode({"query": expr, "timeout": f"{self.timeout:g}"}).encode()
        answered = asyncio.run_coroutine_threadsafe(self._post(body), _query_loop())
        try:
            status, answer = answered.result(self.timeout + LOOP_MARGIN_SECONDS)
        except TimeoutError:  # the loop itself is stuck: the query's own deadline would have answered
            answered.cancel()
            raise QueryError("timeout", _no_answer(self.timeout, "the query loop did not answer")) from None
        return parse_vector(status, answer)


def _too_large(limit: int) -> QueryError:
    return _parse_error(f"the answer is larger than {limit} bytes")


def _no_answer(timeout: float, cause: object) -> str:
    return f"no answer within {timeout:g}s" + (f": {cause}" if str(cause) else "")


def _tls_failure(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, is a TLS failure."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, (ssl.SSLError, aiohttp.ClientSSLError)):
            return True
        cause = cause.__cause__ or cause.__context__
    return False
