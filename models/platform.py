"""The whole stack config, parsed once and frozen: PlatformSpec's fields plus every rule that spans them."""

from collections import defaultdict

from pydantic import model_validator

from .alerting_rules import alerting_problems
from .cluster import NodePoolSpec
from .common import Problems, duplicates
from .database_backup import backup_problems
from .database_restore import restore_problems
from .external import ExternalModelSpec
from .frontends import frontend_problems
from .llama_rules import gpu_demands, llama_problems
from .llama_sizing import unknown_shape_warning
from .llamacpp import LlamaCppModelSpec
from .platform_spec import ImagesSpec, ModelSpec, NamespacesSpec, PlatformSpec
from .pricing import price_warning
from .serving import VllmModelSpec
from .vllm_sizing import context_problem, kv_cache_problem, unknown_model_warning
from .zones import zone_problems

__all__ = ["ImagesSpec", "ModelSpec", "NamespacesSpec", "PlatformConfig", "PlatformSpec"]


class PlatformConfig(PlatformSpec):
    """What the program builds from: a PlatformSpec whose cross-field rules all passed."""

    @model_validator(mode="after")
    def _cross_field_rules(self) -> "PlatformConfig":
        """Every rule runs, so one render reports every problem; each adds 'key.path: problem; fix' lines."""
        p = Problems()
        for rule in (
            self._names_are_unique,
            self._pools_exist,
            self._sizing_traps,
            self._llama_backends,
            self._gpu_budget,
            self._keys_reference_models,
            self._pools_need_gke,
            self._zones_and_disks,
            self._frontends_use_declared_keys,
            self._smoke_key_fits,
            self._database_backups,
            self._alerting,
            self._runtime_models_reachable,
            self._on_demand_fits,
        ):
            rule(p)
        p.raise_if_any()
        return self

    def warnings(self) -> list[str]:
        """What renders but cannot be fully checked: 'key: what; how to fix' lines. Pure data: the program
        logs them (pulumi.log.warn) and render.py prints them; they never fail a preview."""
        w = Problems()
        for i, m in enumerate(self.models):
            if isinstance(m, VllmModelSpec) and (found := unknown_model_warning(m)):
                w.add(f"models[{i}].{found[0]}", found[1])
            elif isinstance(m, LlamaCppModelSpec) and (text := unknown_shape_warning(m)):
                w.add(f"models[{i}].modelShape", text)
        for j, pool in enumerate(self.node_pools):
            if (text := self._warm_on_demand_pool(pool)) is not None:
                w.add(f"nodePools[{j}].minNodes", text)
        shapes = [(p.machine_type, p.spot) for p in self.node_pools if p.managed]
        if self.cluster.is_gke and (text := price_warning(self.cluster.region, shapes, self.pricing)):
            w.add("cluster.location", text)
        return w.lines

    def _names_are_unique(self, p: Problems) -> None:
        for field, values in (
            ("nodePools[].name", [n.name for n in self.node_pools]),
            ("nodePools[].role", [n.role for n in self.node_pools]),
            ("models[].name", [m.name for m in self.models]),
            ("models[].servedModelName", [m.served_name for m in self.models if m.engine == "vllm"]),
        ):
            for dup in duplicates(values):
                idx = [i for i, v in enumerate(values) if v == dup]
                where = ", ".join(field.replace("[]", f"[{i}]") for i in idx)
                p.add(where, f"'{dup}' is used more than once; each must be unique, rename all but one")

    def _pools_exist(self, p: Problems) -> None:
        pools = {n.name for n in self.node_pools}
        for i, m in enumerate(self.models):
            if isinstance(m, ExternalModelSpec) or m.pool is None:  # swap and CPU models have no pool
                continue
            if m.pool not in pools:
                known = ", ".join(sorted(pools)) or "none declared"
                p.add(
                    f"models[{i}].pool",
                    f"'{m.pool}' is not a declared node pool (known: {known}); "
                    "use one of nodePools[].name or add the pool",
                )

    def _sizing_traps(self, p: Problems) -> None:
        pools = {n.name: n for n in self.node_pools}
        for i, m in enumerate(self.models):
            if not isinstance(m, VllmModelSpec) or m.pool not in pools:
                continue  # llama.cpp sizing: models/llama_rules.py; an unknown pool is reported once already
            pool = pools[m.pool]
            shape, key = pool.shape, f"models[{i}]"
            if m.tensor_parallel_size > shape.gpus:
                p.add(
                    f"{key}.tensorParallelSize",
                    f"{m.tensor_parallel_size} is more than the {shape.gpus} GPU(s) of a {pool.machine_type} "
                    f"node in pool '{pool.name}'; lower it or use a machine type with more GPUs "
                    "(g2-standard-24: 2, g2-standard-48: 4, g2-standard-96: 8)",
                )
            ram = shape.allocatable_ram_gib
            if m.weights_gib > ram:
                p.add(
                    f"{key}.weightsGiB",
                    f"{m.weights_gib} GiB of weights exceeds the {ram} GiB of host RAM a pod gets on "
                    f"{pool.machine_type} (pool '{pool.name}'); vLLM stages weights through host RAM and "
                    "would OOM-load. Use a bigger machine type or a smaller/quantized model",
                )
            gpu = pool.gpu_vram_gib
            vram = gpu * m.gpu_memory_utilization * m.tensor_parallel_size + m.cpu_offload_gb * 0.931
            if m.weights_gib > vram:
                p.add(
                    f"{key}.weightsGiB",
                    f"{m.weights_gib} GiB of weights does not fit {round(vram, 2)} GiB of VRAM "
                    f"({gpu} GiB per GPU x gpuMemoryUtilization {m.gpu_memory_utilization} x "
                    f"tensorParallelSize {m.tensor_parallel_size}); raise tensorParallelSize, "
                    "quantize, or set cpuOffloadGB",
                )
            elif problem := context_problem(m) or kv_cache_problem(m, gpu):
                p.add(f"{key}.{problem[0]}", problem[1])

    def _llama_backends(self, p: Problems) -> None:
        p.lines.extend(llama_problems(self).lines)

    def _gpu_budget(self, p: Problems) -> None:
        demand: dict[str, list[str]] = defaultdict(list)
        used: dict[str, int] = defaultdict(int)
        for pool_name, who, replicas, gpus in gpu_demands(self):  # vLLM, static llama models, llama-swap
            if replicas:
                used[pool_name] += replicas * gpus
                demand[pool_name].append(f"{who}={replicas}x{gpus}")
        for j, pool in enumerate(self.node_pools):
            if used[pool.name] > pool.gpu_capacity:
                p.add(
                    f"nodePools[{j}].maxNodes",
                    f"pool '{pool.name}' would need {used[pool.name]} GPUs ({', '.join(demand[pool.name])} "
                    f"replicas x TP) but has at most {pool.gpu_capacity} ({pool.max_nodes} node(s) x "
                    f"{pool.shape.gpus} GPU); one L4 runs one model at a time. Scale a model to "
                    "replicas: 0 or raise maxNodes",
                )

    def _on_demand_fits(self, p: Problems) -> None:
        """An on-demand model whose maxReplicas cannot fit its pool would leave a Pending GPU pod forever."""
        gw = self.gateway
        if self.on_demand_models and gw.redis_mode == "none" and gw.processes > 1:
            p.add(
                "gateway.redis.mode",
                f"is none, but the gateway runs {gw.processes} processes and on-demand models are scaled on the "
                "demand they count together; remove mode: none (in-cluster Redis) or point it at your Redis",
            )
        pools = {n.name: n for n in self.node_pools}
        for i, m in enumerate(self.models):
            if not isinstance(m, VllmModelSpec) or not m.scaling.on_demand or m.pool not in pools:
                continue
            pool, need = pools[m.pool], m.scaling.max_replicas * m.tensor_parallel_size
            if need > pool.gpu_capacity:
                p.add(
                    f"models[{i}].scaling.maxReplicas",
                    f"{m.scaling.max_replicas} replica(s) x tensorParallelSize {m.tensor_parallel_size} need {need} "
                    f"GPUs but pool '{pool.name}' has at most {pool.gpu_capacity}; lower maxReplicas or raise "
                    f"nodePools maxNodes for '{pool.name}'",
                )

    def _warm_on_demand_pool(self, pool: NodePoolSpec) -> str | None:
        """A pool kept warm while everything on it is on demand at a floor of 0 costs money for nothing."""
        on_pool = [m for m in self.models if self.model_pool(m) is pool]
        if not on_pool or self.effective_min_nodes(pool) == 0:
            return None
        if all(self.on_demand(m) and m.replicas == 0 for m in on_pool):
            return (
                f"keeps {pool.min_nodes} GPU node(s) up although every model on pool '{pool.name}' is on demand "
                "with replicas: 0; set minNodes: 0 so the pool idles at no cost (a warm node only saves the "
                "node's boot, about 3 of a cold start's ~10 minutes)"
            )
        return None

    def _keys_reference_models(self, p: Problems) -> None:
        routed = {m.name: m for m in self.models if m.register_in_gateway}
        for dup in duplicates([k.alias for k in self.gateway.keys]):
            where = ", ".join(f"gateway.keys[{i}].alias" for i, k in enumerate(self.gateway.keys) if k.alias == dup)
            p.add(
                where,
                f"'{dup}' is used more than once; each key needs its own alias (it names Secret "
                f"litellm-key-{dup}), rename all but one",
            )
        for i, key in enumerate(self.gateway.keys):
            for j, name in enumerate(key.models):
                model = routed.get(name)
                if model is None:
                    p.add(
                        f"gateway.keys[{i}].models[{j}]",
                        f"'{name}' is not a model registered in the gateway (known: {', '.join(routed) or 'none'}); "
                        "use a declared models[].name",
                    )
                elif key.max_budget is not None and (
                    model.input_cost_per_token is None or model.output_cost_per_token is None
                ):
                    p.add(
                        f"gateway.keys[{i}].maxBudget",
                        f"key '{key.alias}' has a budget but model '{name}' has no price, so the budget never "
                        "binds; price the model or drop it from this key",
                    )

    def _pools_need_gke(self, p: Problems) -> None:
        if any(n.managed for n in self.node_pools) and not self.cluster.is_gke:  # managed: false = existing nodes
            p.add(
                "nodePools",
                "GPU node pools are GKE node pools, but cluster.target is "
                f"'{self.cluster.target}'; remove nodePools (and the models on them), set "
                "managed: false for existing labelled nodes, or set cluster.target: gke",
            )

    def _zones_and_disks(self, p: Problems) -> None:
        p.lines.extend(zone_problems(self).lines)

    def _frontends_use_declared_keys(self, p: Problems) -> None:
        p.lines.extend(frontend_problems(self.frontends, self.gateway.keys, self.models, self.namespaces.frontends))

    def _smoke_key_fits(self, p: Problems) -> None:
        smoke = self.gateway.smoke_test
        if not smoke.enabled:
            return
        key = next((k for k in self.gateway.keys if k.alias == smoke.key), None)
        if key is None:
            p.add(
                "gateway.smokeTest.key",
                f"'{smoke.key}' is not a gateway.keys alias; declare the key "
                "(models: every model) or point to an existing one",
            )
            return
        if (key.namespace or self.namespaces.frontends) != self.namespaces.gateway:
            p.add(
                "gateway.smokeTest.key",
                f"key '{key.alias}' is stored outside the gateway namespace, "
                f"where the Job runs; set its namespace: {self.namespaces.gateway}",
            )
        missing = [m.name for m in self.models if m.register_in_gateway and m.name not in key.models]
        if missing:
            p.add(
                "gateway.smokeTest.key",
                f"key '{key.alias}' cannot call {', '.join(missing)}; add them "
                "to its models so every exposed model is tested",
            )

    def _database_backups(self, p: Problems) -> None:
        db = self.gateway.database
        cluster = self.cluster
        problems = backup_problems(
            db.mode,
            db.backup,
            db.restore is not None,
            cluster.is_gke,
            cluster.workload_identity,
            cluster.project or cluster.name,
        )
        p.lines.extend(problems.lines)
        p.lines.extend(restore_problems(db.mode, db.cluster, db.backup, db.restore).lines)

    def _alerting(self, p: Problems) -> None:
        p.lines.extend(alerting_problems(self).lines)

    def _runtime_models_reachable(self, p: Problems) -> None:
        gw = self.gateway
        if gw.store_model_in_db and self.network.enabled and gw.runtime_model_egress is None:
            p.add(
                "gateway.runtimeModelEgress",
                "storeModelInDb lets the UI add models, but the gateway's NetworkPolicy reaches only the models "
                "declared here; set runtimeModelEgress: {cidrs: [<where they run>], ports: [443]} (0.0.0.0/0 for "
                "internet APIs), or set storeModelInDb: false",
            )
