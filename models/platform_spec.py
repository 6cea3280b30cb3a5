"""The stack config's fields (namespace `llm-platform:`) and what can be read off them, without the rules that
span the whole config (models/platform.py adds those, so rule modules can type against this class)."""

from typing import Annotated

from pydantic import Field

from .alerts import AlertsSpec, CostSpec, DashboardSpec, NotificationsSpec
from .base import Spec
from .cluster import ClusterSpec, NodePoolSpec
from .common import DnsName, ImageRef
from .external import ExternalModelSpec
from .frontends import FrontendsSpec
from .gateway import GatewaySpec
from .images import DEFAULT_IMAGES
from .llamacpp import LLAMA_IMAGES, LlamaCppModelSpec, SwapSpec
from .network import NetworkSpec
from .observability import GMP_NAMESPACES, ObservabilitySpec, ScrapeMode
from .pricing import PricingOverrides
from .scaling import AutoscalerSpec
from .serving import VllmModelSpec
from .zones import pool_zones, storage_class_name

ModelSpec = Annotated[VllmModelSpec | LlamaCppModelSpec | ExternalModelSpec, Field(discriminator="engine")]


class NamespacesSpec(Spec):
    serving: DnsName = "serving"
    gateway: DnsName = "litellm"
    frontends: DnsName = "experience"


class ImagesSpec(Spec):
    vllm: ImageRef = DEFAULT_IMAGES["vllm"]
    litellm: ImageRef = DEFAULT_IMAGES["litellm"]
    redis: ImageRef = DEFAULT_IMAGES["redis"]
    llamacpp: ImageRef = LLAMA_IMAGES["llamacpp"]
    llamacpp_rocm: ImageRef = LLAMA_IMAGES["llamacpp_rocm"]
    llama_swap: ImageRef = LLAMA_IMAGES["llama_swap"]
    llama_swap_rocm: ImageRef = LLAMA_IMAGES["llama_swap_rocm"]
    gguf_fetch: ImageRef = LLAMA_IMAGES["gguf_fetch"]
    llamacpp_cpu: ImageRef = LLAMA_IMAGES["llamacpp_cpu"]


