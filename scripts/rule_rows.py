"""The rows of scripts/rule_table.py: one minimal edit of the dev stack per validation rule.

A Row edits the llm-platform:* tree in place (or returns a replacement); `path` is the key path the expected
line starts with, `rule` a short name for the README. A FileRow writes a damaged stack file instead.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Row:
    path: str
    rule: str
    edit: Callable[[dict[str, Any]], Any]  # edits in place; its return value is ignored ...
    replaces: bool = False  # ... unless this is set: then it is the whole config


@dataclass(frozen=True)
class FileRow:
    rule: str
    write: Callable[[Path, str], str]  # (tmp dir, dev stack text) -> the file name to read
    path: str = "stack file "


# --- edit helpers: everything is found by name, so a reordered dev stack keeps its rows --------------------


def model(r, name="coder-chat") -> dict:
    return next(m for m in r["models"] if m["name"] == name)


def key(r, alias) -> dict:
    return next(k for k in r["gateway"]["keys"] if k["alias"] == alias)


def pool(r) -> dict:
    return r["nodePools"][0]


def add_pool(r, name="static-x", machine="g2-standard-8", **extra) -> dict:
    p = {"name": name, "machineType": machine, "maxNodes": 1, "role": name, "zones": ["us-central1-a"], **extra}
    r["nodePools"].append(p)
    return p


def add_llama(r, name="Llama-X", placement="static", **extra) -> dict:
    """A llama model outside the gateway (so no key or smoke test must cover it)."""
    m = {
        "name": name,
        "engine": "llamacpp",
        "placement": placement,
        "ggufRepo": "org/model-GGUF",
        "quant": "Q4_K_M",
        "weightsGiB": 5,
        "registerInGateway": False,
        **extra,
    }
    r["models"].append(m)
    return m


def add_swap(r, models=1, weights=5.0, **swap) -> None:
    add_pool(r, name="swap")
    r["swap"] = {"pool": "swap", **swap}
    for i in range(models):
        add_llama(r, name=f"Swap-{i}", placement="swap", weightsGiB=weights)


def add_external(r, **extra) -> dict:
    m = {
        "name": "ext-model",
        "engine": "external",
        "apiBase": "https://models.example.com/v1",
        "litellmModel": "openai/granite",
        "registerInGateway": False,
        **extra,
    }
    r["models"].append(m)
    return m


def librechat(r, **extra) -> dict:
    r["frontends"]["librechat"] = {
        "key": "open-webui",
        "mongoUriSecret": {"name": "librechat-mongo", "key": "uri"},
        **extra,
    }
    return r


def peers(r, *entries) -> None:
    r["network"] = {"gatewayIngressFrom": list(entries)}


def backup(r) -> dict:
    return r["gateway"]["database"]["backup"]


def setv(obj: dict, **values) -> dict:
    obj.update(values)
    return obj


def drop(obj: dict, *keys) -> dict:
    for k in keys:
        obj.pop(k, None)
    return obj


def unregister_chat_models(r) -> dict:
    for m in r["models"]:
        if m.get("mode", "chat") == "chat":
            m["registerInGateway"] = False
    return r


def _write(path: Path, data: str | bytes) -> str:
    """Write a stack file into the temp dir; its name is what the row reads."""
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path.name


def _mkdir(path: Path) -> str:
    path.mkdir()
    return path.name


# --- the rows ------------------------------------------------------------------------------------------------

FILE_ROWS = [
    FileRow("the stack file exists", lambda tmp, text: "Pulumi.missing.yaml"),
    FileRow("the stack file is readable", lambda tmp, text: _mkdir(tmp / "Pulumi.dir.yaml")),
    FileRow(
        "the stack file is UTF-8",
        lambda tmp, text: _write(tmp / "Pulumi.latin1.yaml", text.replace("ai-dev", "caf\xe9").encode("latin-1")),
    ),
    FileRow("the stack file is YAML", lambda tmp, text: _write(tmp / "Pulumi.bad.yaml", "config:\n  a: [\n")),
    FileRow("the stack file has a config: mapping", lambda tmp, text: _write(tmp / "Pulumi.list.yaml", "- config\n")),
]

FIELD_ROWS = [
    Row("stack config", "the config is a mapping (parse_config's input)", lambda r: ["cluster"], replaces=True),
    # Checks every field gets from its type (models/load.py words them).
    Row("nodePools[0].maxNodes", "a required key is set", lambda r: drop(pool(r), "maxNodes")),
    Row("nodePools[0].maxNode", "no unknown key (typos)", lambda r: setv(pool(r), maxNode=2)),
    Row(
        "models[0].extraArgs[0]",
        "no credential anywhere in stack config (it is in git)",
        lambda r: setv(model(r), extraArgs=["--hf-token=hf_" + "AbCdEfGhIjKlMnOpQrStUvWx"]),
    ),
    Row("cluster.0", "keys are names, not YAML numbers/booleans/null", lambda r: r["cluster"].update({0: 1})),
    Row("cluster", "a block is a mapping", lambda r: r.update(cluster="ai-dev")),
    Row("nodePools", "a list is a list", lambda r: r.update(nodePools={"name": "l4-coder"})),
    Row("pricing", "a map is a map", lambda r: r.update(pricing=["g2-standard-8"])),
    Row("nodePools[0].maxNodes", "an integer is an integer", lambda r: setv(pool(r), maxNodes="two")),
    Row("nodePools[0].maxNodes", "no fraction where a count is needed", lambda r: setv(pool(r), maxNodes=1.5)),
    Row("models[0].weightsGiB", "a number is a number", lambda r: setv(model(r), weightsGiB="lots")),
    Row("models[0].cpuOffloadGB", "numbers are finite (no .inf/.nan)", lambda r: setv(model(r), cpuOffloadGB=math.inf)),
    Row("scaleToZero", "a boolean is a boolean", lambda r: r.update(scaleToZero="maybe")),
    Row("cluster.location", "a text value is text", lambda r: setv(r["cluster"], location=["us-central1"])),
    Row("nodePools[0].minNodes", "lower bounds (counts, sizes, prices)", lambda r: setv(pool(r), minNodes=-1)),
    Row("models[0].replicas", "upper bounds", lambda r: setv(model(r), replicas=65)),
    Row("models[0].weightsGiB", "sizes are positive", lambda r: setv(model(r), weightsGiB=0)),
    Row("models[0].dtype", "one of a fixed set of values", lambda r: setv(model(r), dtype="fp16")),
    Row(
        "gateway.keys[0].budgetDuration",
        "a value of a given form",
        lambda r: setv(key(r, "open-webui"), budgetDuration="30 days"),
    ),
    Row("models[0].modelName", "no empty text where a value is needed", lambda r: setv(model(r), modelName="")),
    Row(
        "gateway.keys[0].models",
        "no empty list where one item is needed",
        lambda r: setv(key(r, "open-webui"), models=[]),
    ),
    Row("models[4].apiBase", "a URL is a URL", lambda r: add_external(r, apiBase="models.example.com")),
    Row("models[0].engine", "a model's engine is known", lambda r: setv(model(r), engine="ollama")),
    Row("models[0]", "a model names its engine", lambda r: drop(model(r), "engine")),
]

BLOCK_ROWS = [
    # models/common.py
    Row("nodePools[0].name", "names fit derived Kubernetes names", lambda r: setv(pool(r), name="a" * 41)),
    Row("nodePools[0].role", "names are DNS-1123 labels", lambda r: setv(pool(r), role="Coder_Pool")),
    Row("images.vllm", "images are pinned", lambda r: r.update(images={"vllm": "vllm/vllm-openai"})),
    Row("images.litellm", "no :latest image", lambda r: r.update(images={"litellm": "ghcr.io/berriai/litellm:latest"})),
    # models/cluster.py
    Row("cluster.location", "a GKE cluster has a location", lambda r: drop(r["cluster"], "location")),
    Row("cluster.context", "context only with target: kubeconfig", lambda r: setv(r["cluster"], context="kind-kind")),
    Row("cluster.location", "GKE-only keys need target: gke", lambda r: setv(r["cluster"], target="kubeconfig")),
    Row("nodePools[0].managed", "AMD GPUs run on existing nodes", lambda r: setv(pool(r), gpuResource="amd.com/gpu")),
    Row("nodePools[0].vramGiB", "existing nodes declare their VRAM", lambda r: setv(pool(r), managed=False)),
    Row("nodePools[0].vramGiB", "a GKE pool's VRAM is the L4's", lambda r: setv(pool(r), vramGiB=24)),
    Row("nodePools[0].minNodes", "minNodes <= maxNodes", lambda r: setv(pool(r), minNodes=2)),
    Row("cluster.location", "a GKE location is a region or a zone", lambda r: setv(r["cluster"], location="iowa")),
    Row(
        "cluster.workloadIdentity",
        "a created cluster always has Workload Identity",
        lambda r: setv(r["cluster"], create=True, workloadIdentity=False),
    ),
    # models/zones.py
    Row("storageClass", "no legacy Immediate-binding class on GKE", lambda r: r.update(storageClass="standard")),
    Row("nodePools[0].zones[0]", "a zone is a zone name", lambda r: setv(pool(r), zones=["us-central1"])),
    Row(
        "nodePools[0].zones[0]",
        "a pool's zone is in the cluster's region",
        lambda r: setv(pool(r), zones=["europe-west4-a"]),
    ),
    Row(
        "nodePools[0].zones",
        "a GPU pool sits in one zone",
        lambda r: setv(pool(r), zones=["us-central1-a", "us-central1-b"]),
    ),
    Row("nodePools[0].zones", "a regional cluster's GPU pool names its zone", lambda r: drop(pool(r), "zones")),
    # models/serving.py
    Row("models[0].inputCostPerToken", "a gateway model has prices", lambda r: drop(model(r), "inputCostPerToken")),
    Row(
        "models[0].inputCostPerToken",
        "not both prices 0",
        lambda r: setv(model(r), inputCostPerToken=0, outputCostPerToken=0),
    ),
    Row(
        "models[2].enableAutoToolChoice",
        "tool choice needs a parser",
        lambda r: setv(model(r, "coder-agent"), toolCallParser=""),
    ),
    Row("models[0].cacheGiB", "the vLLM cache holds the weights", lambda r: setv(model(r), cacheGiB=2)),
    Row(
        "models[0].extraArgs",
        "vLLM extraArgs leave platform flags alone",
        lambda r: setv(model(r), extraArgs=["--port=9000"]),
    ),
    # models/llamacpp.py
    Row("models[3].name", "llama model names are IDs", lambda r: setv(model(r, "embeddings"), name="my model")),
    Row("models[3].ggufRepo", "ggufRepo is org/repo", lambda r: setv(model(r, "embeddings"), ggufRepo="nomic")),
    Row("models[3].quant", "quant is a file-name token", lambda r: setv(model(r, "embeddings"), quant="Q8 0")),
    Row(
        "models[3].ggufFile",
        "ggufFile is a path in the repo",
        lambda r: setv(model(r, "embeddings"), ggufFile="../x.gguf"),
    ),
    Row("models[3].gpuLayers", "gpuLayers is all or 0-999", lambda r: setv(model(r, "embeddings"), gpuLayers=-1)),
    Row("models[3].pool", "a CPU model has no pool", lambda r: setv(model(r, "embeddings"), pool="l4-coder")),
    Row("models[3].replicas", "a CPU model runs 0 or 1 pod", lambda r: setv(model(r, "embeddings"), replicas=2)),
    Row("models[4].pool", "a static llama model names its pool", add_llama),
    Row(
        "models[4].replicas",
        "a static llama model runs 0 or 1 pod",
        lambda r: add_llama(r, pool="l4-coder", replicas=2),
    ),
    Row(
        "models[4].cacheGiB", "swap models share the swap cache", lambda r: add_llama(r, placement="swap", cacheGiB=10)
    ),
    Row("models[3].quant", "a GGUF source is named", lambda r: drop(model(r, "embeddings"), "quant")),
    Row(
        "models[3].ggufFile",
        "ggufFile matches quant",
        lambda r: setv(model(r, "embeddings"), ggufFile="nomic-embed-text-v1.5.f16.gguf"),
    ),
    Row(
        "models[3].cacheGiB",
        "the llama cache holds the GGUF",
        lambda r: setv(model(r, "embeddings"), weightsGiB=3, cacheGiB=2),
    ),
    Row(
        "models[3].extraArgs",
        "llama extraArgs leave owned flags alone",
        lambda r: setv(model(r, "embeddings"), extraArgs=["--ctx-size", "4096"]),
    ),
    Row(
        "models[3].extraArgs",
        "an embedding model's physical batch is its context",
        lambda r: setv(model(r, "embeddings"), extraArgs=["--ubatch-size", "512"]),
    ),
    # models/external.py
    Row(
        "models[4].litellmModel",
        "an external model is provider/model",
        lambda r: add_external(r, litellmModel="granite"),
    ),
    # models/gateway.py
    Row(
        "gateway.database.urlSecret",
        "database mode existing needs urlSecret",
        lambda r: r["gateway"].update(database={"mode": "existing"}),
    ),
    Row(
        "gateway.database.urlSecret",
        "urlSecret only with mode existing",
        lambda r: r["gateway"].update(database={"urlSecret": {"name": "db", "key": "url"}}),
    ),
    Row(
        "gateway.database.operator",
        "operator only with mode cnpg",
        lambda r: r["gateway"].update(database={"mode": "none", "operator": "existing"}, storeModelInDb=False, keys=[]),
    ),
    Row(
        "gateway.redis.host",
        "an external Redis names its host",
        lambda r: r["gateway"].update(redis={"mode": "external"}),
    ),
    Row(
        "gateway.redis.host",
        "host and passwordSecret only with an external Redis",
        lambda r: r["gateway"].update(redis={"mode": "incluster", "host": "10.0.0.3"}),
    ),
    Row(
        "gateway.keys[0].rpmLimit",
        "key rpm/tpm limits across processes need Redis",
        lambda r: (r["gateway"].update(redis={"mode": "none"}), r["gateway"]["keys"][0].update(rpmLimit=60)),
    ),
    Row(
        "gateway.keys[1].budgetDuration", "a budget period needs a budget", lambda r: drop(key(r, "tabby"), "maxBudget")
    ),
    Row("gateway.smokeTest.key", "the smoke test names a key", lambda r: drop(r["gateway"]["smokeTest"], "key")),
    Row(
        "gateway.storeModelInDb",
        "storeModelInDb needs a database",
        lambda r: r["gateway"].update(database={"mode": "none"}),
    ),
    Row(
        "gateway.keys",
        "keys need a database",
        lambda r: r["gateway"].update(database={"mode": "none"}, storeModelInDb=False),
    ),
    # models/database_backup.py
    Row("gateway.database.backup.bucket", "enabled backups name a bucket", lambda r: drop(backup(r), "bucket")),
    Row("gateway.database.backup.bucket", "a bucket is a bare GCS name", lambda r: setv(backup(r), bucket="gs://b/x")),
    Row("gateway.database.backup.bucket", "a GCS bucket name is valid", lambda r: setv(backup(r), bucket="My_Bucket")),
    Row(
        "gateway.database.backup.schedule", "CNPG's cron has 6 fields", lambda r: setv(backup(r), schedule="0 3 * * *")
    ),
    # models/pricing.py
    Row("pricing.g2-standard-8", "a price override sets a price", lambda r: r.update(pricing={"g2-standard-8": {}})),
    Row("pricing", "prices are for G2 shapes", lambda r: r.update(pricing={"n1-standard-4": {"onDemand": 0.2}})),
    Row(
        "pricing.g2-standard-8.spot",
        "spot is not dearer than on-demand",
        lambda r: r.update(pricing={"g2-standard-8": {"spot": 5}}),
    ),
    # models/network.py
    Row("network.dnsCidrs", "CIDRs have no host bits", lambda r: r.update(network={"dnsCidrs": ["10.0.0.1/8"]})),
    Row(
        "network.kubeDnsIp",
        "kube-dns's ClusterIP is an IP address",
        lambda r: r.update(network={"kubeDnsIp": "kube-dns"}),
    ),
    Row(
        "network.gatewayIngressFrom[0].podSelector.matchLabels",
        "label keys are valid",
        lambda r: peers(r, {"podSelector": {"matchLabels": {"-app": "proxy"}}}),
    ),
    Row(
        "network.gatewayIngressFrom[0].podSelector.matchLabels",
        "label values are valid",
        lambda r: peers(r, {"podSelector": {"matchLabels": {"app": "my proxy"}}}),
    ),
    Row(
        "network.gatewayIngressFrom[0].ipBlock.except",
        "ipBlock excepts lie inside its cidr",
        lambda r: peers(r, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}),
    ),
    Row(
        "network.gatewayIngressFrom[0].ipBlock",
        "a peer is pods or an IP block, not both",
        lambda r: peers(r, {"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {"matchLabels": {"app": "x"}}}),
    ),
    Row("network.gatewayIngressFrom[0]", "a peer selects something", lambda r: peers(r, {})),
    Row(
        "network.apiServer.ports", "ports are TCP ports", lambda r: r.update(network={"apiServer": {"ports": [70000]}})
    ),
    # models/observability.py
    Row(
        "observability.interval",
        "the scrape interval is a duration",
        lambda r: r.update(observability={"interval": "30 seconds"}),
    ),
    Row(
        "observability.interval", "the scrape interval is 5s-10m", lambda r: r.update(observability={"interval": "1s"})
    ),
    Row(
        "observability.prometheusNamespace",
        "ServiceMonitor keys need scrape: servicemonitor",
        lambda r: r.update(observability={"prometheusNamespace": "monitoring"}),
    ),
    # models/frontends.py (block rules)
    Row(
        "frontends.tabby.promptTemplate",
        "Tabby's template has both FIM slots",
        lambda r: setv(r["frontends"]["tabby"], promptTemplate="<fim>{prefix}"),
    ),
    Row(
        "frontends.librechat.mongoUriSecret",
        "LibreChat names its MongoDB",
        lambda r: r["frontends"].update(librechat={"key": "open-webui"}),
    ),
    Row(
        "frontends.librechat.endpointName",
        "LibreChat's endpoint is not a built-in name",
        lambda r: librechat(r, endpointName="openAI"),
    ),
]

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
        lambda r: setv(model(r, "coder-agent"), maxModelLen=65536),
    ),
    Row("models[0].modelShape", "the KV-cache sizing knows the model", lambda r: setv(model(r), modelName="acme/c-7b")),
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
        "gateway.database.restoreFrom",
        "restoreFrom is for mode: cnpg",
        lambda r: setv(
            r["gateway"]["database"],
            mode="existing",
            urlSecret={"name": "db", "key": "url"},
            backup={},
            restoreFrom={"bucket": "old-backups"},
        ),
    ),
    Row(
        "gateway.database.backup.serverName",
        "a restored cluster archives under a new name",
        lambda r: setv(r["gateway"]["database"], restoreFrom={"bucket": backup(r)["bucket"]}),
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
        "swap.exclusive",
        "exclusive: false needs every swap model to fit at once",
        lambda r: add_swap(r, models=3, weights=8, exclusive=False),
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

ROWS: list = FILE_ROWS + FIELD_ROWS + BLOCK_ROWS + CROSS_ROWS
