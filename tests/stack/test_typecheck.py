"""``make lint``'s type check: mypy over the package names the installed distribution has, laid out from
package-dir, so an error in any of the package's modules fails it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from scripts import typecheck

ROOT = Path(__file__).resolve().parents[2]


def _project(root: Path, source: str) -> Path:
    """A project of one sub-package, ``voice_monitoring.calls`` in the folder ``calls/``, with the [tool.mypy]
    of this repository."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        mypy = tomllib.load(f)["tool"]["mypy"]
    (root / "calls").mkdir()
    (root / "calls" / "__init__.py").write_text("")
    (root / "calls" / "ledger.py").write_text(source)
    (root / "pyproject.toml").write_text(
        "[tool.setuptools.package-dir]\n"
        '"voice_monitoring.calls" = "calls"\n\n'
        "[tool.mypy]\n"
        f'mypy_path = "{mypy["mypy_path"]}"\n'
        f'cache_dir = "{mypy["cache_dir"]}"\n'
        f"strict = {str(mypy['strict']).lower()}\n"
    )
    return root


def test_every_installed_package_is_laid_out_for_the_check(tmp_path):
    with open(ROOT / "pyproject.toml", "rb") as f:
        setuptools = tomllib.load(f)["tool"]["setuptools"]
    (tmp_path / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())
    for folder in setuptools["package-dir"].values():
        (tmp_path / folder).symlink_to(ROOT / folder, target_is_directory=True)
    package = typecheck.lay_out_package(tmp_path)
    for name in setuptools["packages"]:
        path = package.joinpath(*name.split(".")[1:])
        assert path.is_dir(), f"{name} is not where mypy looks for it: {path}"


def test_an_untyped_function_in_a_sub_package_fails_the_check_under_its_installed_name(tmp_path, capfd):
    assert typecheck.main(_project(tmp_path, "def total(amounts):\n    return sum(amounts)\n")) != 0
    out = capfd.readouterr().out
    assert "voice_monitoring/calls/ledger.py:1: error: Function is missing a type annotation" in out


def test_a_typed_sub_package_passes(tmp_path, capfd):
    source = "def total(amounts: list[float]) -> float:\n    return sum(amounts)\n"
    assert typecheck.main(_project(tmp_path, source)) == 0
    assert "Success" in capfd.readouterr().out