class PlatformSpec(Spec):
    cluster: ClusterSpec
    scale_to_zero: bool = False
    node_pools: list[NodePoolSpec] = Field(default_factory=list)
    models: list[ModelSpec] = Field(default_factory=list)
    # The llama-swap pool serving every `placement: swap` llama model.
    swap: SwapSpec | None = None
    gateway: GatewaySpec = GatewaySpec()
    namespaces: NamespacesSpec = NamespacesSpec()
    images: ImagesSpec = ImagesSpec()
    # PVC class; default standard-rwo on GKE (WaitForFirstConsumer), the cluster default on kubeconfig.
    storage_class: str | None = Field(default=None, min_length=1)
    # Optional Secret (key HF_TOKEN) the weight pre-stage uses for gated repos.
    hf_token_secret: DnsName = "hf-token"
    # Per-shape USD/node-hour overrides of models/pricing.py for the cost plan.
    pricing: PricingOverrides = Field(default_factory=dict)
    # Optional chat/completion front-ends (models/frontends.py), each on its own minted gateway key.
    frontends: FrontendsSpec = FrontendsSpec()
    # NetworkPolicies (models/network.py) and scrape configs (models/observability.py).
    network: NetworkSpec = NetworkSpec()
    observability: ObservabilitySpec = ObservabilitySpec()
    # Alert rules, where they go, the cost alert and the dashboards (models/alerts.py, docs/operations/alerts.md).
    alerts: AlertsSpec = AlertsSpec()
    cost: CostSpec = CostSpec()
    notifications: NotificationsSpec | None = None
    dashboard: DashboardSpec = DashboardSpec()
    # KEDA and the gateway's answers for `scaling.mode: onDemand` models (models/scaling.py).
    autoscaler: AutoscalerSpec = AutoscalerSpec()

    def serving_replicas(self, model: ModelSpec) -> int:
        """Pods that answer for `model` now: its own, the swap pool's, or 1 for an external endpoint."""
        if model.engine == "external":
            return 1
        if model.engine == "llamacpp" and model.placement == "swap":
            return 0 if self.scale_to_zero or self.swap is None else self.swap.replicas
        return self.effective_replicas(model)

    def effective_replicas(self, model: ModelSpec) -> int:
        """What a Deployment gets: scaleToZero overrides every GPU model without editing it; CPU models keep
        running (they cost no GPU)."""
        on_gpu = not (model.engine == "llamacpp" and model.placement == "cpu")
        return 0 if self.scale_to_zero and on_gpu else model.replicas

    def on_demand(self, model: ModelSpec) -> bool:
        """KEDA scales this model from the gateway's demand (a vLLM model with scaling.mode: onDemand)."""
        return isinstance(model, VllmModelSpec) and model.scaling.on_demand

    @property
    def on_demand_models(self) -> list[VllmModelSpec]:
        return [m for m in self.models if isinstance(m, VllmModelSpec) and m.scaling.on_demand]

    def model_pool(self, model: ModelSpec) -> NodePoolSpec | None:
        """The GPU pool that serves `model` (its own, or swap.pool), None for CPU and external models."""
        name = None
        if model.engine == "vllm" or (model.engine == "llamacpp" and model.placement == "static"):
            name = model.pool
        elif model.engine == "llamacpp" and model.placement == "swap" and self.swap is not None:
            name = self.swap.pool
        return next((n for n in self.node_pools if n.name == name), None)

    @property
    def gateway_retries(self) -> int:
        """The router-wide num_retries: gateway.numRetries, 0 when unset."""
        return self.gateway.num_retries or 0

    def model_retries(self, model: ModelSpec) -> int | None:
        """A model's own num_retries: 1 on a Spot pool while gateway.numRetries is unset (a preempted node drops
        its in-flight requests; one retry reaches another replica or the rescheduled pod), else None."""
        pool = self.model_pool(model)
        return 1 if self.gateway.num_retries is None and pool is not None and pool.spot else None

    def effective_min_nodes(self, pool: NodePoolSpec) -> int:
        return 0 if self.scale_to_zero else pool.min_nodes

    @property
    def swap_spec(self) -> SwapSpec:
        """The swap section, for code that only runs when llama-swap is declared."""
        if self.swap is None:
            raise RuntimeError("no swap: section is declared")
        return self.swap

    @property
    def storage_class_name(self) -> str | None:
        """The StorageClass every PVC names (models/zones.py)."""
        return storage_class_name(self)

    def pool_zones(self, pool: NodePoolSpec) -> list[str]:
        """The zone(s) GKE puts the pool's nodes in (models/zones.py)."""
        return pool_zones(self, pool)

    def pool(self, name: str) -> NodePoolSpec:
        return next(n for n in self.node_pools if n.name == name)

    def scrape_mode(self) -> ScrapeMode:
        """How /metrics is scraped: as configured, else GKE Managed Prometheus on GKE and nothing elsewhere."""
        if self.observability.scrape is not None:
            return self.observability.scrape
        return "podmonitoring" if self.cluster.is_gke else "none"

    def alerts_enabled(self) -> bool:
        """Alert rules: as configured, else whenever /metrics are scraped (rules need the series)."""
        if self.alerts.enabled is not None:
            return self.alerts.enabled
        return self.scrape_mode() != "none"

    def prometheus_namespaces(self) -> list[str]:
        """The namespaces whose pods scrape the platform: GMP's two (Standard, Autopilot), or prometheus-operator's."""
        if self.scrape_mode() != "servicemonitor":
            return list(GMP_NAMESPACES)
        return [self.observability.prometheus_namespace or "monitoring"]
