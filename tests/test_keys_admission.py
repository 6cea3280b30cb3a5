"""The reconciler's patch on consumer Deployments is held to the key stamp by a ValidatingAdmissionPolicy
(components/manifests/keys_admission.py): the objects pass the Kubernetes 1.33 schema in strict mode, name the
annotation mint_keys.py stamps, match only the reconciler's ServiceAccount, and bind where its Role patches.
The CEL itself is compiled and enforced only by an API server (the engine tier), not here."""

import re

import kubernetes_validate
import pytest

from components.manifests import keys, keys_admission
from components.scripts import mint_keys
from models import parse_config
from tests.conftest import plan_for, raw_config
from tests.test_k8s_schema import K8S_VERSION


@pytest.fixture(scope="module")
def plan():
    return plan_for(raw_config("dev"))


def test_policy_and_binding_pass_the_kubernetes_schema(plan):
    for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
        (obj,) = plan.find(kind)
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        assert "namespace" not in obj["metadata"] and obj["metadata"]["name"] == "litellm-keys-litellm-stamp-only"


def test_the_policy_guards_the_annotation_the_reconciler_stamps():
    assert keys_admission.KEY_STAMP == mint_keys.KEY_STAMP
    expr = keys_admission.policy(parse_config(raw_config("dev")))["spec"]["variables"][0]["expression"]
    assert expr == f"'{mint_keys.KEY_STAMP}'"


def test_only_the_reconcilers_deployment_updates_are_judged():
    spec = keys_admission.policy(parse_config(raw_config("dev")))["spec"]
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["deployments"] and rule["operations"] == ["UPDATE"]
    (cond,) = spec["matchConditions"]
    assert cond["expression"] == "request.userInfo.username == 'system:serviceaccount:litellm:litellm-keys'"
    assert spec["failurePolicy"] == "Fail"


def test_everything_but_the_stamp_must_stay():
    rest = keys_admission.policy(parse_config(raw_config("dev")))["spec"]["validations"][1]["expression"]
    assert "object.spec.template.spec == oldObject.spec.template.spec" in rest
    for field in ("replicas", "selector", "strategy", "labels", "annotations", "ownerReferences"):
        assert re.search(rf"has\(object\.[a-z.]*\.{field}\)", rest), field


def test_bound_enforcing_in_every_namespace_the_role_covers(plan):
    cfg = parse_config(raw_config("dev"))
    (binding,) = plan.find("ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["validationActions"] == ["Deny"]
    (match,) = binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]
    patched = {ns for ns in keys.target_namespaces(cfg) if keys.target_deployments(cfg, ns)}
    assert patched and patched <= set(match["values"])
