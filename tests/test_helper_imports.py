"""Test helpers live in helper modules: no test module imports from another, and every ``noqa`` in the tests says
why beside it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
NOQA = re.compile(r"#\s*noqa\b(?P<codes>:\s*[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)?(?P<reason>.*)$")


def sources() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "node_modules" not in p.parts)


def imported_test_modules(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found += [name for name in names if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")]
    return found


def unexplained_noqa(path: Path) -> list[int]:
    lines = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = NOQA.search(line)
        if match and not re.search(r"\(\s*\S.*\)", match["reason"]):
            lines.append(number)
    return lines


def test_no_module_imports_from_a_test_module():
    offenders = {str(p.relative_to(TESTS)): imported_test_modules(p) for p in sources()}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_every_noqa_gives_its_reason_in_parentheses_beside_it():
    offenders = {str(p.relative_to(TESTS)): unexplained_noqa(p) for p in sources()}
    assert {path: lines for path, lines in offenders.items() if lines} == {}


def test_the_checks_catch_what_they_look_for(tmp_path):
    module = tmp_path / "helper.py"
    mark = "# " + "noqa"  # split, so this file's own scan does not read it
    module.write_text(
        "from tests.exporter.test_call_lifecycle import Clock\nimport tests.scorer.test_model\n"
        f"from tests.exporter.clocked_exporter import Clock  {mark}: F811\nx = 1  {mark}: E501  (a URL)\n"
    )
    assert imported_test_modules(module) == ["tests.exporter.test_call_lifecycle", "tests.scorer.test_model"]
    assert unexplained_noqa(module) == [3]
