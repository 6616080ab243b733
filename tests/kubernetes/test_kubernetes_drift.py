"""The committed deploy/kubernetes/ is what the generator makes of today's rules, dashboards and configuration."""

from deploy.kubernetes import generate


def test_committed_package_matches_the_sources():
    rendered = generate.render()
    assert {"base/kustomization.yaml", "alertmanager/kustomization.yaml"} <= set(rendered)
    assert generate.stale(rendered) == [], "deploy/kubernetes/ is out of date: run make generate"


def test_a_changed_source_is_reported_stale(tmp_path):
    rendered = generate.render()
    for name, text in rendered.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert generate.stale(rendered, tmp_path) == []
    (tmp_path / "base" / "prometheus-rules.yaml").write_text("# edited by hand\n")
    (tmp_path / "base" / "left-over.yaml").write_text("{}\n")
    assert generate.stale(rendered, tmp_path) == ["base/left-over.yaml", "base/prometheus-rules.yaml"]
