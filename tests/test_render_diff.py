"""scripts/render_diff.py: the offline render diff CI posts on a PR (no cloud credentials)."""

import importlib.util
import shutil
import sys

import yaml

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("render_diff", ROOT / "scripts" / "render_diff.py")
render_diff = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render_diff)

TREE = ("render.py", "__main__.py", "Pulumi.yaml", "models", "components", "offline")


def copy_tree(dest):
    """A checkout-like copy of the program and its stack files (no venv, no build output)."""
    dest.mkdir()
    for name in TREE:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    for stack in ROOT.glob("Pulumi.*.yaml"):
        shutil.copy(stack, dest / stack.name)
    return dest


class TestDiffTrees:
    def test_counts_and_unified_diff(self, tmp_path):
        old, new = tmp_path / "a", tmp_path / "b"
        for d in (old, new):
            (d / "k8s").mkdir(parents=True)
        (old / "k8s" / "same.yaml").write_text("x: 1\n")
        (new / "k8s" / "same.yaml").write_text("x: 1\n")
        (old / "k8s" / "dep.yaml").write_text("replicas: 1\n")
        (new / "k8s" / "dep.yaml").write_text("replicas: 0\n")
        (old / "gone.yaml").write_text("a: 1\n")
        (new / "new.yaml").write_text("b: 2")
        text, counts = render_diff.diff_trees(old, new, "dev")
        assert counts == {"added": 1, "removed": 1, "changed": 1}
        assert "--- a/dev/k8s/dep.yaml\n+++ b/dev/k8s/dep.yaml\n" in text and "-replicas: 1\n+replicas: 0\n" in text
        assert "+++ /dev/null" in text and "--- /dev/null" in text and text.endswith("+b: 2\n")

    def test_summary_fits_a_comment(self):
        huge = "+x\n" * 40_000
        body = render_diff.summary(
            {
                "dev": (huge, {"added": 1, "removed": 0, "changed": 0}, True),
                "prod": ("", {"added": 0, "removed": 0, "changed": 0}, True),
            }
        )
        assert body.startswith(render_diff.MARKER) and len(body) < render_diff.COMMENT_LIMIT
        assert "| dev | 1 | 0 | 0 | yes |" in body and "diff too long" in body


class TestRenderDiffEndToEnd:
    def test_scale_to_zero_flip_shows_as_replica_and_cost_changes(self, tmp_path):
        base, head = copy_tree(tmp_path / "base"), copy_tree(tmp_path / "head")
        doc = yaml.safe_load((head / "Pulumi.dev.yaml").read_text())
        doc["config"]["llm-platform:scaleToZero"] = True
        (head / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc))
        out = tmp_path / "out"
        code = render_diff.main(
            ["--base", str(base), "--head", str(head), "--out", str(out), "--python", sys.executable]
        )
        assert code == 0
        diff = (out / "render.diff").read_text()
        assert "+++ b/dev/k8s/serving--deployment--coder-chat.yaml" in diff and "+  replicas: 0" in diff
        assert "+scaleToZero: true" in diff  # cost.yaml
        assert "b/prod/" not in diff, "an unchanged stack renders identically on both sides"
        summary = (out / "summary.md").read_text()
        assert "| prod | 0 | 0 | 0 | yes |" in summary and "```diff" in summary

    def test_a_head_that_does_not_render_fails(self, tmp_path):
        base, head = copy_tree(tmp_path / "base"), copy_tree(tmp_path / "head")
        for tree in (base, head):  # dev alone is enough here
            for other in tree.glob("Pulumi.*.yaml"):
                if other.name != "Pulumi.dev.yaml":
                    other.unlink()
        text = (head / "Pulumi.dev.yaml").read_text().replace("gpuMemoryUtilization: 0.9", "gpuMemoryUtilization: 1.9")
        (head / "Pulumi.dev.yaml").write_text(text)
        out = tmp_path / "out"
        assert render_diff.main(["--base", str(base), "--head", str(head), "--out", str(out)]) == 1
        assert "RENDER-ERROR.txt" in (out / "render.diff").read_text()
        assert "| dev |" in (out / "summary.md").read_text() and "**no**" in (out / "summary.md").read_text()
