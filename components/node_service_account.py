"""NodeServiceAccount: the GKE nodes' own least-privilege service account, instead of the Compute Engine default.

The default compute account holds roles/editor on the project, and with the cloud-platform scope every pod that
reaches the node's metadata server could use it. This account gets only what a node needs: write logs and metrics,
read monitoring (GKE's metadata agent), write resource metadata, and pull images from Artifact Registry (the roles
of GKE's "least privileged service account" guide, cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-
cluster#use_least_privilege_sa). The pools keep the cloud-platform scope, which Google recommends with such an
account: IAM, not scopes, decides what it may do.
"""

from typing import Any

import pulumi
import pulumi_gcp as gcp

NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
)


def account_id(cluster_name: str) -> str:
    """6-30 characters, [a-z][-a-z0-9]*[a-z0-9]: the cluster's name, cut to fit, then -nodes."""
    return f"{cluster_name[:24].rstrip('-')}-nodes"


class NodeServiceAccount(pulumi.ComponentResource):
    email: pulumi.Output[str]

    def __init__(self, name: str, spec: Any, opts: pulumi.ResourceOptions | None = None):
        """`spec`: the ClusterSpec (its name and project)."""
        super().__init__("llm-platform:cluster:NodeServiceAccount", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = gcp.serviceaccount.Account(
            f"{name}-gsa",
            account_id=account_id(spec.name),
            display_name=f"GKE nodes of {spec.name} (llm-platform)",
            project=spec.project,
            opts=child,
        )
        for role in NODE_ROLES:
            gcp.projects.IAMMember(
                f"{name}-{role.split('/')[1].replace('.', '-').lower()}",
                project=account.project,  # the account's project: spec.project or the provider's gcp:project
                role=role,
                member=account.email.apply(lambda email: f"serviceAccount:{email}"),
                opts=child,
            )
        self.email = account.email
        self.register_outputs({"email": self.email})
