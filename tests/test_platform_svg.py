"""render.py draws platform.svg for every shipped stack: each pool with its zone and GPU, the models on it with
their replicas and engine, the gateway with its aliases and keys, and the front-ends with their key."""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from models import config_from_pulumi_values, parse_config, read_stack_file
from models.zones import pool_zones
from offline import diagram
from offline.mocks import pulumi_config_values
from scripts.stack_schema import shipped_stack_files
from tests.conftest import ROOT

STACKS = shipped_stack_files()
IDS = [p.stem.removeprefix("Pulumi.") for p in STACKS]
SVG = "{http://www.w3.org/2000/svg}"


def parsed(stack_file: Path):
    return parse_config(config_from_pulumi_values(pulumi_config_values(read_stack_file(stack_file))))


def svg_lines(svg: Path) -> list[str]:
    """Every text line drawn in the picture."""
    return [t.text or "" for t in ET.parse(svg).getroot().iter(f"{SVG}text")]


@pytest.fixture(scope="module", params=STACKS, ids=IDS)
def drawn(request, tmp_path_factory):
    cfg = parsed(request.param)
    out = tmp_path_factory.mktemp(request.param.stem)
    return cfg, svg_lines(diagram.write_diagram(cfg, "test", out)), (out / "platform.dot").read_text()


class TestEveryStackIsDrawn:
    def test_pools_with_zone_machine_and_gpus(self, drawn):
        cfg, lines, _ = drawn
        for pool in cfg.node_pools:
            assert f"pool {pool.name} (role {pool.role})" in lines
            assert any(ln.startswith(f"{pool.machine_type}, {pool.shape.gpus}x ") for ln in lines)
            for zone in pool_zones(cfg, pool):
                assert any(zone in ln for ln in lines), zone

    def test_models_with_engine_and_deployed_replicas(self, drawn):
        cfg, lines, _ = drawn
        for m in cfg.models:
            assert m.name in lines
            if m.engine != "external":
                assert any(
                    ln.startswith(m.engine) and ln.endswith(f"replicas {cfg.effective_replicas(m)}") for ln in lines
                ), m.name

    def test_gateway_aliases_keys_and_frontends(self, drawn):
        cfg, lines, dot = drawn
        aliases = next(ln for ln in lines if ln.startswith("aliases: "))
        assert aliases.removeprefix("aliases: ").split(", ") == [m.name for m in cfg.models if m.register_in_gateway]
        for key in cfg.gateway.keys:
            assert f"key {key.alias}: {', '.join(key.models)}" in lines
        for name, fe in cfg.frontends.enabled():
            assert f'"frontend:{name}" -> gateway [label="{fe.key}"];' in dot

    def test_each_model_sits_in_its_pool(self, drawn):
        cfg, _, dot = drawn
        clusters = re.split(r"\n  subgraph ", dot)
        for m in cfg.models:
            if m.engine == "vllm" or (m.engine == "llamacpp" and m.placement == "static"):
                (block,) = [c for c in clusters if f'"model:{m.name}" [label=' in c]
                assert f"pool {m.pool} " in block


def test_scale_to_zero_is_drawn_with_no_gpu_replicas(tmp_path):
    cfg = parsed(ROOT / "Pulumi.dev.yaml").model_copy(update={"scale_to_zero": True})
    lines = svg_lines(diagram.write_diagram(cfg, "dev", tmp_path))
    assert "llm-platform stack dev (scaleToZero: true)" in lines
    assert "vllm, replicas 1" not in lines and "vllm, replicas 0" in lines
    assert "llamacpp, cpu, replicas 1" in lines  # CPU models keep running


def test_render_writes_the_svg_beside_the_manifests(tmp_path):
    proc = subprocess.run(
        [sys.executable, "render.py", "--stack-file", "Pulumi.local.yaml", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "platform.svg" in proc.stdout.splitlines()[0]
    assert ET.parse(tmp_path / "platform.svg").getroot().tag == f"{SVG}svg"


def test_a_missing_graphviz_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setattr(diagram, "dot_command", lambda: None)
    with pytest.raises(diagram.GraphvizMissing, match="graphviz-pure is not installed"):
        diagram.write_diagram(parsed(ROOT / "Pulumi.dev.yaml"), "dev", tmp_path)
    assert (tmp_path / "platform.dot").is_file() and not (tmp_path / "platform.svg").exists()


def test_render_without_graphviz_says_so_and_exits_1(tmp_path, monkeypatch, capsys):
    import render

    monkeypatch.setattr(diagram, "dot_command", lambda: None)
    assert render.main(["--stack-file", str(ROOT / "Pulumi.local.yaml"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: graphviz-pure is not installed") and "bash scripts/setup.sh" in err
    assert (tmp_path / "k8s").is_dir()  # the manifests were written before the picture
