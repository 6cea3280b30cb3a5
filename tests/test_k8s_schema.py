"""Every rendered Kubernetes object passes kubernetes-validate in strict mode (unknown fields fail)."""

import kubernetes_validate
import pytest

from tests.conftest import stack_values
from offline.mocks import run_program
from offline.plan import to_plan

K8S_VERSION = "1.33"
STACKS = ["dev"]


def builtin(manifest) -> bool:
    group = manifest["apiVersion"].split("/")[0] if "/" in manifest["apiVersion"] else ""
    return "." not in group or group.endswith(".k8s.io")


@pytest.mark.parametrize("stack", STACKS)
def test_strict_schema(stack):
    plan = to_plan(run_program(stack_values(stack), stack))
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
