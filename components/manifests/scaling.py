"""On-demand models (issue 16): KEDA's chart, one ScaledObject per on-demand model, the gateway's demand endpoint
and the NetworkPolicies between them. Pure functions returning manifests as dicts."""

from typing import Any

from models.platform import PlatformConfig
from models.scaling import KEDA_CHART_REPO
from models.serving import VllmModelSpec

from . import gateway, network
from .common import helm_release, metadata, selector
from .demand import DEMAND_PORT, enabled

DEMAND_SERVICE = f"{gateway.NAME}-demand"
DEMAND_METRIC = "llm_platform_model_demand"
# KEDA's chart labels its operator pod app.kubernetes.io/name=keda-operator.
KEDA_OPERATOR = "keda-operator"
# KEDA's paused-replicas annotation: a hard zero that demand cannot lift (scaleToZero).
PAUSED = "autoscaling.keda.sh/paused-replicas"


def keda_release(cfg: PlatformConfig) -> dict[str, Any]:
    """Inputs of kubernetes.helm.v3.Release for KEDA (CRDs, operator, metrics adapter, admission webhooks).
    watchNamespace: the operator reads and scales only the serving namespace's objects."""
    auto = cfg.autoscaler
    return helm_release(
        "keda",
        "keda",
        auto.keda_chart_version,
        auto.namespace,
        KEDA_CHART_REPO,
        {"watchNamespace": cfg.namespaces.serving, "crds": {"install": True}},
        create_namespace=True,
    )


def demand_url(cfg: PlatformConfig) -> str:
    return f"http://{DEMAND_SERVICE}.{cfg.namespaces.gateway}.svc.cluster.local:{DEMAND_PORT}/metrics"


def demand_service(cfg: PlatformConfig) -> dict[str, Any]:
    """ClusterIP Service in front of every gateway pod's demand port: what KEDA's metrics-api trigger reads."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(DEMAND_SERVICE, cfg.namespaces.gateway, "gateway"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(gateway.NAME),
            "ports": [{"name": "demand", "port": DEMAND_PORT, "targetPort": DEMAND_PORT, "protocol": "TCP"}],
        },
    }


def scaled_object(spec: VllmModelSpec, cfg: PlatformConfig) -> dict[str, Any]:
    """min = the model's replicas (its floor), max = scaling.maxReplicas, cooldown = idleMinutes. Under
    scaleToZero the object is paused at 0: demand never brings the model up."""
    annotations = {PAUSED: "0"} if cfg.scale_to_zero else {}
    meta = metadata(spec.name, cfg.namespaces.serving, "model", **({"annotations": annotations} if annotations else {}))
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicaCount": spec.replicas,
            "maxReplicaCount": spec.scaling.max_replicas,
            "pollingInterval": cfg.autoscaler.polling_interval_seconds,
            "cooldownPeriod": spec.scaling.idle_minutes * 60,
            "triggers": [
                {
                    "type": "metrics-api",
                    "name": "gateway-demand",
                    "metadata": {
                        "url": demand_url(cfg),
                        "format": "prometheus",
                        "valueLocation": f'{DEMAND_METRIC}{{model="{spec.name}"}}',
                        # Requests per replica before KEDA's HPA adds one; any demand at all wakes the model.
                        "targetValue": str(spec.scaling.requests_per_replica),
                        "activationTargetValue": "0",
                        "timeout": "3000",
                    },
                }
            ],
        },
    }


def policies(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """In the gateway's namespace: KEDA's operator may read the demand port."""
    if not enabled(cfg) or not cfg.network.enabled:
        return []
    operator = network.in_namespace(cfg.autoscaler.namespace, network.names_selector([KEDA_OPERATOR]))
    return [
        network.policy(
            "keda-demand-ingress",
            cfg.namespaces.gateway,
            network.names_selector([gateway.NAME]),
            ingress=[network.rule([operator], network.tcp(DEMAND_PORT), "ingress")],
        )
    ]


def keda_policies(cfg: PlatformConfig) -> list[dict[str, Any]]:
    """In KEDA's namespace (this stack's only when it installs KEDA; declared after the chart made it): its
    pods reach DNS, the API server, each other and the demand port, nothing more. Egress only: the API
    server must still reach KEDA's webhooks and metrics adapter."""
    if not enabled(cfg) or not cfg.network.enabled or cfg.autoscaler.keda != "install":
        return []
    keda_ns, gw_ns = cfg.autoscaler.namespace, cfg.namespaces.gateway
    dns = network.baseline(cfg, keda_ns)[1]["spec"]["egress"]
    return [
        network.policy(
            "keda-egress",
            keda_ns,
            {},
            egress=[
                *dns,
                network.api_server_rule(cfg),
                {"to": [network.in_namespace(keda_ns)]},  # operator <-> metrics adapter (gRPC)
                network.rule(
                    [network.in_namespace(gw_ns, network.names_selector([gateway.NAME]))],
                    network.tcp(DEMAND_PORT),
                    "egress",
                ),
            ],
        )
    ]
