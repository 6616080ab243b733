"""Command-line flags declared once, in a table: name, environment variable, type, default, help.

Every flag has an environment variable twin; the variable, when set, replaces the default.  A help text names
its variable as ``{env}``, so the variable is written once, in the table.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from voice_monitoring.shared.http_service import ServerLimits


@dataclass(frozen=True)
class Flag:
    name: str
    env: str
    type: type = str
    default: object = None
    help: str = ""
    # an earlier flag name and environment variable, still accepted (the new variable wins when both are set)
    deprecated: tuple[str, str] | None = None

    @property
    def dest(self) -> str:
        return self.name.removeprefix("--").replace("-", "_")


def env_default(name: str, default: Any, kind: type | None = None) -> Any:
    """The environment variable ``name`` converted to ``kind`` (the type of ``default``), or ``default``."""
    value = os.environ.get(name)
    if value is None:
        return default
    kind = kind or (type(default) if default is not None else str)
    return kind(value)


class _DeprecatedName(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if option_string != self.option_strings[0]:
            print(f"{parser.prog}: {option_string} is deprecated; use {self.option_strings[0]}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_flags(parser: argparse.ArgumentParser, table: Iterable[Flag]) -> None:
    for flag in table:
        default = flag.default
        names = [flag.name]
        if flag.deprecated:
            old_name, old_env = flag.deprecated
            names.append(old_name)
            if old_env in os.environ and flag.env not in os.environ:
                print(f"{parser.prog}: {old_env} is deprecated; use {flag.env}", file=sys.stderr)
            default = env_default(old_env, default, flag.type)
        options: dict[str, Any] = {}
        if flag.type is not str:
            options["type"] = flag.type
        if flag.deprecated:
            options["action"] = _DeprecatedName
        parser.add_argument(
            *names,
            dest=flag.dest,
            default=env_default(flag.env, default, flag.type),
            help=flag.help.format(env=flag.env)
            + (f"; formerly {flag.deprecated[0]} ({flag.deprecated[1]})" if flag.deprecated else ""),
            **options,
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


def server_limits(args: argparse.Namespace, **overrides: Any) -> ServerLimits:
    values = {f.name: getattr(args, f.name) for f in fields(ServerLimits) if f.name in SERVER_FLAGS}
    limits = ServerLimits(**values, **overrides)
    if min(limits.header_timeout, limits.body_timeout, limits.keepalive_timeout) <= 0:
        raise ValueError("server timeouts must be positive")
    if limits.max_connections < 1 or limits.backlog < 1:
        raise ValueError("--max-connections and --backlog must be at least 1")
    return limits
