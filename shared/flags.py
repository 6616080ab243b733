"""Command-line flags declared once, in a table: name, environment variable, type, default, help.

Every flag has an environment variable twin; the variable, when set, replaces the default.  A help text names
its variable as ``{env}``, so the variable is written once, in the table.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from dataclasses import dataclass, fields

from voice_monitoring.shared.http_service import ServerLimits


@dataclass(frozen=True)
class Flag:
    name: str
    env: str
    type: type = str
    default: object = None
    help: str = ""

    @property
    def dest(self) -> str:
        return self.name.removeprefix("--").replace("-", "_")


def env_default(name: str, default, kind: type | None = None):
    """The environment variable ``name`` converted to ``kind`` (the type of ``default``), or ``default``."""
    value = os.environ.get(name)
    if value is None:
        return default
    kind = kind or (type(default) if default is not None else str)
    return kind(value)


def add_flags(parser: argparse.ArgumentParser, table: Iterable[Flag]) -> None:
    for flag in table:
        parser.add_argument(
            flag.name,
            type=None if flag.type is str else flag.type,
            default=env_default(flag.env, flag.default, flag.type),
            help=flag.help.format(env=flag.env),
        )


SERVER_FLAGS = {
    "header_timeout": "seconds a client may take to send a request's headers",
    "body_timeout": "seconds a client may take to send a request's body",
    "keepalive_timeout": "seconds an idle keep-alive connection stays open",
    "max_connections": "open connections at most; at the limit the longest-idle one makes room, else 503",
    "backlog": "listen backlog (connections the kernel queues before they are accepted)",
    "shutdown_timeout": "seconds requests in flight may take to finish after SIGTERM",
}


def server_flags(env_prefix: str) -> tuple[Flag, ...]:
    """The server limits as flags, each with an environment variable twin ``<env_prefix>_<NAME>``."""
    defaults = ServerLimits()
    table = []
    for name, meaning in SERVER_FLAGS.items():
        default = getattr(defaults, name)
        table.append(
            Flag(
                "--" + name.replace("_", "-"),
                f"{env_prefix}_{name.upper()}",
                type(default),
                default,
                f"{meaning} ({{env}}, default {default:g})",
            )
        )
    return tuple(table)


def server_limits(args: argparse.Namespace, **overrides) -> ServerLimits:
    values = {f.name: getattr(args, f.name) for f in fields(ServerLimits) if f.name in SERVER_FLAGS}
    limits = ServerLimits(**values, **overrides)
    if min(limits.header_timeout, limits.body_timeout, limits.keepalive_timeout) <= 0:
        raise ValueError("server timeouts must be positive")
    if limits.max_connections < 1 or limits.backlog < 1:
        raise ValueError("--max-connections and --backlog must be at least 1")
    return limits
