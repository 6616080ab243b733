"""HTTP front of the read API: /v1/calls, /v1/cost, /v1/latency, /v1/health, the /v1/stream WebSocket, and
/openapi.json, /health, /ready; on the shared HTTP service (timeouts, bounded connections, JSON errors)."""

from __future__ import annotations

import asyncio
import calendar
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypedDict

from aiohttp import WSMsgType, web

from voice_monitoring.api import queries
from voice_monitoring.api.openapi import document
from voice_monitoring.api.stream import Stream
from voice_monitoring.api.tokens import AuthError, Principal, Tokens
from voice_monitoring.scorer.promql import PrometheusClient, QueryError
from voice_monitoring.shared.http_service import HttpService, ServerLimits, json_bytes

MAX_RANGE_SECONDS = 31 * 86400
DEFAULT_RANGE_SECONDS = 3600
MAX_LABEL_VALUE = 256
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class StreamLimits:
    interval: float = 5.0
    max_subscribers: int = 100
    queue_size: int = 8
    send_timeout: float = 5.0


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _json(status: int, payload: object) -> web.Response:
    return web.Response(status=status, body=json_bytes(payload), content_type="application/json")


Handler = Callable[[web.BaseRequest, Principal, dict[str, str]], Awaitable[web.StreamResponse]]


class Figure(TypedDict):
    """One sample of a figure's query."""

    labels: dict[str, str]
    value: float


class WindowJson(TypedDict):
    start: float
    end: float


class Health(TypedDict):
    status: str
    prometheus: str
    stream_subscribers: int
    stream_subscribers_dropped: int


@dataclass(frozen=True)
class _Route:
    handler: Handler
    params: frozenset[str]
    admin_only: bool = False


class ApiServer(HttpService):
    def __init__(
        self,
        address: tuple[str, int],
        prometheus: PrometheusClient,
        tokens: Tokens,
        limits: ServerLimits | None = None,
        stream_limits: StreamLimits | None = None,
        query_workers: int = 4,
    ):
        super().__init__(address, limits)
        self.prometheus = prometheus
        self.tokens = tokens
        self.stream_limits = stream_limits or StreamLimits()
        self._executor = ThreadPoolExecutor(query_workers, thread_name_prefix="promql")
        self.stream = Stream(
            prometheus.instant,
            self.stream_limits.interval,
            self.stream_limits.max_subscribers,
            self.stream_limits.queue_size,
            self._executor,
        )
        self._routes: dict[str, _Route] = {
            "/v1/calls": _Route(self._calls, frozenset({"tenant", "start", "end"})),
            "/v1/cost": _Route(self._cost, frozenset({"tenant", "month", "call_id"})),
            "/v1/latency": _Route(self._latency, frozenset({"component", "provider", "start", "end"}), True),
            "/v1/health": _Route(self._health, frozenset({"component"}), True),
            "/v1/stream": _Route(self._stream, frozenset({"tenant"})),
        }
        self.get("/openapi.json", lambda: (200, document()))
        self.get("/health", lambda: (200, self.health()))
        self.get("/ready", lambda: (200, {"status": "ready"}))
        self.on_shutdown.append(lambda: self._executor.shutdown(wait=False, cancel_futures=True))

    def health(self) -> Health:
        return {
            "status": "ok",
            "prometheus": self.prometheus.base_url,
            "stream_subscribers": len(self.stream.subscribers),
            "stream_subscribers_dropped": self.stream.dropped,
        }

    # --- serving ---------------------------------------------------------------------

    async def _serve(self, on_bound: Callable[[], None], signals: bool = False) -> None:
        tasks: list[asyncio.Task[None]] = []

        def bound() -> None:
            tasks.append(asyncio.ensure_future(self.stream.run()))
            if self._stop is not None:  # HttpService._serve sets it before it binds the port
                tasks.append(asyncio.ensure_future(self._close_stream_on_stop(self._stop)))
            on_bound()

        try:
            await super()._serve(bound, signals)
        finally:
            for task in tasks:
                task.cancel()

    async def _close_stream_on_stop(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.stream.close_all()

    async def _route(self, request: web.BaseRequest) -> web.StreamResponse:
        route = self._routes.get(request.path)
        if route is None:
            return await super()._route(request)
        if request.method not in ("GET", "HEAD"):
            refused = _json(405, {"error": f"{request.method} is not allowed here"})
            refused.headers["Allow"] = "GET"
            return refused
        try:
            principal = self.tokens.principal(request.headers.getall("Authorization", []))
            if route.admin_only and not principal.admin:
                raise RequestError(403, "this endpoint serves figures of every tenant: an admin token is required")
            params = _params(request, route.params)
            asked = params.pop("tenant", None)
            if asked is not None and not principal.admin and asked != principal.tenant:
                raise RequestError(403, "a tenant token reads its own tenant only")
            tenant = principal.tenant if not principal.admin else asked
            return await route.handler(request, Principal(tenant), params)
        except AuthError as exc:
            return _json(exc.status, {"error": str(exc)})
        except RequestError as exc:
            return _json(exc.status, {"error": str(exc)})
        except QueryError as exc:
            return _json(504 if exc.reason == "timeout" else 502, {"error": f"Prometheus: {exc}"})

    async def _figures(self, exprs: dict[str, str]) -> dict[str, list[Figure]]:
        loop = asyncio.get_running_loop()
        answers = await asyncio.gather(
            *(loop.run_in_executor(self._executor, self.prometheus.instant, expr) for expr in exprs.values())
        )
        return {
            name: [{"labels": labels, "value": value} for labels, value in samples]
            for name, samples in zip(exprs, answers, strict=True)
        }

    async def _answer(self, exprs: dict[str, str], **context: object) -> web.Response:
        return _json(200, {**context, "figures": await self._figures(exprs), "queries": exprs})

    # --- endpoints -------------------------------------------------------------------

    async def _calls(self, request: web.BaseRequest, scope: Principal, params: dict[str, str]) -> web.Response:
        window = _window(params)
        return await self._answer(queries.calls(scope.tenant, window), window=_window_json(window))

    async def _cost(self, request: web.BaseRequest, scope: Principal, params: dict[str, str]) -> web.Response:
        call_id = params.get("call_id")
        if call_id is not None:
            if "month" in params:
                raise RequestError(400, "call_id and month exclude each other")
            return await self._answer({"call_usd": queries.call_cost(scope.tenant, call_id)}, call_id=call_id)
        window, month = _month(params.get("month"))
        return await self._answer(queries.cost(scope.tenant, window), month=month, window=_window_json(window))

    async def _latency(self, request: web.BaseRequest, scope: Principal, params: dict[str, str]) -> web.Response:
        window = _window(params)
        exprs = queries.latency(params.get("component"), params.get("provider"), window)
        return await self._answer(exprs, window=_window_json(window))

    async def _health(self, request: web.BaseRequest, scope: Principal, params: dict[str, str]) -> web.Response:
        return await self._answer(queries.health(params.get("component")))

    async def _stream(self, request: web.BaseRequest, scope: Principal, params: dict[str, str]) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=4096)
        if not ws.can_prepare(request).ok:
            return _json(400, {"error": "a WebSocket upgrade is required"})
        subscriber = self.stream.subscribe(scope.tenant)
        if subscriber is None:
            return _json(503, {"error": f"the stream serves {self.stream.max_subscribers} subscribers at most"})
        try:
            await ws.prepare(request)
            reader = asyncio.ensure_future(_drain(ws))
            try:
                while not reader.done():
                    batch = await subscriber.queue.get()
                    if batch is None:
                        break
                    async with asyncio.timeout(self.stream_limits.send_timeout):
                        await ws.send_str(json_bytes(batch).decode())
            except TimeoutError:
                self.stream.drop(subscriber)
            except ConnectionError:  # the client went away mid-send
                pass
            finally:
                reader.cancel()
            await ws.close()
        finally:
            self.stream.unsubscribe(subscriber)
        return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the client sends, so its close and pings are answered."""
    async for message in ws:
        if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            break


def _params(request: web.BaseRequest, allowed: frozenset[str]) -> dict[str, str]:
    query = request.rel_url.query
    params: dict[str, str] = {}
    for name, value in query.items():
        if name not in allowed:
            raise RequestError(400, f"unknown parameter {name!r:.40}; this endpoint takes {sorted(allowed)}")
        if name in params:
            raise RequestError(400, f"parameter {name!r} given twice")
        if not value or len(value) > MAX_LABEL_VALUE:
            raise RequestError(400, f"parameter {name!r} must have 1 to {MAX_LABEL_VALUE} characters")
        params[name] = value
    return params


def _number(params: dict[str, str], name: str, default: float) -> float:
    if name not in params:
        return default
    try:
        value = float(params[name])
    except ValueError:
        raise RequestError(400, f"{name} must be Unix seconds") from None
    if not 0 <= value < 1e11:
        raise RequestError(400, f"{name} must be Unix seconds")
    return value


def _window(params: dict[str, str]) -> queries.Window:
    end = _number(params, "end", time.time())
    start = _number(params, "start", end - DEFAULT_RANGE_SECONDS)
    seconds = round(end - start)
    if not 1 <= seconds <= MAX_RANGE_SECONDS:
        raise RequestError(400, f"end - start must be 1 s to {MAX_RANGE_SECONDS} s")
    return queries.Window(end, seconds)


def _month(month: str | None) -> tuple[queries.Window, str]:
    now = time.time()
    if month is None:
        month = time.strftime("%Y-%m", time.gmtime(now))
    if not MONTH.fullmatch(month):
        raise RequestError(400, "month must be YYYY-MM")
    year, number = int(month[:4]), int(month[5:])
    if year < 1970:
        raise RequestError(400, "month must be 1970-01 or later")
    start = calendar.timegm((year, number, 1, 0, 0, 0))
    following = calendar.timegm((year + number // 12, number % 12 + 1, 1, 0, 0, 0))
    end = min(following, now)
    if end - start < 1:
        raise RequestError(400, "the month has not begun")
    return queries.Window(end, round(end - start)), month


def _window_json(window: queries.Window) -> WindowJson:
    return {"start": window.end - window.seconds, "end": window.end}
