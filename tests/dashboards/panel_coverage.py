"""Which voice panels an integration's end-to-end run fills, checked against what grafana/builder/coverage.py
declares: every query of every voice panel is run against the run's Prometheus, as Grafana would send it."""

from __future__ import annotations

from grafana.builder import build_all, coverage
from tests.dashboards.board_walk import has_data, substitute
from tests.harness import query

# Grafana macros as Grafana would expand them for a 1 s scrape interval and a range covering a whole test.
MACROS = {"$__rate_interval": "30s", "$__interval": "1s", "$__range": "10m"}
# Every multi-value variable at All.
RANGE_VARIABLES = {"provider": ".*", "tenant": ".*", "pipeline": ".*", "vendor": ".*"}


def empty_voice_panels(prometheus_url: str, call_id: str) -> dict[coverage.PanelKey, list[str]]:
    """{(uid, title): its queries} of every voice panel none of whose queries returns data; $call_id is
    ``call_id``. A query Prometheus refuses fails the check."""
    variables = {**RANGE_VARIABLES, "call_id": call_id}
    empty = {}
    for key, panel in coverage.voice_panels(build_all()).items():
        exprs = [substitute(target["expr"], variables, MACROS) for target in panel["targets"]]
        if not any(has_data(query(prometheus_url, expr)) for expr in exprs):
            empty[key] = exprs
    return empty


def assert_panel_coverage(integration: str, prometheus_url: str, call_id: str) -> None:
    """Fails unless the voice panels that return no data on ``prometheus_url`` are exactly the ones the coverage
    source declares ``integration`` cannot fill: one more is a regression, one fewer means the source must say the
    integration now fills it. A panel counts as filled when any of its queries returns a value, which is when
    Grafana draws it instead of its no-value text."""
    declared = coverage.gaps(integration)
    empty = empty_voice_panels(prometheus_url, call_id)
    unexpected = [
        f"{uid} / {title}: {' | '.join(exprs)}" for (uid, title), exprs in empty.items() if (uid, title) not in declared
    ]
    filled = [
        f"{uid} / {title} (declared: {reason})"
        for (uid, title), reason in declared.items()
        if (uid, title) not in empty
    ]
    message = []
    if unexpected:
        message.append(
            f"{integration}: voice panels without data that coverage.py does not declare:\n" + "\n".join(unexpected)
        )
    if filled:
        message.append(
            f"{integration}: panels coverage.py declares empty now have data; remove them from its gaps:\n"
            + "\n".join(filled)
        )
    assert not message, "\n".join(message)
