"""Turn a manifest dict from components/manifests into the matching pulumi-kubernetes resource."""

import asyncio
import hashlib
import json
import re
import weakref
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
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("coordination.k8s.io/v1", "Lease"): k8s.coordination.v1.Lease,
}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


# A claim's size, as Pulumi names the property: set at creation, then ignored, because Kubernetes refuses a smaller
# request; cache claims are grown by Jobs instead (components/manifests/cache_growth.py, weight_stage.py).
CLAIM_SIZE = "spec.resources.requests.storage"
SECRETS_CHECKSUM = "llm-platform/secrets-checksum"
POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
# (namespace, Secret name) -> sha256 of its data, per program run (Outputs live on the run's event loop).
_SECRETS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], pulumi.Output[str]]]" = (
    weakref.WeakKeyDictionary()
)


def _declared_secrets() -> dict[tuple[str, str], pulumi.Output[str]]:
    return _SECRETS.setdefault(asyncio.get_event_loop(), {})


def data_checksum(data: dict[str, Any]) -> pulumi.Output[str]:
    """sha256 of a Secret's data: changes with any value, reveals none, so it is not marked secret."""
    resolved = pulumi.Output.from_input(data)
    digest = resolved.apply(lambda d: hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest())
    return pulumi.Output.unsecret(digest)


def secret_refs(pod_spec: dict[str, Any]) -> set[str]:
    """Names of the Secrets a pod reads: env secretKeyRef, envFrom secretRef, secret and projected volumes."""
    names = set()
    for c in [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]:
        for e in c.get("env", []):
            if ref := (e.get("valueFrom") or {}).get("secretKeyRef"):
                names.add(ref["name"])
        names.update(src["secretRef"]["name"] for src in c.get("envFrom", []) if "secretRef" in src)
    for v in pod_spec.get("volumes", []):
        if "secret" in v:
            names.add(v["secret"]["secretName"])
        for src in (v.get("projected") or {}).get("sources", []):
            if "secret" in src:
                names.add(src["secret"]["name"])
    return names


def annotate_secret_checksums(manifest: dict[str, Any]) -> None:
    """A pod reads a Secret at start only: put a hash of every Secret this program declared and the pod reads
    on its template, so a changed or replaced Secret rolls the pods (a Job is replaced, as its template is
    immutable). Secrets the program does not own (the CNPG app Secret, user Secrets) cannot be hashed here."""
    if manifest["kind"] not in POD_TEMPLATE_KINDS:
        return
    ns = manifest["metadata"].get("namespace", "")
    template = manifest["spec"]["template"]
    known = _declared_secrets()
    hashes = [known[(ns, n)] for n in sorted(secret_refs(template.get("spec", {}))) if (ns, n) in known]
    if not hashes:
        return
    combined = pulumi.Output.all(*hashes).apply(lambda hs: hashlib.sha256("".join(hs).encode()).hexdigest()[:16])
    template.setdefault("metadata", {}).setdefault("annotations", {})[SECRETS_CHECKSUM] = combined


# The provider that adopts an object already in the cluster (upsertExistingObjects), per program run: set by the
# platform once its cluster is known (use_adopting_provider).
_ADOPTING: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, pulumi.ProviderResource]" = weakref.WeakKeyDictionary()


def use_adopting_provider(provider: pulumi.ProviderResource) -> None:
    """Every object `apply` declares with retain_on_delete goes through `provider` from now on.

    Such an object outlives `pulumi destroy` (and a lost state), so the next `up` finds it in the cluster; a
    provider >= 4.29 answers AlreadyExists there unless it upserts. Only kept objects upsert: anything else
    keeps the strict create, so a renamed resource without `aliases` fails loudly instead of being adopted
    and then deleted by its old name. The upsert is a server-side apply without force: a kept field that
    another writer set to a different value (a grown claim, a kept salt) stops `up` with a conflict rather
    than being overwritten."""
    _ADOPTING[asyncio.get_event_loop()] = provider


def _without_kubernetes(providers: Any) -> Any:
    if isinstance(providers, dict):
        return {k: v for k, v in providers.items() if k != "kubernetes"} or None
    if isinstance(providers, list):
        return [p for p in providers if p.package != "kubernetes"] or None
    return providers


def apply(name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions, **overrides: Any) -> pulumi.CustomResource:
    """Declare `manifest` as a Pulumi resource named `name`. Nested keys stay camelCase.
    A Secret must be applied before the pods that read it, so they carry its checksum. A kept object
    (retain_on_delete) goes through the adopting provider (use_adopting_provider)."""
    api, kind = manifest["apiVersion"], manifest["kind"]
    set_pull_policies(manifest)  # every workload, whoever builds it: an explicit imagePullPolicy
    if (api, kind) == ("v1", "Secret"):
        data = {**(manifest.get("data") or {}), **(manifest.get("stringData") or {})}
        _declared_secrets()[(manifest["metadata"].get("namespace", ""), manifest["metadata"]["name"])] = data_checksum(
            data
        )
    annotate_secret_checksums(manifest)
    body = {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    body.update(overrides)
    if kind == "PersistentVolumeClaim":
        # storageClassName is immutable: a changed storageClass (or the standard-rwo default a stack created
        # before it never named) applies to new claims only, and never replaces a claim that holds data.
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["spec.storageClassName"]))
    if opts.retain_on_delete and (adopting := _ADOPTING.get(asyncio.get_event_loop())) is not None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=adopting))
        opts.providers = _without_kubernetes(opts.providers)  # `provider` alone decides (pulumi/pulumi#8799)
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


def uid_of(resource: pulumi.CustomResource) -> pulumi.Output[str]:
    """metadata.uid of a resource `apply` declared ('' where unknown, as under the offline mocks)."""
    metadata = cast(pulumi.Output[Any], cast(Any, resource).metadata)
    return metadata.apply(lambda m: (m.get("uid") if isinstance(m, dict) else getattr(m, "uid", None)) or "")


def staged(
    parent: pulumi.Resource, name: str, release: dict[str, Any], stage: dict[str, Any], deps: list[pulumi.Resource]
) -> tuple[list[pulumi.Resource], dict[str, pulumi.Output[str]]]:
    """Declare a release Job, then a stage Job after it (both awaited; components/manifests/weight_stage.py).
    Returns what the Deployment depends on and the pod-template annotations naming the Jobs by uid."""
    rel = apply(f"{name}-release", release, child(parent, depends_on=deps, delete_before_replace=True))
    wait = f"{-(-(stage['spec']['activeDeadlineSeconds'] + 300) // 60)}m"
    stg = apply(
        f"{name}-stage",
        stage,
        child(
            parent,
            depends_on=[*deps, rel],
            delete_before_replace=True,
            custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait),
        ),
    )
    annotations = {"llm-platform/weight-stage": uid_of(stg), "llm-platform/weight-release": uid_of(rel)}
    return [*deps, stg], annotations
