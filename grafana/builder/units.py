"""Grafana units for the catalogue's units."""

from __future__ import annotations

from voice_monitoring.shared import catalogue

GRAFANA_UNIT = {
    "seconds": "s",
    "usd": "currencyUSD",
    "ratio": "percentunit",
    "bytes": "bytes",
    "bool": "bool",
    "dB": "dB",
    "calls": "short",
    "turns": "short",
    "events": "short",
    "errors": "short",
    "requests": "short",
    "units": "short",
    "frames": "short",
    "series": "short",
    "queries": "short",
    "score": "none",
    "band": "none",
    "points": "none",
    "mos": "none",
    "R": "none",
    "state": "none",
    "info": "none",
}

# Per-second rates of counters.
GRAFANA_RATE_UNIT = {
    "bytes": "Bps",
    "calls": "cps",
    "turns": "cps",
    "events": "eps",
    "errors": "eps",
    "requests": "reqps",
    "queries": "reqps",
    "units": "cps",
}


def of(metric: str) -> str:
    """The Grafana unit of a catalogued metric's values."""
    return GRAFANA_UNIT[catalogue.metric(metric).unit]


def rate_of(metric: str) -> str:
    """The Grafana unit of a catalogued counter's per-second rate."""
    return GRAFANA_RATE_UNIT[catalogue.metric(metric).unit]
