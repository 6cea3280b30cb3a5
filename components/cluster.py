"""The cluster the platform runs on and its Kubernetes provider.

GkeCluster: a GKE cluster the GPU pools join (looked up, or declared with `create: true`).
KubeconfigCluster: any existing Kubernetes context (kind, minikube, ...): no GCP resource at all.
"""

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import yaml

from models.cluster import ClusterSpec

CLUSTER_TIMEOUTS = pulumi.CustomTimeouts(create="45m", update="60m", delete="45m")


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

    def __init__(self, name: str, spec: ClusterSpec, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:cluster:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
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
                datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2 enforces NetworkPolicy
                opts=pulumi.ResourceOptions(parent=self, custom_timeouts=CLUSTER_TIMEOUTS, protect=True),
            )
            gcp.container.NodePool(
                f"{name}-system",
                name="system",
                cluster=cluster.name,
                location=spec.location,
                project=spec.project,
                autoscaling={"min_node_count": spec.system_nodes, "max_node_count": spec.system_nodes + 2},
                initial_node_count=spec.system_nodes,
                node_config={
                    "machine_type": spec.system_machine_type,
                    "workload_metadata_config": {"mode": "GKE_METADATA"},
                    "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                },
                opts=pulumi.ResourceOptions(
                    parent=self, custom_timeouts=CLUSTER_TIMEOUTS, ignore_changes=["initialNodeCount"]
                ),
            )
            self.cluster_name = cluster.name
            self.endpoint = cluster.endpoint
            ca = cluster.master_auth.apply(lambda a: a.cluster_ca_certificate)
        else:
            found = gcp.container.get_cluster_output(name=spec.name, location=spec.location, project=spec.project)
            self.cluster_name = found.name
            self.endpoint = found.endpoint
            ca = found.master_auths.apply(lambda auths: auths[0].cluster_ca_certificate)
        config = pulumi.Output.all(self.endpoint, ca).apply(lambda v: kubeconfig(spec.name, v[0], v[1]))
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=config, opts=child)
        self.register_outputs({"cluster_name": self.cluster_name, "endpoint": self.endpoint})


class KubeconfigCluster(pulumi.ComponentResource):
    """`cluster.target: kubeconfig`: a provider for an existing context of the local kubeconfig."""

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, spec: ClusterSpec, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:cluster:KubeconfigCluster", name, None, opts)
        self.cluster_name = pulumi.Output.from_input(spec.name)
        self.endpoint = pulumi.Output.from_input(spec.context or "(current context)")
        self.provider = k8s.Provider(f"{name}-k8s", context=spec.context, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"cluster_name": self.cluster_name, "endpoint": self.endpoint})


def platform_cluster(
    name: str, spec: ClusterSpec, opts: pulumi.ResourceOptions | None = None
) -> "GkeCluster | KubeconfigCluster":
    """The cluster component for `spec.target`."""
    return (GkeCluster if spec.is_gke else KubeconfigCluster)(name, spec, opts=opts)
