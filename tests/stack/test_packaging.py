"""The built wheel installs one import namespace of the project's own, and its commands run from it."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )
    (path,) = out.glob("*.whl")
    return path


def test_the_wheel_holds_one_top_level_package_and_no_build_tools(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"voice_monitoring"}
    packages = {name.rsplit("/", 1)[0] for name in names if name.endswith(".py")}
    assert packages == {
        "voice_monitoring/api",
        "voice_monitoring/client",
        "voice_monitoring/exporter",
        "voice_monitoring/exporter/otlp",
        "voice_monitoring/exporter/simulator",
        "voice_monitoring/exporter/webhooks",
        "voice_monitoring/scorer",
        "voice_monitoring/shared",
    }
    assert "voice_monitoring/exporter/prices.yaml" in names
    assert "voice_monitoring/exporter/schema/events-v1.schema.json" in names


def test_the_commands_run_from_a_fresh_virtualenv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=600)
    for command in ("voice-api", "voice-exporter", "voice-scorer", "voice-sim"):
        result = subprocess.run(
            [str(bin_dir / command), "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
    site = subprocess.run(
        [str(bin_dir / "python"), "-c", "import voice_monitoring.exporter.pricing as p; print(p.PriceTable.__name__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert site.stdout.strip() == "PriceTable", site.stderr


def test_the_exporter_and_the_event_client_load_nothing_of_the_scorer():
    code = (
        "import sys, voice_monitoring.exporter.cli, voice_monitoring.client; "
        "print(sorted(m for m in sys.modules if m.startswith('voice_monitoring.scorer')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
