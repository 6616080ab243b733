"""What the exporter and the scorer share as HTTP services: the server, JSON replies, shutdown.

The server is aiohttp's low-level HTTP server on one asyncio loop, with what it lacks built around it:

- a header-read timeout: a connection that has not sent a whole request head ``header_timeout`` seconds after
  it opened, or after its first byte of a new request, gets a 408 and is closed (slowloris);
- a body-read timeout (408), a keep-alive timeout, and a bounded number of open connections: one beyond
  ``max_connections`` first closes the longest-idle connection with no request in flight; when every one is busy
  it gets a 503 and is closed at once, the others carry on;
- a JSON body for every reply, protocol errors included: 400 for an unparsable request, 414 for a request line
  over ``max_request_line`` bytes, 431 for a header over ``max_header_bytes`` or more than ``max_headers``
  headers, 404, 405 with ``Allow``, and 505 (in an HTTP/1.1 status line) for a request line naming HTTP/2 or later;
- a client that half-closes after its request (``shutdown(SHUT_WR)``) gets its reply before the connection closes;
- a lingering close after an error reply to a request not read whole (an oversize request line, header block or
  body, a refusal before the body): the server half-closes, then reads and discards what the client still sends,
  until the client closes its side, ``linger_seconds`` pass or ``linger_bytes`` arrive.  Closing at once would
  leave the client's bytes unread, the kernel would answer them with a reset, and a client still sending would get
  the reset instead of its 413, 414 or 431 (nginx's lingering close);
- graceful shutdown on SIGTERM or SIGINT: stop listening, let requests in flight finish (up to
  ``shutdown_timeout``), then call the ``on_shutdown`` callbacks in order.

Handlers are synchronous and run on the loop: they must not block on I/O.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
import uvloop
from aiohttp import web

# Beyond aiohttp's documented API, two imports, each because a client-visible behaviour needs it:
# - http_exceptions: the parser's error types are the only way to tell a 414 from a 431 (test_bad_input and
#   test_ingest_edge assert both);
# - web_protocol.RequestHandler: aiohttp has no public per-connection hook. Subclassing it gives connection_made/
#   lost, data_received and eof_received, without which the header timeout, the connection bound and its reclaim,
#   and the half-closed client's reply do not exist (test_http_edge and test_ingest_edge fail without them; with
#   600 silent and 150 trickling connections open at the default limit of 512, 50 of 50 normal requests got 200,
#   where a plain refusal gave every one a 503).
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger("http-service")

# (status, JSON-serialisable payload) or (status, body, content type)
Reply = tuple[int, object] | tuple[int, bytes, str]
GetHandler = Callable[[], Reply]
PrefixHandler = Callable[[str], Reply]
PostHandler = Callable[[Mapping[str, str], bytes], Reply]
Authorize = Callable[[Mapping[str, str]], str | None]


@dataclass(frozen=True)
class ServerLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 75.0
    max_connections: int = 512
    backlog: int = 1024
    shutdown_timeout: float = 10.0
    max_body_bytes: int = 5 * 1024 * 1024
    max_request_line: int = 8190
    max_header_bytes: int = 16380
    max_headers: int = 100
    linger_seconds: float = 5.0
    linger_bytes: int = 16 * 1024 * 1024


def json_bytes(payload: object) -> bytes:
    return orjson.dumps(payload)


def raw_json_reply(status: int, payload: object) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, for replies sent outside a request."""
    body = json_bytes(payload)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class _Reply(web.Response):
    """A response that, with ``linger_on`` set, lingers on that connection once it is written (``_Protocol.linger``).

    ``write_eof`` is where aiohttp finishes writing a response, for handlers' replies and protocol errors alike.
    """

    linger_on: _Protocol | None = None

    async def write_eof(self, data: bytes = b"") -> None:
        await super().write_eof(data)
        if self.linger_on is not None:
            await self.linger_on.linger()


def _response(reply: Reply, close: bool = False, headers: Mapping[str, str] | None = None) -> _Reply:
    if len(reply) == 3:
        status, body, content_type = reply
        response = _Reply(status=status, body=body, headers={"Content-Type": content_type})
    else:
        status, payload = reply
        response = _Reply(status=status, body=json_bytes(payload), content_type="application/json")
    if headers:
        response.headers.update(headers)
    if close:
        response.force_close()
    return response


def _error(status: int, message: str, **headers: str) -> _Reply:
    return _response((status, {"error": message}), close=True, headers=headers)


def _unsupported_version(request: web.BaseRequest) -> web.StreamResponse:
    """505 in HTTP/1.1 and close: aiohttp would echo the request's version (``HTTP/2.0 505``) in its status line."""
    transport = request.transport
    if transport is not None and not transport.is_closing():
        transport.write(raw_json_reply(505, {"error": f"HTTP/{request.version.major} is not served here"}))
        transport.close()  # the reply above is flushed first; aiohttp's own reply then finds the connection closed
    return _error(505, "HTTP version not supported")


@dataclass(frozen=True)
class _Post:
    handler: PostHandler
    authorize: Authorize | None


class HttpService:
    """Routes, limits and the serving loop of one HTTP service.

    Register routes with :meth:`get`, :meth:`get_prefix` and :meth:`post` before :meth:`serve` (or
    :meth:`running`).  ``on_shutdown`` callbacks run once, after the last request in flight has finished.
    """

    def __init__(self, address: tuple[str, int], limits: ServerLimits | None = None):
        self.address = address
        self.limits = limits or ServerLimits()
        self.on_shutdown: list[Callable[[], None]] = []
        self.port: int | None = None
        self._gets: dict[str, GetHandler] = {}
        self._prefixes: dict[str, PrefixHandler] = {}
        self._posts: dict[str, _Post] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def get(self, path: str, handler: GetHandler) -> None:
        self._gets[path] = handler

    def get_prefix(self, prefix: str, handler: PrefixHandler) -> None:
        """``GET <prefix><rest>`` for any non-empty ``rest``, which the handler receives (still URL-encoded)."""
        self._prefixes[prefix] = handler

    def post(self, path: str, handler: PostHandler, authorize: Authorize | None = None) -> None:
        """``POST path``: the server reads the body (size limit, timeout), then calls ``handler(headers, body)``.

        ``authorize(headers)``, when given, runs before the body is read; a message it returns is a 401.
        """
        self._posts[path] = _Post(handler, authorize)

    # --- dispatch ------------------------------------------------------------------

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        protocol = request.protocol
        if isinstance(protocol, _Protocol):
            protocol.head_received()
        try:
            if request.version.major != 1:
                return _unsupported_version(request)
            response = await self._route(request)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = _error(500, "internal error")
        finally:
            if isinstance(protocol, _Protocol):
                protocol.request_done()
        if not request.content.is_eof() and isinstance(protocol, _Protocol) and isinstance(response, _Reply):
            response.force_close()  # a body left unread: answer, then linger instead of reading it
            response.linger_on = protocol
        return response

    async def _route(self, request: web.BaseRequest) -> web.StreamResponse:
        path, method = request.path, request.method
        post = self._posts.get(path)
        get = self._gets.get(path)
        if get is None and post is None:
            for prefix, handler in self._prefixes.items():
                if path.startswith(prefix) and len(path) > len(prefix):
                    if method in ("GET", "HEAD"):
                        return _response(handler(request.raw_path.split("?", 1)[0][len(prefix) :]))
                    return _error(405, f"{method} is not allowed here", Allow="GET")
            return _error(404, "not found")
        if method in ("GET", "HEAD") and get is not None:
            return _response(get())
        if method == "POST" and post is not None:
            return await self._read_and_post(request, post)
        allowed = "GET" if get is not None else "POST"
        return _error(405, f"{method} is not allowed here", Allow=allowed)

    async def _read_and_post(self, request: web.BaseRequest, post: _Post) -> web.StreamResponse:
        if post.authorize is not None:
            problem = post.authorize(request.headers)
            if problem:
                return _error(401, problem)
        length = request.content_length
        if length is None or "Transfer-Encoding" in request.headers:
            return _error(411, "Content-Length is required")
        if length > self.limits.max_body_bytes:
            return _error(413, f"body larger than {self.limits.max_body_bytes} bytes")
        protocol = request.protocol
        try:
            if request.content.is_eof():  # the whole body came with the head: no wait, no timer
                body = await request.content.readexactly(length)
            elif isinstance(protocol, _Protocol) and protocol.peer_done:
                return _error(400, "the body ended before its Content-Length")
            else:
                if isinstance(protocol, _Protocol):
                    protocol.reading_body()
                async with asyncio.timeout(self.limits.body_timeout):
                    body = await request.content.readexactly(length)
        except TimeoutError:
            return _error(408, f"the body did not arrive within {self.limits.body_timeout:g}s")
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            # the client went away before its declared length arrived: apply nothing
            return _error(400, "the body ended before its Content-Length")
        except Exception as exc:  # aiohttp's payload errors (a broken connection mid-body)
            return _error(400, f"the body could not be read: {exc}")
        return _response(post.handler(request.headers, body))

    # --- serving -------------------------------------------------------------------

    async def _serve(self, on_bound: Callable[[], None], signals: bool = False) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(signum, self._stop.set)
        server = _Server(self, self._dispatch)
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=self.limits.shutdown_timeout)
        await runner.setup()
        try:
            host, port = self.address
            site = web.TCPSite(runner, host, port, backlog=self.limits.backlog, reuse_address=True)
            await site.start()
            self.port = runner.addresses[0][1]
            on_bound()
            await self._stop.wait()
            await site.stop()
            server.stopping = True
            for lingering in list(server.lingering):  # not requests in flight: their replies are sent
                lingering.stop_lingering()
            # aiohttp's own shutdown stops reading bodies still in transit: first let those requests finish
            deadline = self._loop.time() + self.limits.shutdown_timeout
            while server.in_flight and self._loop.time() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await runner.cleanup()
            for callback in self.on_shutdown:
                try:
                    callback()
                except Exception:
                    log.exception("a shutdown callback failed")

    def stop(self) -> None:
        """Ask the service to shut down gracefully; safe from any thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    def serve(self, on_bound: Callable[[], None] = lambda: None) -> None:
        """Serve in the main thread until SIGTERM or SIGINT; ``on_bound`` runs once the port is bound.

        What the process built before serving (modules, tables, restored state) lives as long as it does:
        ``gc.freeze()`` takes it out of the collector's full passes, which otherwise walk it again and again
        (over the exporter's ingest benchmark, the collector's time fell from 200 ms to 60 ms).
        """
        gc.freeze()
        _run(self._serve(on_bound, signals=True))

    @contextmanager
    def running(self) -> Iterator[HttpService]:
        """Serve on a thread of its own (for tests and tools); stop gracefully on exit."""
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                _run(self._serve(started.set))
            except BaseException as exc:
                failure.append(exc)
                started.set()

        thread = threading.Thread(target=run, name="http-service", daemon=True)
        thread.start()
        started.wait(30)
        if failure:
            raise failure[0]
        try:
            yield self
        finally:
            self.stop()
            thread.join(self.limits.shutdown_timeout + 5)


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run ``coroutine`` on a new uvloop event loop (libuv's, several times leaner per request than asyncio's)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coroutine)


class _Server(web.Server):
    def __init__(self, service: HttpService, handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]):
        limits = service.limits
        self.connection_options: dict[str, Any] = dict(
            access_log=None,
            keepalive_timeout=limits.keepalive_timeout,
            max_line_size=limits.max_request_line,
            max_field_size=limits.max_header_bytes,
            max_headers=limits.max_headers,
            lingering_time=0,  # aiohttp's own lingering reads the unread body; _Protocol.linger discards it
            # the body as sent: a handler that accepts Content-Encoding inflates it itself, within its own bound
            auto_decompress=False,
        )
        super().__init__(handler, handler_cancellation=False, **self.connection_options)
        self.service = service
        self.open = 0
        self.in_flight = 0
        # connections with no request in flight and no byte of a next one (nginx's "reusable"), longest idle first:
        # those lingering after an error reply, those that never sent a request, then kept-alive ones, so a flood
        # of oversize or silent connections cannot push out clients that have been served
        self.lingering: dict[_Protocol, None] = {}
        self.stopping = False
        self.never_used: dict[_Protocol, None] = {}
        self.kept_alive: dict[_Protocol, None] = {}

    def reclaim_idle(self, newcomer: _Protocol) -> bool:
        """Close the longest-idle reusable connection to make room for ``newcomer``; False if none is reusable."""
        for idle in (self.lingering, self.never_used, self.kept_alive):
            for candidate in idle:
                if candidate is not newcomer and (
                    candidate.transport is None or not candidate.transport.get_write_buffer_size()
                ):
                    candidate.reclaim()
                    return True
        return False

    def not_idle(self, protocol: _Protocol) -> None:
        self.lingering.pop(protocol, None)
        self.never_used.pop(protocol, None)
        self.kept_alive.pop(protocol, None)

    def __call__(self) -> _Protocol:
        return _Protocol(self, loop=asyncio.get_running_loop(), **self.connection_options)


class _Protocol(RequestHandler):
    """One connection: aiohttp's handler plus the connection bound, the header timeout and JSON protocol errors."""

    def __init__(self, manager: _Server, **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._owner = manager  # aiohttp drops its own reference when the connection is lost
        self._service = manager.service
        self._head_timer: asyncio.TimerHandle | None = None
        self._awaiting_head = True
        self._counted = False
        self._sent_since_request = False
        self._reading_body = False
        self._dispatched = 0
        self.peer_done = False  # the client half-closed: no more bytes will come
        self._lingering: asyncio.Future[None] | None = None
        self._discarded = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        server = self._owner
        server.open += 1
        self._counted = True
        if server.open > self._service.limits.max_connections and not server.reclaim_idle(self):
            self._refuse(503, "too many open connections")
            return
        server.never_used[self] = None
        self._start_head_timer()

    def reclaim(self) -> None:
        self._owner.not_idle(self)
        if self._counted:
            self._counted = False
            self._owner.open -= 1
        self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.stop_lingering()
        self._owner.not_idle(self)
        if self._counted:
            self._counted = False
            self._owner.open -= 1
        self._cancel_head_timer()
        super().connection_lost(exc)

    # asyncio's Protocol.eof_received returns a bool (keep the write side open); aiohttp's annotation says None
    def eof_received(self) -> bool:  # type: ignore[override]
        """The client half-closed (shutdown(SHUT_WR), ``nc -N``): answer what it sent, then close.

        Returning True keeps the write side open (asyncio closes the transport on a false value).
        """
        self.peer_done = True
        if self._lingering is not None:
            self.stop_lingering()  # the client has sent all it will: its reply and our FIN are on their way
            return True
        if self._reading_body or (self._awaiting_head and not self._sent_since_request):
            return False  # a body that can no longer arrive, or nothing asked: close as before
        self.close()  # aiohttp finishes the request it has (in dispatch or queued), then closes
        if self._awaiting_head:  # a queued request starts within a loop turn; a partial head never will
            dispatched = self._dispatched
            self._loop.call_later(0.25, self._close_unless_dispatched, dispatched)
        return True

    def _close_unless_dispatched(self, dispatched: int) -> None:
        if self._awaiting_head and self._dispatched == dispatched:
            self.force_close()

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            self._discarded += len(data)
            if self._discarded > self._service.limits.linger_bytes:
                self.stop_lingering()
            return
        self._sent_since_request = True
        self._owner.not_idle(self)
        if self._awaiting_head and self._head_timer is None:
            self._start_head_timer()
        super().data_received(data)

    def head_received(self) -> None:
        self._dispatched += 1
        self._awaiting_head = False
        self._cancel_head_timer()
        self._owner.in_flight += 1

    def reading_body(self) -> None:
        self._reading_body = True

    def request_done(self) -> None:
        self._sent_since_request = False
        self._reading_body = False
        self._awaiting_head = True
        self._owner.in_flight -= 1
        if self._counted and not self.peer_done:
            self._owner.kept_alive[self] = None

    async def linger(self) -> None:
        """After an error reply to a request not read whole: half-close, read and discard until the client closes
        its side, ``linger_seconds`` pass or more than ``linger_bytes`` arrive; the caller then closes."""
        transport = self.transport
        if transport is None or transport.is_closing() or self.peer_done or self._lingering is not None:
            return
        if self._owner.stopping:  # shutting down: close now, as when the lingering ends
            return
        self._cancel_head_timer()
        self._lingering = self._loop.create_future()
        self._owner.not_idle(self)
        self._owner.lingering[self] = None
        if transport.can_write_eof():
            transport.write_eof()  # after the reply: a client reading while it sends sees the end of it
        transport.resume_reading()  # aiohttp pauses reading while a body waits unread
        timer = self._loop.call_later(self._service.limits.linger_seconds, self.stop_lingering)
        try:
            await self._lingering
        finally:
            timer.cancel()

    def stop_lingering(self) -> None:
        if self._lingering is not None and not self._lingering.done():
            self._lingering.set_result(None)

    def _start_head_timer(self) -> None:
        self._head_timer = self._loop.call_later(self._service.limits.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._awaiting_head:
            limit = self._service.limits.header_timeout
            self._refuse(408, f"the request headers did not arrive within {limit:g}s")

    def _refuse(self, status: int, message: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(raw_json_reply(status, {"error": message}))
        self.force_close()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """The JSON reply to a request aiohttp could not parse.

        aiohttp calls this for handler exceptions too, but ``_dispatch`` answers those itself, and no handler starts
        a response before it returns one whole: so no reply has begun here (aiohttp's own version checks
        ``request.writer.output_size`` for that).
        """
        if isinstance(exc, LineTooLong):
            status = 414 if exc.args[1] == self._service.limits.max_request_line else 431
            text = "request line too long" if status == 414 else "request header too large"
        elif isinstance(exc, BadHttpMessage):
            status = 431 if "Too many headers" in exc.message else exc.code or 400
            text = "too many request headers" if status == 431 else f"malformed request: {exc.message}"
        else:
            text = HTTPStatus(status).phrase.lower()
        if status >= 500:
            log.error("error handling a request", exc_info=exc)
        response = _error(status, text)
        if isinstance(exc, BadHttpMessage):  # the rest of the request line or header block is still on its way
            response.linger_on = self
        return response
