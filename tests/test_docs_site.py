"""The docs site builds with `mkdocs build --strict` (broken links and anchors fail), every page under docs/ is in
mkdocs.yml's nav (mkdocs itself only logs an orphan at INFO), and the README stays a short entry point whose links
into docs/ resolve."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docs_tools import ROOT, docs_tool

DOCS = ROOT / "docs"


def nav_pages(nav: Any) -> list[str]:
    """Every page path mkdocs.yml's nav names, in order."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [p for item in nav for p in nav_pages(item)]
    if isinstance(nav, dict):
        return [p for value in nav.values() for p in nav_pages(value)]
    return []


def orphans(docs: Path, nav: Any) -> list[str]:
    pages = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md")}
    return sorted(pages - set(nav_pages(nav)))


def site_config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text())


class TestNav:
    def test_every_page_is_in_the_nav(self):
        found = orphans(DOCS, site_config()["nav"])
        assert not found, f"pages not in mkdocs.yml nav (orphans): {found}"

    def test_every_nav_entry_is_a_page_once(self):
        listed = nav_pages(site_config()["nav"])
        missing = [p for p in listed if not (DOCS / p).is_file()]
        assert not missing, f"nav names pages that do not exist: {missing}"
        assert len(listed) == len(set(listed)), "a page is listed twice in nav"

    def test_the_orphan_check_sees_an_orphan(self, tmp_path):
        for page in nav_pages(site_config()["nav"]):
            (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / page).write_text("# page\n")
        (tmp_path / "how-to" / "stray.md").write_text("# not in nav\n")
        assert orphans(tmp_path, site_config()["nav"]) == ["how-to/stray.md"]


@pytest.mark.consumer
def test_mkdocs_build_strict_passes(tmp_path):
    mkdocs = docs_tool("mkdocs")
    proc = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    warnings = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith(("WARNING", "ERROR"))]
    assert proc.returncode == 0 and not warnings, "\n".join(warnings) or proc.stderr[-3000:]
    assert (tmp_path / "site" / "how-to" / "backup-restore" / "index.html").is_file()
    assert (tmp_path / "site" / "assets" / "platform-dev.svg").is_file()


@pytest.mark.consumer
def test_mkdocs_strict_fails_on_a_broken_link(tmp_path):
    """The strict build is a real gate: the same site plus one dangling link fails."""
    mkdocs = docs_tool("mkdocs")
    copy = tmp_path / "repo"
    copy.mkdir()
    (copy / "mkdocs.yml").write_text((ROOT / "mkdocs.yml").read_text())
    subprocess.run(["cp", "-r", str(DOCS), str(copy / "docs")], check=True)
    page = copy / "docs" / "how-to" / "scale-to-zero.md"
    page.write_text(page.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    proc = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0 and "no-such-page.md" in proc.stdout + proc.stderr


class TestReadme:
    text = (ROOT / "README.md").read_text()

    def test_is_short(self):
        assert self.text.count("\n") < 150

    def test_starts_with_the_two_fresh_machine_commands(self):
        block = self.text.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
        assert block == [
            "bash scripts/setup.sh && .venv/bin/python render.py --stack-file Pulumi.dev.yaml --out build/dev",
            "bash scripts/test.sh",
        ]

    def test_links_into_the_docs_resolve(self):
        links = re.findall(r"\]\((docs/[^)#]+)(?:#[^)]*)?\)", self.text)
        assert len(links) >= 10, "the README should point into the docs"
        missing = [link for link in links if not (ROOT / link).is_file()]
        assert not missing, missing
