"""The cluster the platform runs on and its Kubernetes provider.

GkeCluster: a GKE cluster the GPU pools join (looked up, or declared with `create: true`).
KubeconfigCluster: any existing Kubernetes context (kind, minikube, ...): no GCP resource at all.
"""

from typing import Any, cast

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import yaml

from components.node_service_account import NodeServiceAccount
from models.cluster import ClusterSpec
from models.gke_preflight import ClusterNeeds, preflight_problems

CLUSTER_TIMEOUTS = pulumi.CustomTimeouts(create="45m", update="60m", delete="45m")


def workload_identity_problem(spec: ClusterSpec, configs: list | None, project: str | None = None) -> str | None:
    """Why an existing cluster cannot take GKE_METADATA node pools, or None. `configs`: get_cluster's
    workload_identity_configs (an empty list, or a blank workload pool, when Workload Identity is off)."""
    pools = [
        c.get("workload_pool") if isinstance(c, dict) else getattr(c, "workload_pool", None) for c in configs or []
    ]
    if not spec.workload_identity or any(pools):
        return None
    project = spec.project or project or "PROJECT_ID"
    return (
        f"cluster.workloadIdentity: cluster '{spec.name}' ({spec.location}) has Workload Identity off, and the "
        "GPU pools run the GKE metadata server (workload_metadata_config GKE_METADATA), which GKE refuses "
        f"without it. Enable it: gcloud container clusters update {spec.name} --location={spec.location} "
        f"--workload-pool={project}.svc.id.goog (existing node pools then need gcloud container node-pools "
        "update POOL --workload-metadata=GKE_METADATA), or set cluster.workloadIdentity: false to run the "
        "pools with GCE_METADATA (pods can then read the node service account's token)"
    )


def _checked_name(spec: ClusterSpec, needs: ClusterNeeds, name: str, configs: list | None, found: dict) -> str:
    problems = [p for p in [workload_identity_problem(spec, configs, gcp.config.project)] if p]
    problems += preflight_problems(spec, needs, found)
    if problems:
        raise pulumi.RunError("\n".join(problems))
    return name


def system_pool_args(
    spec: ClusterSpec, *, cluster: object, service_account: object = None, zones: tuple[str, ...] = ()
) -> dict:
    """Inputs of the created cluster's CPU pool; total counts, since GKE counts min/max per zone. `zones`: its
    node_locations (every GPU pool's zone, where the weight-stage Jobs run: models/zones.py)."""
    nodes = spec.system_pool_nodes(len(zones) or None)
    return {
        "name": "system",
        "cluster": cluster,
        "location": spec.location,
        "project": spec.project,
        **({"node_locations": list(zones)} if zones else {}),
        "autoscaling": {"total_min_node_count": nodes["minNodes"], "total_max_node_count": nodes["maxNodes"]},
        "initial_node_count": nodes["initialPerZone"],
        "node_config": {
            "machine_type": spec.system_machine_type,
            "workload_metadata_config": {"mode": "GKE_METADATA"},
            "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
            "service_account": service_account,
        },
    }


def kubeconfig(name: str, endpoint: str, ca_cert: str) -> str:
    """A kubeconfig that authenticates with gke-gcloud-auth-plugin: no token is ever stored."""
    ctx = f"gke-{name}"
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": ctx,
            "clusters": [
                {"name": ctx, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_cert}}
            ],
            "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": ctx}}],
            "users": [
                {
                    "name": ctx,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "provideClusterInfo": True,
                            "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
                        }
                    },
                }
            ],
        },
        sort_keys=False,
    )


class GkeCluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    provider: k8s.Provider
    # The nodes' service account email: the configured one, or the dedicated one created here; None when the stack
    # declares no node pool on an existing cluster.
    node_service_account: pulumi.Input[str] | None
    # The same cluster, adopting objects that already exist instead of failing on create (pulumi-kubernetes >= 4.29
    # creates client-side): only for objects this program takes over from an in-cluster writer (KeySecrets).
    adopt_provider: k8s.Provider

    def __init__(
        self,
        name: str,
        spec: ClusterSpec,
        opts: pulumi.ResourceOptions | None = None,
        *,
        needs: ClusterNeeds | None = None,
    ):
        super().__init__("llm-platform:cluster:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        needs = needs or ClusterNeeds()
        self.node_service_account = spec.node_service_account
        if spec.node_service_account is None and (spec.create or needs.node_pools):
            self.node_service_account = NodeServiceAccount(f"{name}-nodes", spec, opts=child).email
        if spec.create:
            project = spec.project or gcp.config.project
            cluster = gcp.container.Cluster(
                f"{name}-gke",
                name=spec.name,
                location=spec.location,
                project=spec.project,
                remove_default_node_pool=True,
                initial_node_count=1,
                deletion_protection=spec.deletion_protection,
                release_channel={"channel": spec.release_channel},
                workload_identity_config={"workload_pool": f"{project}.svc.id.goog"},
                network_policy={"enabled": False},
                # The PD CSI driver provides standard-rwo/premium-rwo, the classes the PVCs name.
                addons_config={"gce_persistent_disk_csi_driver_config": {"enabled": True}},
                datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2 enforces NetworkPolicy
                maintenance_policy=cast(Any, spec.maintenance_policy),  # GPU nodes drain on the stack's schedule
                opts=pulumi.ResourceOptions(parent=self, custom_timeouts=CLUSTER_TIMEOUTS, protect=True),
            )
            gcp.container.NodePool(
                f"{name}-system",
                **system_pool_args(
                    spec, cluster=cluster.name, service_account=self.node_service_account, zones=needs.system_zones
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, custom_timeouts=CLUSTER_TIMEOUTS, ignore_changes=["initialNodeCount"]
                ),
            )
            self.cluster_name = cluster.name
            self.endpoint = cluster.endpoint
            ca = cluster.master_auth.apply(lambda a: a.cluster_ca_certificate)
        else:
            found = gcp.container.get_cluster_output(name=spec.name, location=spec.location, project=spec.project)
            # Every pool and the provider depend on the name, so a cluster without Workload Identity (or an
            # Autopilot cluster, no PD CSI driver, no Managed Prometheus: models/gke_preflight.py) stops the
            # deployment at preview with the gcloud fix, before GKE or Kubernetes refuse a pool, PVC or CRD object.
            facts = pulumi.Output.all(
                enable_autopilot=found.enable_autopilot,
                addons_configs=found.addons_configs,
                monitoring_configs=found.monitoring_configs,
                node_pools=found.node_pools,
                node_locations=found.node_locations,
            )
            self.cluster_name = pulumi.Output.all(found.name, found.workload_identity_configs, facts).apply(
                lambda v: _checked_name(spec, needs, v[0], v[1], v[2])
            )
            self.endpoint = found.endpoint
            ca = found.master_auths.apply(lambda auths: auths[0].cluster_ca_certificate)
        config = pulumi.Output.all(self.endpoint, ca).apply(lambda v: kubeconfig(spec.name, v[0], v[1]))
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=config, opts=child)
        self.adopt_provider = k8s.Provider(
            f"{name}-k8s-adopt", kubeconfig=config, upsert_existing_objects=True, opts=child
        )
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "node_service_account": self.node_service_account,
            }
        )


class KubeconfigCluster(pulumi.ComponentResource):
    """`cluster.target: kubeconfig`: a provider for an existing context of the local kubeconfig."""

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    provider: k8s.Provider
    node_service_account: pulumi.Input[str] | None = None
    # The same cluster, adopting objects that already exist instead of failing on create (pulumi-kubernetes >= 4.29
    # creates client-side): only for objects this program takes over from an in-cluster writer (KeySecrets).
    adopt_provider: k8s.Provider

    def __init__(self, name: str, spec: ClusterSpec, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:cluster:KubeconfigCluster", name, None, opts)
        self.cluster_name = pulumi.Output.from_input(spec.name)
        self.endpoint = pulumi.Output.from_input(spec.context or "(current context)")
        self.provider = k8s.Provider(f"{name}-k8s", context=spec.context, opts=pulumi.ResourceOptions(parent=self))
        self.adopt_provider = k8s.Provider(
            f"{name}-k8s-adopt",
            context=spec.context,
            upsert_existing_objects=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"cluster_name": self.cluster_name, "endpoint": self.endpoint})


def platform_cluster(
    name: str, spec: ClusterSpec, opts: pulumi.ResourceOptions | None = None, needs: ClusterNeeds | None = None
) -> "GkeCluster | KubeconfigCluster":
    """The cluster component for `spec.target`; `needs`: what the stack asks of an existing GKE cluster."""
    if spec.is_gke:
        return GkeCluster(name, spec, opts=opts, needs=needs)
    return KubeconfigCluster(name, spec, opts=opts)
