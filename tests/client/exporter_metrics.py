"""Reading the exporter's own /metrics in tests: one sample name, summed over the series matching some labels."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families


def exporter_value(exporter_url: str, name: str, **labels: str) -> float:
    text = requests.get(f"{exporter_url}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )
