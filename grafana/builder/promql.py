"""PromQL text built from catalogue names, so that a misspelt metric fails at generation time.

Grafana substitutes ``$__rate_interval`` and the template variables; the
functions here only write the text.
"""

from __future__ import annotations

from voice_monitoring.shared import catalogue

RATE_INTERVAL = "$__rate_interval"
RANGE = "$__range"

# Recording rules from prometheus/rules/; the dashboard lint checks they exist.
RECORDED: set[str] = set()


def name(metric: str, suffix: str = "") -> str:
    """A catalogued series name (``suffix`` is ``_bucket``, ``_sum`` or ``_count`` for histograms)."""
    entry = catalogue.metric(metric)
    series = metric + suffix
    if series not in entry.series_names:
        raise KeyError(f"{series} is not a series of {metric}")
    return series


def recorded(rule: str) -> str:
    """The name of a recording rule; the lint test checks it is recorded in prometheus/rules/."""
    RECORDED.add(rule)
    return rule


def matchers(**labels: str) -> str:
    """``{a=~"x", b="y"}``; a value starting with ``=``, ``!`` or ``~`` carries its own operator."""
    parts = []
    for label, value in labels.items():
        if value[:1] in ("=", "!", "~"):
            op, value = (value[:2], value[2:]) if value[:2] in ("=~", "!=", "!~") else ("=", value[1:])
        else:
            op = "=~"
        parts.append(f'{label}{op}"{value}"')
    return "{" + ", ".join(parts) + "}" if parts else ""


def sel(metric: str, suffix: str = "", **labels: str) -> str:
    return name(metric, suffix) + matchers(**labels)


def _by(labels: tuple[str, ...] | list[str]) -> str:
    return f" by ({', '.join(labels)})" if labels else ""


def rate(metric: str, by=(), window: str = RATE_INTERVAL, suffix: str = "", fn: str = "rate", **labels) -> str:
    """``sum by (...) (rate(metric{...}[window]))``."""
    return f"sum{_by(by)} ({fn}({sel(metric, suffix, **labels)}[{window}]))"


def increase(metric: str, by=(), window: str = RANGE, suffix: str = "", **labels) -> str:
    return rate(metric, by, window, suffix, fn="increase", **labels)


def quantile(q: float, metric: str, by=(), window: str = RATE_INTERVAL, **labels) -> str:
    """A quantile over a catalogued histogram, aggregated by ``by`` (plus ``le``)."""
    if catalogue.metric(metric).type != "histogram":
        raise ValueError(f"{metric} is not a histogram")
    return f"histogram_quantile({q:g}, {rate(metric, ('le', *by), window, '_bucket', **labels)})"


def mean(metric: str, by=(), window: str = RATE_INTERVAL, **labels) -> str:
    """Mean of a histogram's observations over the window."""
    fn = "increase" if window == RANGE else "rate"
    return f"{rate(metric, by, window, '_sum', fn, **labels)}\n  /\n{rate(metric, by, window, '_count', fn, **labels)}"


def agg(op: str, metric: str, by=(), **labels) -> str:
    return f"{op}{_by(by)} ({sel(metric, **labels)})"
