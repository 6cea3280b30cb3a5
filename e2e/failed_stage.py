"""A failed weight stage keeps no GPU (issue 15), on the local control plane with the real engine:

    python -m e2e.failed_stage STACK_FILE --model NAME --out DIR --pulumi-env FILE --cluster-dir DIR

The stack's kubeconfig variant, with model NAME's modelName set to a repo that does not exist
(e2e.assets.FAIL_STAGE_REPO: kwok ends its stage pod with exit 3, as prestage_weights.py does for a typo'd repo),
goes through `pulumi up`. Checked, and written to DIR/failed-stage.json: `up` fails and names the stage Job; the
Job failed at its first pod (BackoffLimitExceeded with backoffLimit 0, which pulumi-kubernetes reports); the model's Deployment was never created, so
no pod of it exists and no GPU node would be added for it (`up` stops scheduling at the failure, so what else
came up is recorded, not judged). Then the stack and
its namespaces go, so the control plane is left as found. Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from e2e import observe
from e2e.assets import FAIL_STAGE_REPO
from e2e.driver import cluster_up, current_context, namespaces
from e2e.engine import Engine, environment
from e2e.report import scenario_parser, write_scenario
from e2e.stack_variant import stack_name, write_variant


def broken_variant(variant: Path, model: str) -> None:
    doc = yaml.safe_load(variant.read_text())
    target = next((m for m in doc["config"]["llm-platform:models"] if m["name"] == model), None)
    if target is None or target.get("engine") != "vllm" or not target.get("replicas", 1):
        raise SystemExit(f"--model {model}: not a vLLM model with replicas in {variant}")
    target["modelName"] = FAIL_STAGE_REPO
    variant.write_text(yaml.safe_dump(doc, sort_keys=False))


def observe_failure(cluster: observe.Cluster, serving: str, model: str, up_output: str) -> dict[str, Any]:
    jobs = [j for j in cluster.get("jobs") if j["metadata"]["namespace"] == serving]
    stage = [j for j in jobs if j["metadata"]["name"].startswith(f"{model}-stage-")]
    conditions = {c["type"]: c for c in (stage[0]["status"].get("conditions") or [])} if stage else {}
    pods = [p for p in cluster.get("pods") if p["metadata"]["namespace"] == serving]
    deployments = {d["metadata"]["name"] for d in cluster.get("deployments") if d["metadata"]["namespace"] == serving}
    job_name = stage[0]["metadata"]["name"] if stage else None
    return {
        "job": job_name,
        "jobFailedReason": (conditions.get("Failed") or {}).get("reason"),
        "jobPods": sum(1 for p in pods if (p["metadata"].get("labels") or {}).get("job-name") == job_name),
        "upNamesJob": job_name is not None and job_name in up_output,
        "deploymentCreated": model in deployments,
        "modelPods": sum(1 for p in pods if (p["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == model),
        "otherDeployments": sorted(deployments - {model}),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    stack_file = Path(args.stack_file)
    stack = "stagefail-" + stack_name(stack_file)[0]
    work = Path(tempfile.mkdtemp(prefix=f"llm-e2e-{stack}-"))
    env = environment(Path(args.pulumi_env))
    kubeconfig = cluster_up(stack_file, Path(args.cluster_dir), Path(args.cluster_repo), env)
    cluster = observe.Cluster(kubeconfig)
    variant, _ = write_variant(stack_file, work, stack, current_context(kubeconfig))
    broken_variant(variant, args.model)
    stack_ns = namespaces(variant)
    cluster.delete_namespaces(set(stack_ns.values()))  # from empty: nothing an earlier run kept
    eng = Engine(work, stack, variant, env, kubeconfig)
    rep: dict[str, Any] = {"stack": str(stack_file), "model": args.model, "modelName": FAIL_STAGE_REPO, "errors": []}
    try:
        if not eng.init().ok:
            rep["errors"].append("pulumi stack init failed")
            return rep
        res = eng.up()
        rep["upFailed"] = not res.ok
        rep["upSeconds"] = round(res.seconds, 1)
        rep.update(observe_failure(cluster, stack_ns["serving"], args.model, res.output))
        rep["upTail"] = res.output[-1500:]
    finally:
        eng.unprotect_all()
        eng.destroy()
        cluster.delete_namespaces(set(stack_ns.values()))
    checks = {
        "up fails": rep.get("upFailed"),
        "up names the stage Job": rep.get("upNamesJob"),
        # the reason pulumi-kubernetes' Job await fails `up` on (PodFailurePolicy would leave it waiting)
        "the Job failed at its first failure": rep.get("jobFailedReason") == "BackoffLimitExceeded",
        "one stage pod, no backoff retries": rep.get("jobPods") == 1,
        "the model's Deployment was never created": rep.get("deploymentCreated") is False,
        "no pod of the model": rep.get("modelPods") == 0,
    }
    rep["errors"] += [name for name, ok in checks.items() if not ok]
    return rep


def main(argv: list[str] | None = None) -> int:
    args = scenario_parser("e2e.failed_stage", __doc__ or "").parse_args(argv)
    return write_scenario(run(args), args.out, "failed-stage.json", f"failed stage {args.model}")


if __name__ == "__main__":
    sys.exit(main())
