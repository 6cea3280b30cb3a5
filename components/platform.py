"""LlmPlatform: the whole stack from one PlatformConfig: cluster, GPU pools, namespaces, models, gateway."""

import pulumi

from components.alerting import Alerting
from components.autoscaler import Autoscaler
from components.cluster import platform_cluster
from components.dashboards import Dashboards
from components.frontends import declare_frontends
from components.gateway import LiteLLMGateway
from components.gateway_database import GatewayDatabase
from components.gateway_redis import GatewayRedis
from components.gpu_node_pool import GpuNodePool
from components.k8s import apply, use_adopting_provider
from components.key_minter import KeyMinter
from components.key_secrets import KeySecrets
from components.llama_backends import llama_backends
from components.manifests.common import metadata
from components.network_policies import NetworkPolicies
from components.observability import Observability
from components.smoke_test_job import SmokeTest
from components.vllm_model import VllmModel
from models.gke_preflight import needs_of
from models.llama_rules import gpu_demands
from models.platform import PlatformConfig


def namespace_manifest(name: str, enforce: str) -> dict:
    meta = metadata(name, None, "namespace")
    meta["labels"].update(
        {"pod-security.kubernetes.io/enforce": enforce, "pod-security.kubernetes.io/warn": "restricted"}
    )
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


class LlmPlatform(pulumi.ComponentResource):
    gateway_url: pulumi.Output[str]
    master_key: pulumi.Output[str]
    model_endpoints: pulumi.Output[dict]
    gpus_requested: pulumi.Output[dict]
    weight_staging: pulumi.Output[dict]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:platform:LlmPlatform", name, None, opts)
        for warning in spec.warnings():  # rendered but not fully checkable: say so in the preview
            pulumi.log.warn(warning, resource=self)
        cluster = platform_cluster(
            f"{name}-cluster", spec.cluster, opts=pulumi.ResourceOptions(parent=self), needs=needs_of(spec)
        )
        for pool in (p for p in spec.node_pools if p.managed):  # managed: false = existing labelled nodes
            GpuNodePool(
                f"{name}-{pool.name}",
                pool,
                cluster=cluster.cluster_name,
                location=spec.cluster.gke_location,
                min_nodes=spec.effective_min_nodes(pool),
                zones=spec.pool_zones(pool),
                project=spec.cluster.project,
                workload_metadata=spec.cluster.workload_metadata_mode,
                service_account=cluster.node_service_account,
                opts=pulumi.ResourceOptions(parent=self),
            )

        k8s_opts = pulumi.ResourceOptions(parent=self, providers={"kubernetes": cluster.provider})
        use_adopting_provider(cluster.adopt_provider)  # kept objects: adopted on the `up` after a destroy
        # Deleting a Namespace deletes everything in it, retained or not: the ones holding state outlive the
        # stack (retained) and a refactor or `pulumi destroy` (protected where the state is irreplaceable).
        keeps = stateful_namespaces(spec)
        namespaces = [
            apply(
                f"{name}-ns-{ns}",
                namespace_manifest(ns, enforce),
                pulumi.ResourceOptions.merge(k8s_opts, keeps.get(ns, pulumi.ResourceOptions())),
            )
            for ns, enforce in platform_namespaces(spec)
        ]
        in_ns = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=namespaces))
        # Policies first: no workload ever runs in a namespace without its default deny.
        policies = NetworkPolicies(f"{name}-network", spec, opts=in_ns)
        in_ns = pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[policies]))

        # The gateway first: it declares the shared upstream-key Secret the backends read, and a Secret must be
        # declared before its readers so their pod templates carry its checksum (components/k8s.py).
        database = GatewayDatabase(f"{name}-db", spec, opts=in_ns)
        shared = [GatewayRedis(f"{name}-redis", spec, opts=in_ns)] if spec.gateway.redis_mode == "incluster" else []
        gateway = LiteLLMGateway(
            f"{name}-gateway",
            spec,
            opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[database, *shared])),
        )
        # KEDA before the ScaledObjects that need its CRDs; only when some model is on demand.
        autoscaler = Autoscaler(f"{name}-autoscaler", spec, opts=in_ns) if spec.on_demand_models else None
        models = {
            m.name: VllmModel(f"{name}-{m.name}", m, platform=spec, autoscaler=autoscaler, opts=in_ns)
            for m in spec.models
            if m.engine == "vllm"
        }
        llama, llama_stages = llama_backends(name, spec, in_ns)  # model -> static Service or llama-swap endpoint
        minter = []
        if spec.gateway.keys:
            adopt = pulumi.ResourceOptions(providers={"kubernetes": cluster.adopt_provider})
            secrets = KeySecrets(f"{name}-key-secrets", spec, opts=pulumi.ResourceOptions.merge(in_ns, adopt))
            minter = [
                KeyMinter(
                    f"{name}-keys",
                    spec,
                    opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[gateway, secrets])),
                )
            ]
        declare_frontends(name, spec, in_ns, after=[gateway, *minter])
        if spec.gateway.smoke_test.enabled:
            SmokeTest(
                f"{name}-smoke",
                spec,
                opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[gateway, *minter])),
            )

        observability = Observability(f"{name}-observability", spec, opts=in_ns)
        # Rules read the series the scrape objects produce; gmp-public and the rule CRDs come with the cluster.
        Alerting(f"{name}-alerting", spec, opts=in_ns)
        Dashboards(f"{name}-dashboards", spec, opts=in_ns)

        self.gateway_url = gateway.url
        self.master_key = gateway.master_key
        self.model_endpoints = pulumi.Output.all(**{k: v.endpoint for k, v in models.items()}, **llama)
        self.gpus_requested = pulumi.Output.from_input(gpus_requested(spec))
        # Per GPU model (vLLM, llama.cpp static and swap): its weight-stage Job and how to read it (a failed stage
        # fails `up` there, naming it, with no GPU pod created).
        stages = {**{k: v.stage for k, v in models.items()}, **llama_stages}
        self.weight_staging = pulumi.Output.all(**stages) if stages else pulumi.Output.from_input({})
        self.register_outputs(
            {
                "gateway_url": self.gateway_url,
                "master_key": self.master_key,
                "model_endpoints": self.model_endpoints,
                "gpus_requested": self.gpus_requested,
                "weight_staging": self.weight_staging,
                **observability.operator_outputs,
            }
        )
        # Stack output name -> value for an operator (components/manifests/observability.py); no secret values.
        self.operator_outputs = observability.operator_outputs


