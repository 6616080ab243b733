"""The monitoring guide and the operator's manual: every link resolves, every dashboard and alert is covered."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GUIDES = ("Monitoring-Guide.md", "Operators-Manual.md")


def anchors(markdown: str) -> set[str]:
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("name", GUIDES)
def test_every_relative_link_and_anchor_resolves(name):
    text = (DOCS / name).read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links
    for link in links:
        if link.startswith(("http://", "https://")):
            continue
        target, _, anchor = link.partition("#")
        path = (DOCS / target) if target else DOCS / name
        assert path.exists(), f"{name}: {link} points to a missing file"
        if anchor:
            assert anchor in anchors(path.read_text()), f"{name}: {link} points to a missing section"


def test_the_guide_covers_every_dashboard():
    guide = (DOCS / "Monitoring-Guide.md").read_text()
    uids = [json.loads(p.read_text())["uid"] for p in sorted((ROOT / "grafana" / "dashboards").glob("*.json"))]
    assert uids
    for uid in uids:
        assert f"`{uid}`" in guide, f"the monitoring guide does not describe dashboard {uid}"


def test_the_guide_lists_every_alert():
    guide = (DOCS / "Monitoring-Guide.md").read_text()
    alerts = [
        rule["alert"]
        for path in sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    assert alerts
    listed = set(re.findall(r"\b[A-Z][A-Za-z]+\b", guide))
    assert set(alerts) - listed == set()


def test_the_manual_names_the_images_the_compose_file_pins():
    manual = (DOCS / "Operators-Manual.md").read_text()
    compose = yaml.safe_load((ROOT / "docker-compose.monitoring.yml").read_text())
    for service in ("prometheus", "alertmanager", "grafana", "blackbox"):
        repository, _, tag = compose["services"][service]["image"].rpartition(":")
        assert f"`{repository}` | {tag} |" in manual, f"{repository}:{tag} is not explained"
    base = re.search(r"^FROM python:(\S+)", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert f"`python` (Dockerfile) | {base} |" in manual


def test_the_readme_counts_the_alerts_there_are():
    names = {
        rule["alert"]
        for path in sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    readme = (ROOT / "README.md").read_text()
    assert f"recording rules and {len(names)} alerts" in readme
