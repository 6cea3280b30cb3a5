"""Dashboards: one Cloud Monitoring dashboard per GKE stack (PromQL charts on Managed Prometheus data) and,
when dashboard.grafana.enabled, the same panels as a Grafana dashboard ConfigMap for the Grafana sidecar."""

import json

import pulumi
import pulumi_gcp as gcp

from components.k8s import apply, child
from components.manifests import grafana_dashboard
from components.manifests.dashboard_panels import cloud_dashboard_on, cloud_monitoring_dashboard
from models.platform import PlatformConfig


class Dashboards(pulumi.ComponentResource):
    cloud_dashboard: pulumi.Output[str] | None

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:dashboards:Dashboards", name, None, opts)
        self.cloud_dashboard = None
        if cloud_dashboard_on(spec):
            board = gcp.monitoring.Dashboard(
                f"{name}-cloud-monitoring",
                dashboard_json=json.dumps(cloud_monitoring_dashboard(spec), sort_keys=True),
                project=spec.cluster.project,
                opts=child(self),
            )
            self.cloud_dashboard = board.id
        if spec.dashboard.grafana.enabled:
            apply(f"{name}-grafana", grafana_dashboard.configmap(spec), child(self))
        self.register_outputs({"cloud_dashboard": self.cloud_dashboard})
