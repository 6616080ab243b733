"""Thin helpers over grafana-foundation-sdk: every panel gets a title, a description, a unit and the datasource.

Each helper returns the SDK builder so a dashboard can keep chaining SDK calls.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    heatmap,
    piechart,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.models import common as mc
from grafana_foundation_sdk.models import dashboard as md
from grafana_foundation_sdk.models import heatmap as mh
from grafana_foundation_sdk.models import piechart as mpie
from grafana_foundation_sdk.models import prometheus as mp

from grafana.builder import colours

PROMETHEUS_UID = "prometheus"
# Every panel reads the Prometheus chosen in the dashboard's $datasource variable (provisioned default: prometheus).
DATASOURCE = md.DataSourceRef(type_val="prometheus", uid="${datasource}")

OK, WARNING, CRITICAL = "green", "orange", "red"
# Counts and distributions are neither good nor bad: one colour, never a threshold's red.
COUNT = "blue"


def query(expr: str, legend: str = "", instant: bool = False, fmt: str | None = None) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).datasource(DATASOURCE)
    if legend:
        q = q.legend_format(legend)
    q = q.instant() if instant else q.range()
    if fmt:
        q = q.format(mp.PromQueryFormat(fmt))
    return q


def steps(base: str, *pairs: tuple[float, str]) -> dashboard.ThresholdsConfig:
    """Absolute thresholds: ``base`` colour below the first value, then each (value, colour)."""
    return (
        dashboard.ThresholdsConfig()
        .mode(md.ThresholdsMode.ABSOLUTE)
        .steps([md.Threshold(value=None, color=base)] + [md.Threshold(value=v, color=c) for v, c in pairs])
    )


def above(warning: float | None = None, critical: float | None = None) -> dashboard.ThresholdsConfig:
    """Green, then orange from ``warning``, red from ``critical`` (higher is worse)."""
    pairs = [(v, c) for v, c in ((warning, WARNING), (critical, CRITICAL)) if v is not None]
    return steps(OK, *pairs)


def below(critical: float, warning: float | None = None) -> dashboard.ThresholdsConfig:
    """Red below ``critical``, orange up to ``warning``, green above (lower is worse)."""
    pairs = [(critical, WARNING if warning is not None else OK)] + ([(warning, OK)] if warning is not None else [])
    return steps(CRITICAL, *pairs)


def value_text(mapping: dict[int, tuple[str, str]]) -> list[md.ValueMap]:
    """Value mappings {value: (text, colour)}."""
    return [
        md.ValueMap(
            options={
                str(v): md.ValueMappingResult(text=t, color=c, index=i) for i, (v, (t, c)) in enumerate(mapping.items())
            }
        )
    ]


def _common(panel, title: str, description: str, unit: str, targets, w: int, h: int, thresholds=None):
    panel = panel.title(title).description(description).unit(unit).datasource(DATASOURCE).span(w).height(h)
    for ref, target in zip("ABCDEFGHIJ", targets, strict=False):
        panel = panel.with_target(target.ref_id(ref))
    panel = panel.thresholds(thresholds if thresholds is not None else steps(COUNT))
    if any("{{provider}}" in (target.build().legend_format or "") for target in targets):
        panel = colours.pin(panel, colours.for_providers())
    return panel


def _legend(show: bool = True, table_mode: bool = False, calcs: tuple[str, ...] = ()) -> common.VizLegendOptions:
    return (
        common.VizLegendOptions()
        .show_legend(show)
        .placement(mc.LegendPlacement.BOTTOM)
        .display_mode(mc.LegendDisplayMode.TABLE if table_mode else mc.LegendDisplayMode.LIST)
        .calcs(list(calcs))
    )


def timeseries_panel(
    title,
    description,
    unit,
    *targets,
    w=12,
    h=8,
    thresholds=None,
    stack=False,
    threshold_lines=False,
    calcs=("lastNotNull", "max"),
) -> timeseries.Panel:
    """A time series panel; its legend lists the last and highest value (never a mean, which would average
    percentiles), as a table only on panels tall enough to hold one."""
    panel = _common(timeseries.Panel(), title, description, unit, targets, w, h, thresholds)
    panel = (
        panel.legend(_legend(table_mode=bool(calcs) and h > 8, calcs=calcs))
        .line_width(1)
        .fill_opacity(10)
        .tooltip(common.VizTooltipOptions().mode(mc.TooltipDisplayMode.MULTI).sort(mc.SortOrder.DESCENDING))
    )
    if stack:
        panel = panel.stacking(common.StackingConfig().mode(mc.StackingMode.NORMAL)).fill_opacity(40)
    if threshold_lines:
        panel = panel.thresholds_style(
            common.GraphThresholdsStyleConfig().mode(mc.GraphThresholdsStyleMode.LINE_AND_AREA)
        )
    return panel


def stat_panel(
    title, description, unit, *targets, w=6, h=4, thresholds=None, mappings=None, calc="lastNotNull", graph=False
) -> stat.Panel:
    panel = _common(stat.Panel(), title, description, unit, targets, w, h, thresholds or steps(OK))
    panel = (
        panel.reduce_options(common.ReduceDataOptions().calcs([calc]).values(False))
        .color_mode(mc.BigValueColorMode.BACKGROUND if thresholds or mappings else mc.BigValueColorMode.VALUE)
        .graph_mode(mc.BigValueGraphMode.AREA if graph else mc.BigValueGraphMode.NONE)
        .text_mode(mc.BigValueTextMode.AUTO)
    )
    if mappings:
        panel = panel.mappings(mappings)
    return panel


def table_panel(title, description, unit, *targets, w=24, h=8, thresholds=None) -> table.Panel:
    return _common(table.Panel(), title, description, unit, targets, w, h, thresholds).filterable(False)


def heatmap_panel(title, description, unit, *targets, w=12, h=8) -> heatmap.Panel:
    """A heatmap of pre-bucketed Prometheus histogram data (targets with format ``heatmap``)."""
    return (
        _common(heatmap.Panel(), title, description, "short", targets, w, h)
        .calculate(False)
        .y_axis(heatmap.YAxisConfig().unit(unit))
        .color(heatmap.HeatmapColorOptions().mode(mh.HeatmapColorMode.SCHEME).scheme("Oranges").steps(64))
        .cell_values(heatmap.CellValues().unit("short"))
    )


def state_timeline_panel(
    title, description, unit, *targets, w=24, h=8, thresholds=None, mappings=None
) -> statetimeline.Panel:
    panel = (
        _common(statetimeline.Panel(), title, description, unit, targets, w, h, thresholds)
        .legend(_legend())
        .merge_values(True)
        .show_value(mc.VisibilityMode.AUTO)
        .fill_opacity(80)
    )
    if mappings:
        panel = panel.mappings(mappings)
    return panel


def piechart_panel(title, description, unit, *targets, w=6, h=8) -> piechart.Panel:
    return (
        _common(piechart.Panel(), title, description, unit, targets, w, h)
        .pie_type(mpie.PieChartType.DONUT)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .legend(
            piechart.PieChartLegendOptions()
            .show_legend(True)
            .placement(mc.LegendPlacement.RIGHT)
            .display_mode(mc.LegendDisplayMode.TABLE)
            .values([mpie.PieChartLegendValues.PERCENT])
        )
    )


def bargauge_panel(title, description, unit, *targets, w=12, h=8, thresholds=None) -> bargauge.Panel:
    """A bar gauge; without ``thresholds`` every bar is the neutral count colour."""
    return (
        _common(bargauge.Panel(), title, description, unit, targets, w, h, thresholds or steps(COUNT))
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .display_mode(mc.BarGaugeDisplayMode.GRADIENT)
        .orientation(mc.VizOrientation.VERTICAL)
    )


def row(title: str) -> dashboard.Row:
    return dashboard.Row(title)


def organize(exclude=(), rename: dict | None = None) -> md.DataTransformerConfig:
    """Hide and rename table columns."""
    return md.DataTransformerConfig(
        id_val="organize", options={"excludeByName": {c: True for c in exclude}, "renameByName": rename or {}}
    )


def transformation(kind: str, **options) -> md.DataTransformerConfig:
    return md.DataTransformerConfig(id_val=kind, options=options)
