#!/usr/bin/env python3
"""Offline render: run the real program under Pulumi's mocks and write what it would deploy.

    python render.py --stack-file Pulumi.dev.yaml --out build/dev

Writes one YAML per Kubernetes object under <out>/k8s/, each GCP resource's inputs under <out>/gcp/, and platform.svg
(a picture of the stack, from platform.dot, drawn by the pinned graphviz-pure; missing, the render exits 1).
Generated secrets are masked, never written. A bad config exits 2 with the same message `pulumi up` prints.
"""

import argparse
import sys
from pathlib import Path

from offline.diagram import GraphvizMissing
from offline.report import RenderError, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-file", default="Pulumi.dev.yaml", help="a Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--out", default=None, help="output folder (default: build/<stack>)")
    args = parser.parse_args(argv)
    stack_file = Path(args.stack_file)
    stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml") or "dev"
    out = Path(args.out or f"build/{stack}")
    try:
        summary = render(stack_file, out, stack)
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GraphvizMissing as exc:  # the manifests are written; only the picture is missing
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
