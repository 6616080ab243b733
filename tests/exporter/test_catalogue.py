from prometheus_client.parser import text_string_to_metric_families

from voice_monitoring.exporter.core import Exporter
from voice_monitoring.shared import catalogue


def test_every_name_is_namespaced_and_unique():
    names = [m.name for m in catalogue.METRICS]
    assert len(names) == len(set(names))
    assert all(n.startswith(catalogue.NAMESPACE + "_") for n in names if n != catalogue.STANDARD_PROCESS_START)


def test_call_id_appears_only_on_per_call_series():
    for m in catalogue.METRICS:
        assert ("call_id" in m.labels) == (m.scope == catalogue.PER_CALL), m.name


def test_latency_buckets_span_100ms_to_8s_with_an_edge_at_800ms():
    buckets = catalogue.LATENCY_BUCKETS
    assert buckets[0] == 0.1 and buckets[-1] == 8.0 and 0.8 in buckets
    for m in catalogue.METRICS:
        if m.type == "histogram" and m.unit == "seconds" and "latency" in m.help.lower():
            assert m.buckets == buckets, m.name


def test_the_exporter_publishes_exactly_its_catalogue_entries():
    text = Exporter().render().decode()
    published = {family.name for family in text_string_to_metric_families(text)}
    expected = {m.name.removesuffix("_total") for m in catalogue.published_by(catalogue.EXPORTER)}
    assert published == expected


def test_metric_lookup_refuses_names_outside_the_contract():
    assert catalogue.metric("ai_agent_turn_response_seconds").type == "histogram"
    try:
        catalogue.metric("ai_agent_turn_response_secs")
    except KeyError:
        return
    raise AssertionError("a misspelt name was accepted")


def test_every_metric_name_written_in_python_code_is_in_the_catalogue():
    """A misspelt name in a module would otherwise surface only when its code path runs."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    known = catalogue.series_names() | {m.name for m in catalogue.METRICS}
    pattern = re.compile(r"(?<![:\w])ai_agent_[a-z0-9_]+(?![:\w])")  # not a part of a recording rule's name
    unknown = []
    for folder in ("exporter", "scorer", "shared", "grafana/builder", "prometheus", "scripts"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    for name in pattern.findall(node.value):
                        if name not in known:
                            unknown.append(f"{path.relative_to(root)}: {name}")
    assert unknown == []


def test_every_fleet_series_is_taken_through_the_accessor_of_its_metric_s_type():
    """``counter``, ``gauge`` and ``histogram`` (and ``counters``, ``gauges``, ``histograms`` for a metric's series
    by labels) are one lookup typed three ways: the type a call names must be the catalogue's, or a gauge would be
    ``observe``d as a histogram without the type checker seeing it."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    accessors = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "_counter": "counter"}
    accessors |= {"counters": "counter", "gauges": "gauge", "histograms": "histogram"}
    checked, wrong = 0, []
    for path in (root / "exporter").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            expected = accessors.get(called)
            position = 0
            if called == "report":  # ReportedGauges.report(now, value, name, *labels) sets a gauge
                expected, position = "gauge", 2
            if expected is None or len(node.args) <= position or not isinstance(node.args[position], ast.Constant):
                continue
            name = node.args[position].value
            checked += 1
            if catalogue.metric(name).type != expected:
                wrong.append(f"{path.relative_to(root)}:{node.lineno}: {called}({name!r})")
    assert checked > 85 and wrong == []
