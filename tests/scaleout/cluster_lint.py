"""The Alertmanager cluster's timing rule: on every route, group_interval > (peers - 1) x peer_timeout.

Peer N of a cluster waits N x peer_timeout before it sends a group's notification, unless the gossiped
notification log shows that an earlier peer has sent it. A group interval shorter than the last peer's wait
lets that peer send a notification the next interval has already superseded: a stale "firing" after "resolved"
(upstream Alertmanager issues #4008 and #2447).
"""

from __future__ import annotations

from tests.rules.rule_files import parse_duration

DEFAULT_GROUP_INTERVAL = "5m"


def route_group_intervals(route: dict, inherited: str = DEFAULT_GROUP_INTERVAL, path: str = "route"):
    """(route path, effective group_interval) for a route and every child, children inheriting their parent's."""
    interval = route.get("group_interval", inherited)
    yield path, interval
    for i, child in enumerate(route.get("routes") or []):
        matchers = ",".join(child.get("matchers") or []) or str(i)
        yield from route_group_intervals(child, interval, f"{path} > {matchers}")


def too_short_group_intervals(config: dict, peers: int, peer_timeout: float) -> list[str]:
    """Every route whose group_interval does not exceed the last peer's wait, with the numbers."""
    last_wait = (peers - 1) * peer_timeout
    return [
        f"{path}: group_interval {interval} <= ({peers} - 1) x {peer_timeout:g}s"
        for path, interval in route_group_intervals(config["route"])
        if parse_duration(interval) <= last_wait
    ]
