"""Turn a manifest dict from components/manifests into the matching pulumi-kubernetes resource."""

import re
from collections.abc import Sequence
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.manifests.common import set_pull_policies

_CLASSES = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def apply(name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions, **overrides: Any) -> pulumi.CustomResource:
    """Declare `manifest` as a Pulumi resource named `name`. Nested keys stay camelCase."""
    api, kind = manifest["apiVersion"], manifest["kind"]
    set_pull_policies(manifest)  # every workload, whoever builds it: an explicit imagePullPolicy
    body = {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    body.update(overrides)
    if kind == "PersistentVolumeClaim":
        # storageClassName is immutable: a changed storageClass (or the standard-rwo default a stack created
        # before it never named) applies to new claims only, and never replaces a claim that holds data.
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["spec.storageClassName"]))
    cls = _CLASSES.get((api, kind))
    if cls is None:
        return k8s.apiextensions.CustomResource(name, api_version=api, kind=kind, opts=opts, **body)
    return cls(name, opts=opts, **body)


def child(
    parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] | None = None, **kwargs: Any
) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on or []), **kwargs)


def name_of(resource: pulumi.CustomResource) -> pulumi.Output[str]:
    """metadata.name of a resource `apply` declared (typed classes and CustomResource alike)."""
    metadata = cast(pulumi.Output[Any], cast(Any, resource).metadata)
    return metadata.apply(lambda m: m["name"] if isinstance(m, dict) else m.name)
