#!/usr/bin/env python3
"""Offline render diff: render every stack of two checkouts (e.g. a PR's base and head) and diff the manifests.

    python scripts/render_diff.py --base ../base --head . --out build/render-diff

Needs no cloud credentials: each tree's own render.py runs the real program under Pulumi's mocks.
Writes <out>/<base|head>/<stack>/ (the renders), <out>/render.diff (unified diff) and <out>/summary.md
(a PR comment: per-stack counts and the diff, truncated to fit GitHub's comment limit).
Exit 0 when the head renders every stack (whatever the diff), 1 when a head stack fails to render.
"""

import argparse
import difflib
import shutil
import subprocess
import sys
from pathlib import Path

MARKER = "<!-- llm-platform-render-diff -->"
COMMENT_LIMIT = 60_000  # GitHub caps a comment at 65,536 characters
ERROR_FILE = "RENDER-ERROR.txt"


def stacks(tree: Path) -> list[str]:
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in tree.glob("Pulumi.*.yaml"))


def render_tree(tree: Path, stack: str, dest: Path, python: str) -> bool:
    """Render one stack of one tree into dest; on failure dest holds the error, so it shows in the diff."""
    dest.mkdir(parents=True, exist_ok=True)
    stack_file = tree / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        return True  # a stack added (or removed) by the change: the other side is empty
    res = subprocess.run(
        [python, "render.py", "--stack-file", stack_file.name, "--out", str(dest.resolve())],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if res.returncode != 0:
        (dest / ERROR_FILE).write_text(res.stderr or res.stdout)
        return False
    return True


def files(root: Path) -> dict[str, str]:
    # platform.svg is drawn from platform.dot, whose diff says the same in readable lines; the job attaches the svg.
    return {
        str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file() and p.suffix != ".svg"
    }


def diff_trees(old: Path, new: Path, label: str) -> tuple[str, dict[str, int]]:
    """Unified diff of two render folders, and counts of added/removed/changed files."""
    a, b = files(old), files(new)
    counts = {"added": 0, "removed": 0, "changed": 0}
    chunks: list[str] = []
    for name in sorted(a.keys() | b.keys()):
        before, after = a.get(name), b.get(name)
        if before == after:
            continue
        counts["added" if before is None else "removed" if after is None else "changed"] += 1
        chunks.extend(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                fromfile=f"a/{label}/{name}" if before is not None else "/dev/null",
                tofile=f"b/{label}/{name}" if after is not None else "/dev/null",
            )
        )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in chunks)
    return text, counts


def summary(results: dict[str, tuple[str, dict[str, int], bool]], limit: int = COMMENT_LIMIT) -> str:
    lines = [
        MARKER,
        "### Offline render diff (base → PR)",
        "",
        "Kubernetes manifests, GCP inputs, outputs and cost plan, rendered under Pulumi's mocks "
        "(no cloud credentials). Full diff: the `render-diff` artifact. Each stack's picture as the PR would "
        "deploy it (`platform.svg`; its source `platform.dot` is in the diff): the `platform-svg` artifact.",
        "",
        "| stack | added | removed | changed | head renders |",
        "|---|---|---|---|---|",
    ]
    for stack, (_, c, ok) in results.items():
        lines.append(f"| {stack} | {c['added']} | {c['removed']} | {c['changed']} | {'yes' if ok else '**no**'} |")
    body = "\n".join(lines) + "\n"
    for stack, (text, _, _) in results.items():
        if not text:
            continue
        block = f"\n<details><summary>{stack}</summary>\n\n```diff\n{text}```\n</details>\n"
        if len(body) + len(block) > limit:
            body += f"\n_{stack}: diff too long for a comment; see the artifact._\n"
        else:
            body += block
    if not any(text for text, _, _ in results.values()):
        body += "\nNo change to any rendered stack.\n"
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, type=Path, help="checkout of the base (e.g. the PR's target)")
    parser.add_argument("--head", default=Path("."), type=Path, help="checkout of the change (default: .)")
    parser.add_argument("--out", default=Path("build/render-diff"), type=Path)
    parser.add_argument("--python", default=sys.executable, help="interpreter with requirements.txt installed")
    args = parser.parse_args(argv)
    for side in ("base", "head"):
        shutil.rmtree(args.out / side, ignore_errors=True)
    results: dict[str, tuple[str, dict[str, int], bool]] = {}
    for stack in sorted(set(stacks(args.base)) | set(stacks(args.head))):
        old, new = args.out / "base" / stack, args.out / "head" / stack
        render_tree(args.base, stack, old, args.python)
        ok = render_tree(args.head, stack, new, args.python)
        text, counts = diff_trees(old, new, stack)
        results[stack] = (text, counts, ok)
        print(
            f"{stack}: +{counts['added']} -{counts['removed']} ~{counts['changed']}"
            + ("" if ok else " (head does not render)")
        )
    (args.out / "render.diff").write_text("".join(text for text, _, _ in results.values()))
    (args.out / "summary.md").write_text(summary(results))
    return 0 if all(ok for _, _, ok in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
