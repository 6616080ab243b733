"""The read API's OpenAPI 3.0 document, served at /openapi.json."""

from __future__ import annotations

from typing import Any

_NUMBER_OR_NULL = {"type": "number", "nullable": True}
_ERROR = {
    "description": "an error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ERRORS = {code: _ERROR for code in ("400", "401", "403", "502", "504")}
_FIGURES = {
    "description": "the figures and the PromQL each stands for",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Figures"}}},
}


def _param(name: str, description: str, **schema: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": 256, **schema},
    }


_TENANT = _param("tenant", "an admin token's tenant filter; a tenant token may only name its own tenant")
_START = _param("start", "Unix seconds; default end - 3600", pattern=r"^[0-9]{1,10}(\.[0-9]{1,3})?$")
_END = _param("end", "Unix seconds; default now", pattern=r"^[0-9]{1,10}(\.[0-9]{1,3})?$")


def _get(summary: str, parameters: list[dict[str, Any]], ok: dict[str, Any] = _FIGURES) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": parameters, "responses": {"200": ok, **_ERRORS}}}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Voice agent monitoring read API", "version": "1"},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/calls": _get(
                "Calls started and ended, success rate and end reasons, per tenant", [_TENANT, _START, _END]
            ),
            "/v1/cost": _get(
                "Spend per tenant and service in a calendar month (UTC), or one live call's running cost",
                [
                    _TENANT,
                    _param("month", "YYYY-MM; default this month", pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
                    _param("call_id", "a call in progress or just ended (excludes month)"),
                ],
            ),
            "/v1/latency": _get(
                "p50, p95, p99 of turn latency, or of one component's latency (admin: the series carry no tenant)",
                [
                    _param("component", "stt, llm_ttft, tts_ttfb, ..."),
                    _param("provider", "the call's provider"),
                    _START,
                    _END,
                ],
            ),
            "/v1/health": _get(
                "Provider services up, request success and errors per turn (admin)",
                [_param("component", "a service or component name")],
            ),
            "/v1/stream": {
                "get": {
                    "summary": "WebSocket: call.started, call.ended, call.scored and fleet updates as JSON text frames",
                    "parameters": [_TENANT],
                    "responses": {"101": {"description": "switching to WebSocket"}, **_ERRORS, "503": _ERROR},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "Sample": {
                    "type": "object",
                    "required": ["labels", "value"],
                    "properties": {
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "value": _NUMBER_OR_NULL,
                    },
                },
                "Figures": {
                    "type": "object",
                    "required": ["figures", "queries"],
                    "properties": {
                        "figures": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"$ref": "#/components/schemas/Sample"}},
                        },
                        "queries": {"type": "object", "additionalProperties": {"type": "string"}},
                        "window": {
                            "type": "object",
                            "properties": {"start": {"type": "number"}, "end": {"type": "number"}},
                        },
                        "month": {"type": "string"},
                        "call_id": {"type": "string"},
                    },
                },
            },
        },
    }
