"""`pulumi destroy` must not take retained state with it: a Namespace's deletion deletes everything inside.

Found by the real engine (tests/engine): destroy deleted the namespaces, and Kubernetes garbage-collected the
model-cache PVCs and the CNPG cluster that retainOnDelete was meant to keep.
"""

from offline.plan import Plan


def namespaces_with_retained_state(plan: Plan) -> set[str]:
    out = set()
    for manifest, name in zip(plan.k8s, plan.names, strict=True):
        ns = (manifest.get("metadata") or {}).get("namespace")
        if ns and plan.options.get(name, {}).get("retain_on_delete"):
            out.add(ns)
    return out


class TestDestroyKeepsState:
    def test_namespaces_holding_retained_state_are_retained(self, dev_plan):
        holding = namespaces_with_retained_state(dev_plan)
        assert {"serving", "litellm", "experience"} <= holding
        for manifest, name in zip(dev_plan.k8s, dev_plan.names, strict=True):
            if manifest["kind"] == "Namespace" and manifest["metadata"]["name"] in holding:
                assert dev_plan.options[name]["retain_on_delete"], f"{name} would delete retained state"
