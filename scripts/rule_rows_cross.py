"""Rule rows for cross-field rules: one minimal edit of the dev stack per rule that relates several keys.

See scripts/rule_edits.py for Row and the helpers.
"""

from scripts.rule_edits import (
    Row,
    add_llama,
    add_pool,
    add_swap,
    backup,
    drop,
    key,
    librechat,
    model,
    setv,
    unregister_chat_models,
)


def _three_8b_models_loaded_at_once(r) -> None:
    """exclusive: false with three Llama-3.1-8B at 32k: their GGUFs fit an L4, their KV caches too do not."""
    add_swap(r, models=0, exclusive=False)
    for i in range(3):
        add_llama(
            r,
            name=f"Swap-{i}",
            placement="swap",
            ggufRepo="bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
            weightsGiB=4.9,
            contextSize=32768,
        )


CROSS_ROWS = [
    # models/platform.py
    Row("models[0].name, models[1].name", "names are unique", lambda r: setv(model(r, "coder-fim"), name="coder-chat")),
    Row(
        "models[0].servedModelName, models[1].servedModelName",
        "served names are unique",
        lambda r: setv(model(r, "coder-fim"), servedModelName="qwen2.5-coder-7b-instruct"),
    ),
    Row("models[0].pool", "a model's pool is declared", lambda r: setv(model(r), pool="l4-chat")),
    Row(
        "models[0].tensorParallelSize",
        "tensor parallelism fits the node's GPUs",
        lambda r: setv(model(r), tensorParallelSize=2),
    ),
    Row("models[0].weightsGiB", "vLLM weights fit host RAM", lambda r: setv(model(r), weightsGiB=40, cacheGiB=60)),
    Row("models[0].weightsGiB", "vLLM weights fit VRAM", lambda r: setv(model(r), weightsGiB=21, cacheGiB=30)),
    Row(
        "models[2].maxModelLen",
        "weights plus one full-length KV cache fit VRAM",
        lambda r: setv(model(r, "coder-agent"), maxModelLen=32768, gpuMemoryUtilization=0.6),
    ),
    Row(
        "models[0].maxModelLen",
        "a model outside the sizing table sets maxModelLen",
        lambda r: (model(r).pop("maxModelLen"), setv(model(r), modelName="acme/c-7b")),
    ),
    Row(
        "models[0].maxModelLen",
        "maxModelLen within the model's positions (or RoPE scaling)",
        lambda r: setv(model(r), maxModelLen=65536),
    ),
    Row(
        "models[0].gpuMemoryUtilization",
        "gpuMemoryUtilization at most 0.95",
        lambda r: setv(model(r), gpuMemoryUtilization=0.97),
    ),
    Row(
        "models[0].modelShape.globalLayers",
        "a sliding window names its full-attention layers",
        lambda r: setv(
            model(r),
            modelName="acme/c-7b",
            modelShape={"numHiddenLayers": 28, "numKeyValueHeads": 4, "headDim": 128, "slidingWindow": 4096},
        ),
    ),
    Row(
        "models[0].modelShape.globalLayers",
        "full-attention layers within the layer count",
        lambda r: setv(
            model(r),
            modelName="acme/c-7b",
            modelShape={
                "numHiddenLayers": 28,
                "numKeyValueHeads": 4,
                "headDim": 128,
                "slidingWindow": 4096,
                "globalLayers": 29,
            },
        ),
    ),
    Row(
        "models[0].maxModelLen",
        "a model's context length is known",
        lambda r: (
            model(r).pop("maxModelLen"),
            setv(
                model(r),
                modelName="acme/c-7b",
                modelShape={"numHiddenLayers": 28, "numKeyValueHeads": 4, "headDim": 128},
            ),
        ),
    ),
    Row(
        "models[0].modelShape.numHiddenLayers",
        "a model shape is complete",
        lambda r: setv(model(r), modelName="acme/c-7b", modelShape={"numKeyValueHeads": 4, "headDim": 128}),
    ),
    Row("nodePools[0].maxNodes", "the GPU budget fits the pool", lambda r: setv(model(r, "coder-fim"), replicas=1)),
    # on-demand models (models/scaling.py)
    Row(
        "models[1].scaling.idleMinutes",
        "an on-demand model idles longer than it may take to start",
        lambda r: setv(model(r, "coder-fim"), scaling={"mode": "onDemand", "idleMinutes": 30}),
    ),
    Row(
        "models[1].scaling.maxReplicas",
        "an on-demand model's maxReplicas fits its pool",
        lambda r: setv(model(r, "coder-fim"), scaling={"mode": "onDemand", "maxReplicas": 2}),
    ),
    Row(
        "gateway.redis.mode",
        "on-demand models over several gateway processes count demand in Redis",
        lambda r: (
            setv(model(r, "coder-fim"), scaling={"mode": "onDemand"}),
            r["gateway"].update(redis={"mode": "none"}),
        ),
    ),
    Row(
        "gateway.keys[0].alias, gateway.keys[1].alias",
        "key aliases are unique",
        lambda r: setv(key(r, "tabby"), alias="open-webui"),
    ),
    Row(
        "gateway.keys[1].models[0]",
        "a key's models are in the gateway",
        lambda r: setv(key(r, "tabby"), models=["coder"]),
    ),
    Row(
        "nodePools",
        "GKE pools need target: gke",
        lambda r: (setv(r["cluster"], target="kubeconfig"), drop(r["cluster"], "location")),
    ),
    Row("gateway.smokeTest.key", "the smoke key is declared", lambda r: setv(r["gateway"]["smokeTest"], key="smoke")),
    Row(
        "gateway.smokeTest.key",
        "the smoke key lives in the gateway namespace",
        lambda r: drop(key(r, "smoke-test"), "namespace"),
    ),
    Row(
        "gateway.smokeTest.key",
        "the smoke key covers every model",
        lambda r: setv(key(r, "smoke-test"), models=["coder-chat"]),
    ),
    # models/database_backup.py (cross-field)
    Row(
        "gateway.database.backup",
        "a CNPG database on GKE decides on backups",
        lambda r: drop(r["gateway"]["database"], "backup"),
    ),
    Row(
        "gateway.database.backup.enabled",
        "backups need GKE (laptops: enabled: false)",
        lambda r: (setv(r["cluster"], target="kubeconfig"), drop(r["cluster"], "location"), r.update(nodePools=[])),
    ),
    Row(
        "gateway.database.backup.enabled",
        "backups need Workload Identity",
        lambda r: setv(r["cluster"], workloadIdentity=False),
    ),
    Row(
        "gateway.database.backup.enabled",
        "backups are for mode: cnpg",
        lambda r: setv(r["gateway"]["database"], mode="existing", urlSecret={"name": "db", "key": "url"}),
    ),
    Row(
        "gateway.database.restore",
        "restore is for mode: cnpg",
        lambda r: setv(
            r["gateway"]["database"],
            mode="existing",
            urlSecret={"name": "db", "key": "url"},
            backup={},
            restore={"into": "litellm-db-2", "fromArchive": {"bucket": "old-backups"}},
        ),
    ),
    Row(
        "gateway.database.cluster",
        "cluster is for mode: cnpg",
        lambda r: setv(
            r["gateway"]["database"], mode="existing", urlSecret={"name": "db", "key": "url"}, backup={}, cluster="db2"
        ),
    ),
    Row(
        "gateway.database.restore.fromArchive",
        "a Cluster restored from another archive archives into a new folder",
        lambda r: setv(
            r["gateway"]["database"],
            restore={"into": "litellm-db", "fromArchive": {"bucket": backup(r)["bucket"]}},
        ),
    ),
    Row(
        "gateway.database.restoreFrom",
        "restoreFrom was replaced by restore",
        lambda r: setv(r["gateway"]["database"], restoreFrom={"bucket": backup(r)["bucket"]}),
    ),
    Row(
        "gateway.database.restore.fromBackupOf",
        "a restore names exactly one source",
        lambda r: setv(r["gateway"]["database"], restore={"into": "litellm-db-2"}),
    ),
    Row(
        "gateway.database.restore.into",
        "a restore goes into a new Cluster",
        lambda r: setv(r["gateway"]["database"], restore={"into": "litellm-db", "fromBackupOf": "litellm-db"}),
    ),
    Row(
        "gateway.database.cluster",
        "the gateway reads the restore's source or target",
        lambda r: setv(
            r["gateway"]["database"], cluster="other-db", restore={"into": "litellm-db-2", "fromBackupOf": "litellm-db"}
        ),
    ),
    Row(
        "gateway.database.restore.fromBackupOf",
        "fromBackupOf reads this stack's backups",
        lambda r: setv(
            r["gateway"]["database"],
            backup={"enabled": False},
            restore={"into": "litellm-db-2", "fromBackupOf": "litellm-db"},
        ),
    ),
    Row(
        "gateway.database.restore.into",
        "a restored Cluster archives into a new folder",
        lambda r: (
            setv(backup(r), serverName="litellm-db-2"),
            setv(r["gateway"]["database"], restore={"into": "litellm-db-2", "fromBackupOf": "litellm-db"}),
        ),
    ),
    Row(
        "gateway.database.restore.fromArchive",
        "the gateway reads a Cluster recovered from another archive",
        lambda r: setv(
            r["gateway"]["database"], restore={"into": "litellm-db-2", "fromArchive": {"bucket": "old-backups"}}
        ),
    ),
    # models/llama_rules.py
    Row("models[4].placement", "a swap model needs a swap section", lambda r: add_llama(r, placement="swap")),
    Row(
        "models[5].pool",
        "one static model per pool",
        lambda r: (add_pool(r), add_llama(r, pool="static-x"), add_llama(r, name="Llama-Y", pool="static-x")),
    ),
    Row(
        "swap.pool",
        "the swap pool is declared",
        lambda r: (add_llama(r, placement="swap"), r.update(swap={"pool": "nope"})),
    ),
    Row("swap", "a swap section has a swap model", lambda r: r.update(swap={"pool": "l4-coder", "replicas": 0})),
    Row(
        "swap.healthCheckTimeout", "swap load timeout < gateway timeout", lambda r: add_swap(r, healthCheckTimeout=600)
    ),
    Row("models[4].name", "names differ in more than case", lambda r: add_llama(r, name="Coder-Chat", placement="cpu")),
    Row("models[4].name", "a CPU model's Service name is free", lambda r: add_llama(r, name="coder", placement="cpu")),
    Row(
        "models[4].weightsGiB",
        "a GGUF fits host RAM",
        lambda r: (add_pool(r, machine="g2-standard-4"), add_llama(r, pool="static-x", weightsGiB=14, gpuLayers=20)),
    ),
    Row(
        "models[4].weightsGiB",
        "a fully offloaded GGUF fits VRAM",
        lambda r: (add_pool(r), add_llama(r, pool="static-x", weightsGiB=22)),
    ),
    Row(
        "models[4].contextSize",
        "a fully offloaded GGUF's KV cache at contextSize fits beside it",
        lambda r: (
            add_pool(r),
            add_llama(
                r,
                pool="static-x",
                ggufRepo="unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF",
                weightsGiB=17.4,
                contextSize=131072,
            ),
        ),
    ),
    Row(
        "models[4].extraArgs",
        "a quantized cache's blocks divide the head size",
        lambda r: add_llama(
            r,
            placement="cpu",
            modelShape={"numHiddenLayers": 32, "numKeyValueHeads": 32, "headDim": 80},
            extraArgs=["--cache-type-k", "q8_0"],
        ),
    ),
    Row(
        "swap.exclusive",
        "exclusive: false needs every swap model to fit at once",
        lambda r: add_swap(r, models=3, weights=8, exclusive=False),
    ),
    Row(
        "swap.exclusive",
        "exclusive: false needs every swap model's GGUF, KV cache and buffers to fit one GPU",
        _three_8b_models_loaded_at_once,
    ),
    Row("swap.cacheGiB", "the swap cache holds every swap GGUF", lambda r: add_swap(r, cacheGiB=2)),
    Row(
        "images.llamaSwap",
        "static and swap servers run one llama.cpp build",
        lambda r: r.update(images={"llamaSwap": "ghcr.io/mostlygeek/llama-swap:v200-cuda-b9000"}),
    ),
    # models/frontends.py (cross-field)
    Row(
        "frontends.tabby.model",
        "a front-end's model is in the gateway",
        lambda r: setv(r["frontends"]["tabby"], model="coder-fim-2"),
    ),
    Row(
        "frontends.tabby.model",
        "Tabby's model is mode: completion",
        lambda r: setv(r["frontends"]["tabby"], model="coder-chat"),
    ),
    Row(
        "frontends.librechat.models",
        "LibreChat has a chat model to list",
        lambda r: (
            librechat(r),
            unregister_chat_models(r),
            r["gateway"].update(keys=[], smokeTest={}),
            r["frontends"].pop("openWebui"),
            r["frontends"].pop("tabby"),
        ),
    ),
    Row(
        "frontends.openWebui.key",
        "a front-end's key is declared",
        lambda r: setv(r["frontends"]["openWebui"], key="webui"),
    ),
    Row(
        "frontends.tabby.key",
        "a key alias, never a key value",
        lambda r: setv(r["frontends"]["tabby"], key="sk-1234abcd"),
    ),
    Row(
        "gateway.keys[1].namespace",
        "a front-end's key is stored beside it",
        lambda r: setv(key(r, "tabby"), namespace="dev-tools"),
    ),
    Row(
        "gateway.keys[1].models",
        "a front-end's key covers its models",
        lambda r: setv(key(r, "tabby"), models=["embeddings"]),
    ),
    Row(
        "gateway.keys[0].models",
        "Open WebUI's key covers a chat model",
        lambda r: setv(key(r, "open-webui"), models=["coder-fim"]),
    ),
    Row(
        "frontends.librechat.titleModel",
        "LibreChat's title model is listed",
        lambda r: librechat(r, models=["coder-chat"], titleModel="coder-agent"),
    ),
]
