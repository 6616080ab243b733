"""Every dashboard validates against Grafana's JSON Schema, and each panel's options and field config against
its panel type's schema."""

import json

import jsonschema
import pytest

from grafana.builder import build_all

BOARDS = build_all()
# Panel types whose schema file has a different name.
SCHEMA_FILE = {"state-timeline": "statetimeline", "status-history": "statushistory"}


@pytest.fixture
def schemas(shared_dir):
    folder = shared_dir / "grafana-jsonschema"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not present")
    return folder


def _schema(folder, name: str) -> dict:
    return json.loads((folder / f"{name}.jsonschema.json").read_text())


def _panels(board):
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_dashboard_matches_grafana_schema(uid, schemas):
    jsonschema.Draft7Validator(_schema(schemas, "dashboard")).validate(BOARDS[uid])


@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_panel_options_and_field_config_match_their_type(uid, schemas):
    checked = 0
    for panel in _panels(BOARDS[uid]):
        if panel["type"] == "row":
            continue
        schema = _schema(schemas, SCHEMA_FILE.get(panel["type"], panel["type"]))
        for definition, value in (
            ("Options", panel.get("options", {})),
            ("FieldConfig", panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})),
        ):
            if definition not in schema["definitions"]:
                assert not value, f"{panel['title']}: {panel['type']} has no {definition} but sets {value}"
                continue
            validator = jsonschema.Draft7Validator({**schema, "$ref": f"#/definitions/{definition}"})
            errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(value)]
            assert not errors, f"{uid} / {panel['title']} {definition}: {errors}"
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_prometheus_targets_match_dataquery_schema(uid, schemas):
    validator = jsonschema.Draft7Validator(_schema(schemas, "prometheus"))
    for panel in _panels(BOARDS[uid]):
        for target in panel.get("targets", []):
            errors = [e.message for e in validator.iter_errors(target)]
            assert not errors, f"{uid} / {panel['title']}: {errors}"
