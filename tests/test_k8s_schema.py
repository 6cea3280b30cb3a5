"""Every rendered Kubernetes object passes kubernetes-validate in strict mode (unknown fields fail)."""

from pathlib import Path

import kubernetes_validate
import pytest

from models import read_stack_file
from offline.mocks import run_program
from offline.plan import to_plan
from tests.conftest import ROOT, stack_values

K8S_VERSION = "1.33"
# A stack name (ROOT/Pulumi.<name>.yaml) or a stack file path relative to the repo root.
STACKS = ["dev", "prod", "local", "examples/Pulumi.llama-seed.yaml"]


def stack_config(stack: str) -> tuple[dict, str]:
    if stack.endswith(".yaml"):
        return read_stack_file(ROOT / stack), Path(stack).name.removeprefix("Pulumi.").removesuffix(".yaml")
    return stack_values(stack), stack


def builtin(manifest) -> bool:
    group = manifest["apiVersion"].split("/")[0] if "/" in manifest["apiVersion"] else ""
    return "." not in group or group.endswith(".k8s.io")


@pytest.mark.parametrize("stack", STACKS)
def test_strict_schema(stack):
    plan = to_plan(run_program(*stack_config(stack)))
    checked = 0
    for manifest in plan.k8s:
        if not builtin(manifest):
            continue
        try:
            kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{manifest['kind']}/{manifest['metadata']['name']}: {exc.message} at {list(exc.path)}")
        checked += 1
    assert checked >= 10


def test_on_demand_objects_pass_strict_schema():
    """The on-demand variant of dev (issue 16): the demand Service, the gateway's extra port, KEDA's policies."""
    from tests.conftest import plan_for
    from tests.test_on_demand import on_demand

    plan = plan_for(on_demand())
    names = {"litellm-demand", "keda-demand-ingress", "keda-egress", "litellm", "coder-fim"}
    checked = [m for m in plan.k8s if builtin(m) and m["metadata"]["name"] in names]
    assert len(checked) >= 6
    for manifest in checked:
        try:
            kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{manifest['kind']}/{manifest['metadata']['name']}: {exc.message} at {list(exc.path)}")
