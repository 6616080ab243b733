"""``python -m scripts.typecheck``: mypy over the ``voice_monitoring`` package, configured in pyproject.toml.

The package is laid over the repository's top-level folders by ``[tool.setuptools.package-dir]``, and the editable
install resolves those names with an import hook that mypy cannot follow. So this lays the same mapping out as
symbolic links under build/typecheck (mypy_path in pyproject.toml), read from pyproject.toml each run, and checks
``-p voice_monitoring`` there: the module names mypy sees are the installed ones.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "voice_monitoring"


def lay_out_package(root: Path = ROOT) -> Path:
    """Link each ``voice_monitoring.<name>`` folder of package-dir under mypy_path; returns the package folder."""
    with open(root / "pyproject.toml", "rb") as f:
        config = tomllib.load(f)
    package = root / config["tool"]["mypy"]["mypy_path"] / PACKAGE
    links = {}
    for name, folder in config["tool"]["setuptools"]["package-dir"].items():
        parent, _, subpackage = name.rpartition(".")
        if parent != PACKAGE:
            raise SystemExit(f"package-dir maps {name}, which is not a sub-package of {PACKAGE}")
        links[subpackage] = os.path.relpath(root / folder, package)
    # Only what changed is replaced: another check running in the same tree keeps its links.
    package.mkdir(parents=True, exist_ok=True)
    for entry in package.iterdir():
        if entry.is_symlink():
            if os.readlink(entry) != links.get(entry.name):
                entry.unlink()
        elif entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for subpackage, target in links.items():
        with contextlib.suppress(FileExistsError):
            (package / subpackage).symlink_to(target, target_is_directory=True)
    return package


def main(root: Path = ROOT) -> int:
    """mypy's exit status: 0 when the package type-checks."""
    lay_out_package(root)
    # its own process: mypy's command line exits without tearing down what it built, in a fraction of the time
    return subprocess.run([sys.executable, "-m", "mypy", "-p", PACKAGE], cwd=root).returncode


if __name__ == "__main__":
    sys.exit(main())
