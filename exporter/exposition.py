"""Writing the Prometheus text format (version 0.0.4)."""

from __future__ import annotations

from collections.abc import Iterable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape(value: str) -> str:
    """A label value escaped for the text format."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(names: Iterable[str], values: Iterable[str]) -> str:
    """``name="value",...`` for the inside of the braces."""
    return ",".join(f'{name}="{escape(value)}"' for name, value in zip(names, values, strict=False))


def header(name: str, help: str, type: str) -> str:
    help_text = help.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {name} {help_text}\n# TYPE {name} {type}\n"


def sample(name: str, labels: str, value: float) -> str:
    return f"{name}{{{labels}}} {float(value)!r}" if labels else f"{name} {float(value)!r}"
