"""The key reconciler may patch its consumer Deployments in one annotation only (issue 20 point 3e).

Its Role grants `patch` on the consumer Deployments by name (keys.role), which RBAC cannot narrow to a field: with
that token anyone could change a consumer's image or command. A ValidatingAdmissionPolicy (admissionregistration
.k8s.io/v1, GA in Kubernetes 1.30; GKE supports it) denies the reconciler's ServiceAccount any Deployment UPDATE
(a PATCH is admitted as an UPDATE) that changes anything but the pod-template annotation the reconciler stamps
(components/scripts/mint_keys.py KEY_STAMP): the pod spec, the template's labels and other annotations, the
Deployment's own metadata and every other spec field must stay as they were. Other users (Pulumi, controllers)
are not matched. Both objects are cluster-scoped, so their names carry the gateway namespace (one per stack).
"""

from typing import Any

from models.platform import PlatformConfig

from .common import metadata
from .keys import NAME, target_namespaces

KEY_STAMP = "llm-platform/key-hash"  # the annotation mint_keys.py stamps (tests check both agree)
# Deployment spec fields besides the template, compared one by one (CEL cannot drop a field from a struct).
_SPEC_FIELDS = (
    "replicas",
    "selector",
    "strategy",
    "minReadySeconds",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "paused",
)
_META_FIELDS = ("labels", "annotations", "ownerReferences", "finalizers")


def policy_name(cfg: PlatformConfig) -> str:
    return f"{NAME}-{cfg.namespaces.gateway}-stamp-only"


def _same(path: str, field: str) -> str:
    """`object.<path>.<field>` equals the old object's, absent in both counting as equal."""
    new, old = f"object.{path}", f"oldObject.{path}"
    return f"(has({new}.{field}) == has({old}.{field}) && (!has({new}.{field}) || {new}.{field} == {old}.{field}))"


def _annotations(obj: str) -> str:
    t = f"{obj}.spec.template.metadata"
    return f"has({t}.annotations) ? {t}.annotations : {{}}"


def policy(cfg: PlatformConfig) -> dict[str, Any]:
    user = f"system:serviceaccount:{cfg.namespaces.gateway}:{NAME}"
    others_kept = (
        "variables.new.all(k, k == variables.stamp || (k in variables.old && variables.old[k] == variables.new[k]))"
        " && variables.old.all(k, k == variables.stamp || k in variables.new)"
    )
    rest = " && ".join(
        [
            "object.spec.template.spec == oldObject.spec.template.spec",
            _same("spec.template.metadata", "labels"),
            *(_same("spec", f) for f in _SPEC_FIELDS),
            *(_same("metadata", f) for f in _META_FIELDS),
        ]
    )
    message = f"the key reconciler ({user}) may change only the pod-template annotation {KEY_STAMP}"
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": metadata(policy_name(cfg), None, "keys"),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1"],
                        "operations": ["UPDATE"],
                        "resources": ["deployments"],
                    }
                ]
            },
            "matchConditions": [{"name": "key-reconciler", "expression": f"request.userInfo.username == '{user}'"}],
            "variables": [
                {"name": "stamp", "expression": f"'{KEY_STAMP}'"},
                {"name": "new", "expression": _annotations("object")},
                {"name": "old", "expression": _annotations("oldObject")},
            ],
            "validations": [
                {"expression": others_kept, "message": message + ": another template annotation changed"},
                {"expression": rest, "message": message + ": the pod spec or another field changed"},
            ],
        },
    }


def binding(cfg: PlatformConfig) -> dict[str, Any]:
    """The policy, enforced (Deny) in the namespaces where the reconciler may patch Deployments."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": metadata(policy_name(cfg), None, "keys"),
        "spec": {
            "policyName": policy_name(cfg),
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "In",
                            "values": target_namespaces(cfg),
                        }
                    ]
                }
            },
        },
    }