def platform_namespaces(spec: PlatformConfig) -> list[tuple[str, str]]:
    """(namespace, pod-security level). vLLM's image runs as root, so serving enforces baseline."""
    ns = spec.namespaces
    out = [(ns.serving, "baseline"), (ns.gateway, "baseline")]
    if spec.gateway.keys or spec.frontends.any_enabled:  # key Secrets and front-ends live there
        out.append((ns.frontends, "baseline"))
    return out


def stateful_namespaces(spec: PlatformConfig) -> dict[str, pulumi.ResourceOptions]:
    """Namespace -> options keeping it. Data (the database, front-end data PVCs, key Secrets): protected and
    retained. Serving holds only re-downloadable weight caches, which are retained: so is their Namespace."""
    ns = spec.namespaces
    data = pulumi.ResourceOptions(protect=True, retain_on_delete=True)
    out = {ns.serving: pulumi.ResourceOptions(retain_on_delete=True)}
    if spec.gateway.database.mode == "cnpg" or spec.gateway.keys:
        out[ns.gateway] = data
    if spec.gateway.keys or spec.frontends.any_enabled:
        out[ns.frontends] = data
    return out


def gpus_requested(spec: PlatformConfig) -> dict[str, int]:
    """GPUs the running plan asks for per pool, after scaleToZero."""
    out = {p.name: 0 for p in spec.node_pools}
    for pool, _, replicas, gpus in gpu_demands(spec, effective=True):  # vLLM, static llama, llama-swap
        out[pool] += replicas * gpus
    return out
