"""The committed grafana/dashboards/*.json and prometheus/dashboard_links.yml are what the Python code generates."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "grafana" / "dashboards"


def test_committed_json_matches_the_code(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "grafana.builder", "--out", str(tmp_path), "--links", str(tmp_path / "links.yml")],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    links = (tmp_path / "links.yml").read_text()
    assert links == (ROOT / "prometheus" / "dashboard_links.yml").read_text(), "links drifted: run `make dashboards`"
    generated = {p.name: p.read_text() for p in tmp_path.glob("*.json")}
    committed = {p.name: p.read_text() for p in COMMITTED.glob("*.json")}
    assert generated, "the generator wrote nothing"
    assert sorted(committed) == sorted(generated), "dashboards added or removed: run `make dashboards`"
    drifted = [name for name in generated if generated[name] != committed[name]]
    assert not drifted, f"{drifted} drifted from the code: run `make dashboards`"
