"""A small client of the Prometheus HTTP API's instant queries, with timeouts and failure reasons."""

from __future__ import annotations

import threading

import requests


class QueryError(Exception):
    """A failed query; ``reason`` is the label value of ai_agent_scorer_query_errors_total."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


class PrometheusClient:
    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def instant(self, expr: str) -> list[dict]:
        """The result vector of ``expr``; raises QueryError(timeout | http | parse)."""
        params = {"query": expr, "timeout": f"{self.timeout:g}"}  # plain seconds: "0.5s" is no Prometheus duration
        try:
            response = self._session().post(f"{self.base_url}/api/v1/query", data=params, timeout=self.timeout)
        except requests.Timeout as exc:
            raise QueryError("timeout", f"no answer within {self.timeout:g}s: {exc}") from None
        except requests.RequestException as exc:
            raise QueryError("http", f"request failed: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise QueryError(
                "http" if response.status_code >= 400 else "parse", f"HTTP {response.status_code}, body is not JSON"
            ) from None
        if not isinstance(body, dict):
            raise QueryError("parse", f"HTTP {response.status_code}, body is not a JSON object")
        if response.status_code >= 400 or body.get("status") != "success":
            error_type = body.get("errorType")
            reason = "timeout" if error_type == "timeout" else "http"
            raise QueryError(reason, f"HTTP {response.status_code}: {body.get('error', body)}")
        data = body.get("data") or {}
        if data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
            raise QueryError("parse", f"expected a vector, got {data.get('resultType')!r}")
        return data["result"]
