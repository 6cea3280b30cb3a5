"""Rule rows for each block's own rules (the stack file and field types: scripts/rule_rows_fields.py).

One minimal edit of the dev stack per rule (see scripts/rule_edits.py for Row, FileRow and the helpers).
"""

from scripts.rule_edits import (
    Row,
    add_external,
    add_llama,
    backup,
    drop,
    key,
    librechat,
    model,
    peers,
    pool,
    setv,
)

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
    # models/cluster.py and models/maintenance.py: a created cluster's maintenance window and exclusions
    Row(
        "cluster.maintenance",
        "a maintenance window is for a created cluster",
        lambda r: setv(r["cluster"], maintenance={}),
    ),
    Row(
        "cluster.maintenance.startUtc",
        "the window starts at HH:MM UTC",
        lambda r: setv(r["cluster"], create=True, maintenance={"startUtc": "3am"}),
    ),
    Row(
        "cluster.maintenance.hours",
        "the window leaves GKE 48 h in 32 days",
        lambda r: setv(r["cluster"], create=True, maintenance={"days": ["SA"], "hours": 4}),
    ),
    Row(
        "cluster.maintenance.exclusions[0].start",
        "an exclusion's times are RFC 3339 UTC",
        lambda r: setv(
            r["cluster"], create=True, maintenance={"exclusions": [{"name": "x", "start": "soon", "end": "later"}]}
        ),
    ),
    Row(
        "cluster.maintenance.exclusions[0].end",
        "an exclusion ends after it starts",
        lambda r: setv(
            r["cluster"],
            create=True,
            maintenance={"exclusions": [{"name": "x", "start": "2026-12-20T00:00:00Z", "end": "2026-12-01T00:00:00Z"}]},
        ),
    ),
    Row(
        "cluster.maintenance.exclusions[0].end",
        "a NO_UPGRADES exclusion lasts at most 30 days",
        lambda r: setv(
            r["cluster"],
            create=True,
            maintenance={
                "exclusions": [
                    {
                        "name": "x",
                        "start": "2026-12-01T00:00:00Z",
                        "end": "2027-01-15T00:00:00Z",
                        "scope": "NO_UPGRADES",
                    }
                ]
            },
        ),
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
    Row(
        "nodePools[0].zones",
        "a regional cluster's GPU pool names its zone outside the L4 zone table",
        lambda r: (drop(pool(r), "zones"), setv(r["cluster"], location="me-central2")),
    ),
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
    Row(
        "models[3].flashAttn",
        "a quantized V cache needs flash attention",
        lambda r: setv(model(r, "embeddings"), flashAttn="off", extraArgs=["--cache-type-v", "q8_0"]),
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
        "gateway.database.walStorageGiB",
        "walStorageGiB only with mode cnpg",
        lambda r: r["gateway"].update(
            database={"mode": "existing", "urlSecret": {"name": "db", "key": "url"}, "walStorageGiB": 5}
        ),
    ),
    Row(
        "gateway.database.spendLogRetention",
        "spendLogRetention needs a database",
        lambda r: r["gateway"].update(
            database={"mode": "none", "spendLogRetention": "7d"}, storeModelInDb=False, keys=[]
        ),
    ),
    Row(
        "gateway.database.spendLogRetention",
        "spend-log retention is a LiteLLM duration",
        lambda r: r["gateway"].setdefault("database", {}).update(spendLogRetention="30 days"),
    ),
    Row(
        "gateway.runtimeModelEgress",
        "models added at run time need an egress allow-list",
        lambda r: drop(r["gateway"], "runtimeModelEgress"),
    ),
    Row(
        "gateway.runtimeModelEgress.ports",
        "runtime model ports are TCP ports",
        lambda r: r["gateway"]["runtimeModelEgress"].update(ports=[0]),
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
        "gateway.database.backup.lockBucketRetention",
        "a locked retention names its period",
        lambda r: setv(backup(r), lockBucketRetention=True),
    ),
    Row(
        "gateway.database.backup.bucketRetentionDays",
        "a bucket retention policy only on a created bucket",
        lambda r: setv(backup(r), createBucket=False, bucketRetentionDays=7),
    ),
    Row(
        "gateway.database.backup.bucketRetentionDays",
        "the bucket keeps objects no longer than the backup retention",
        lambda r: setv(backup(r), bucketRetentionDays=60),
    ),
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
