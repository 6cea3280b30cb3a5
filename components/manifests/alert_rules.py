"""The platform's alert rules as plain dicts (Prometheus rule format), built from the stack config.

Three groups, by where their series live: `gateway` (LiteLLM and CNPG, the gateway namespace), `serving` (vLLM,
the serving namespace) and `cluster` (kube-state-metrics and DCGM, written by cluster-wide exporters; the
failed-Job alerts are in alert_rules_jobs.py).
docs/operations/alerts.md has each alert's runbook; components/manifests/metric_sources.py where each metric
name comes from. Thresholds: models/alerts.py.
"""

from typing import Any

from models.platform import PlatformConfig
from models.pricing import HOURS_PER_MONTH, node_price

from . import keys
from . import workloads as wl
from .alert_rule import rule
from .alert_rules_jobs import job_rules
from .promql import agg, binop, compare, increase, one_of, quantile, rate, sel

GATEWAY, SERVING, CLUSTER = "gateway", "serving", "cluster"
WINDOW = "10m"
# Waiting reasons of a container that will not get better by itself.
STUCK_REASONS = ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "Error"]
BACKUP_METRIC = "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"


def _seconds(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h" if s % 3600 == 0 else f"{s // 60}m" if s % 60 == 0 else f"{s}s"


def cron_period_seconds(schedule: str) -> int:
    """Time between two runs of a cron schedule (5 fields, or CNPG's 6 with seconds first), for the common
    shapes: N runs a day, hourly, weekly, monthly. A shape it cannot read counts as daily."""
    fields = schedule.split()
    if len(fields) == 6:
        fields = fields[1:]
    minute, hour, dom, _, dow = fields

    def count(field: str, span: int) -> int:
        if field.startswith("*/"):
            return max(1, span // int(field[2:]))
        return 1 if field == "*" else len(field.split(","))

    if minute == "*":
        return 60
    if hour == "*":
        return 3600 // count(minute, 60)
    if dom == "*" and dow == "*":
        return 86400 // count(hour, 24)
    if dow != "*":
        return 7 * 86400 // count(dow, 7)
    return 31 * 86400


# ---- gateway: LiteLLM and CNPG --------------------------------------------------------------------------------


def gateway_rules(cfg: PlatformConfig) -> list[dict[str, Any]]:
    ns, th = cfg.namespaces.gateway, cfg.alerts
    routed = [m.name for m in cfg.models if m.register_in_gateway]
    out: list[dict[str, Any]] = []
    if routed:
        total = "litellm_proxy_total_requests_metric_total"
        errors = agg(
            "sum", rate(sel(total, namespace=ns, status_code="~50[0-24-9]|5[1-9][0-9]"), WINDOW), ["requested_model"]
        )
        requests = agg("sum", rate(sel(total, namespace=ns), WINDOW), ["requested_model"])
        out.append(
            rule(
                "GatewayErrorRatioHigh",
                compare(binop(errors, "/", requests), ">", th.gateway_error_ratio),
                WINDOW,
                "warning",
                "Model {{ $labels.requested_model }}: {{ $value | humanizePercentage }} of gateway requests fail with 5xx",
                "More than alerts.gatewayErrorRatio of the requests for this model end in a 5xx other than 503 "
                "(503 is the availability refusal, see ModelRequestedWhileUnavailable). Read the gateway log "
                "(kubectl -n " + ns + " logs deploy/litellm) and the model's pod log; a crashing or OOM-killed model "
                "pod also raises ModelNotReady.",
            )
        )
        for name in routed:
            limit = th.latency_p95_seconds_by_model.get(name, th.latency_p95_seconds)
            bucket = rate(
                sel("litellm_request_total_latency_metric_bucket", namespace=ns, requested_model=name), WINDOW
            )
            out.append(
                rule(
                    "GatewayLatencyP95High",
                    compare(quantile(0.95, bucket, ["requested_model"]), ">", limit),
                    WINDOW,
                    "warning",
                    "Model {{ $labels.requested_model }}: p95 latency {{ $value | humanizeDuration }} through the gateway",
                    f"p95 of the gateway's end-to-end latency for this model is above {limit:g} s "
                    "(alerts.latencyP95Seconds, or alerts.latencyP95SecondsByModel). Check the model's queue "
                    "(VllmQueueBacklog, dashboard 'queue depth'): add replicas, or lower max tokens per request.",
                    model=name,
                )
            )
        refused = sel("litellm_proxy_failed_requests_metric_total", namespace=ns, exception_status="503")
        out.append(
            rule(
                "ModelRequestedWhileUnavailable",
                compare(agg("sum", increase(refused, WINDOW), ["requested_model"]), ">", 0),
                "5m",
                "warning",
                "Model {{ $labels.requested_model }} is asked for but has no ready pod (503)",
                "The gateway refused requests for this model with 503 because no pod answers: it is scaled to "
                "zero (replicas: 0 or scaleToZero) or still starting. If someone needs it, scale it up "
                "(pulumi config set --path 'llm-platform:models[N].replicas' 1 && pulumi up); otherwise tell the "
                "client to use another model.",
            )
        )
    if any(k.max_budget for k in cfg.gateway.keys):
        remaining = agg("max", sel("litellm_remaining_api_key_budget_metric", namespace=ns), ["api_key_alias"])
        budget = compare(agg("max", sel("litellm_api_key_max_budget_metric", namespace=ns), ["api_key_alias"]), ">", 0)
        spent = binop("1", "-", binop(remaining, "/", budget))
        out.append(
            rule(
                "KeyBudgetNearlySpent",
                compare(compare(spent, ">=", th.budget_warn_ratio), "<", 1),
                "5m",
                "warning",
                "Key {{ $labels.api_key_alias }} has spent {{ $value | humanizePercentage }} of its budget",
                "The key will be refused (400 budget exceeded) when it reaches its maxBudget, until the "
                "budgetDuration resets it. Raise gateway.keys[].maxBudget and run pulumi up, or warn its users.",
            )
        )
        out.append(
            rule(
                "KeyBudgetExhausted",
                binop(compare(remaining, "<=", 0), "and on (api_key_alias)", budget),
                "1m",
                "critical",
                "Key {{ $labels.api_key_alias }} has spent its whole budget: its requests are refused",
                "Every request with this key is refused until budgetDuration resets the spend. Raise "
                "gateway.keys[].maxBudget and run pulumi up (the key reconciler updates the key in place).",
            )
        )
    if cfg.gateway.redis_mode != "none" and routed:
        failed = rate(sel("litellm_redis_failed_requests_total", namespace=ns), "5m")
        out.append(
            rule(
                "GatewayRedisUnreachable",
                compare(agg("sum", failed), ">", 0),
                "5m",
                "critical",
                "The gateway's Redis calls fail: shared rate limits fall back to per-process counting",
                "LiteLLM cannot reach Redis, so rpm/tpm limits are counted per worker (each admits the full "
                "limit) and the router's shared state is lost. Check the Redis pod or instance (stack output "
                "redis.address) and the NetworkPolicy between the gateway and Redis.",
            )
        )
    return out + database_rules(cfg)


def database_rules(cfg: PlatformConfig) -> list[dict[str, Any]]:
    db, ns, th = cfg.gateway.database, cfg.namespaces.gateway, cfg.alerts
    if db.mode != "cnpg":
        return []
    # Instance pods are <cluster>-<serial>: every declared Cluster (a restore runs two side by side).
    clusters = db.clusters
    pods = "~" + (clusters[0] if len(clusters) == 1 else "(" + "|".join(clusters) + ")") + "-[0-9]+"
    out = []
    if db.backup.on:
        failed = sel("cnpg_pg_stat_archiver_last_failed_time", namespace=ns, pod=pods)
        archived = sel("cnpg_pg_stat_archiver_last_archived_time", namespace=ns, pod=pods)
        out.append(
            rule(
                "DatabaseWalArchivingFailing",
                compare(binop(failed, "-", archived), ">", 1),
                "5m",
                "critical",
                "WAL archiving to the backup bucket fails on {{ $labels.pod }}",
                "The last WAL archive attempt failed after the last success: WAL piles up on the database disk "
                "(it fills and the database stops) and point-in-time recovery has a gap. Read the plugin "
                "sidecar's log (kubectl -n " + ns + " logs {{ $labels.pod }} -c plugin-barman-cloud) for the GCS "
                "error; usually the bucket, the Workload Identity binding, or a pod on a node without the GKE "
                "metadata server. A restored Cluster whose archive folder is not empty is refused too "
                "(restore.into must be a new name).",
            )
        )
        max_age = (
            th.backup_max_age_hours * 3600 if th.backup_max_age_hours else 2 * cron_period_seconds(db.backup.schedule)
        )
        # Per Cluster (label_replace: pod <cluster>-<n> -> cluster), so a restored Cluster without a first backup
        # fires while the old one's backups are fresh. The plugin reports 0 before any backup completed.
        per_pod = sel(BACKUP_METRIC, namespace=ns, pod=pods)
        last = agg("max", f'label_replace({per_pod}, "cluster", "$1", "pod", "(.+)-[0-9]+")', ["cluster"])
        out.append(
            rule(
                "DatabaseBackupTooOld",
                compare(binop("time()", "-", last), ">", max_age),
                "10m",
                "critical",
                "The last base backup of database {{ $labels.cluster }} is {{ $value | humanizeDuration }} old",
                f"No base backup completed in {_seconds(max_age)} (twice the schedule "
                f"'{db.backup.schedule}', or alerts.backupMaxAgeHours); an age of decades means none ever did "
                "(a new or restored Cluster whose first backup failed). List them (kubectl -n "
                f"{ns} get backups.postgresql.cnpg.io -l cnpg.io/cluster={{{{ $labels.cluster }}}}) and read the "
                "failed one's status; start one by hand with kubectl cnpg backup -n "
                + ns
                + " {{ $labels.cluster }} --method plugin --plugin-name barman-cloud.cloudnative-pg.io.",
            )
        )
    size = agg("sum", sel("cnpg_pg_database_size_bytes", namespace=ns, pod=pods), ["pod"])
    wal = agg("sum", sel("cnpg_collector_pg_wal", namespace=ns, pod=pods, value="size"), ["pod"])
    capacity = db.storage_gib * 2**30
    out.append(
        rule(
            "DatabaseDiskFilling",
            compare(binop(binop(size, "+ on (pod)", wal), "/", str(capacity)), ">", th.database_disk_ratio),
            "15m",
            "warning",
            "Database {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its disk",
            f"Datafiles plus pg_wal exceed alerts.databaseDiskRatio of gateway.database.storageGiB "
            f"({db.storage_gib} GiB). A full disk stops the database and with it key checks and spend. "
            "Raise storageGiB and run pulumi up (the PVC grows in place on standard-rwo/premium-rwo); check "
            "DatabaseWalArchivingFailing first, as unarchived WAL is the usual cause.",
        )
    )
    if db.instances > 1:
        lag = agg("max", sel("cnpg_pg_replication_lag", namespace=ns, pod=pods), ["pod"])
        out.append(
            rule(
                "DatabaseReplicationLag",
                compare(lag, ">", th.replication_lag_seconds),
                "5m",
                "warning",
                "Standby {{ $labels.pod }} replays {{ $value | humanizeDuration }} behind the primary",
                "A failover now would lose the transactions not yet replayed. Check the standby's pod and disk "
                "(kubectl cnpg status -n " + ns + " " + db.cluster + "), and DatabaseDiskFilling.",
            )
        )
    return out


# ---- serving: vLLM --------------------------------------------------------------------------------------------


def serving_rules(cfg: PlatformConfig) -> list[dict[str, Any]]:
    if not any(m.engine == "vllm" for m in cfg.models):
        return []
    waiting = agg("max", sel("vllm:num_requests_waiting", namespace=cfg.namespaces.serving), ["model_name"])
    return [
        rule(
            "VllmQueueBacklog",
            compare(waiting, ">", cfg.alerts.vllm_queue_depth),
            WINDOW,
            "warning",
            "vLLM model {{ $labels.model_name }} has {{ $value }} requests waiting",
            "Requests queue in the engine (KV cache full or too many at once): latency grows for everyone. "
            "Add replicas (and maxNodes), lower maxModelLen, or move clients to another model.",
        )
    ]


# ---- cluster: kube-state-metrics and DCGM ---------------------------------------------------------------------


def model_ready_timeout(cfg: PlatformConfig) -> int:
    return cfg.alerts.model_ready_timeout_seconds or cfg.gateway.smoke_test.ready_timeout_seconds


def heal_overdue_seconds() -> int:
    """Two missed runs of the key reconciler CronJob, each with its deadline."""
    return 2 * cron_period_seconds(keys.HEAL_SCHEDULE) + 600


def cluster_rules(cfg: PlatformConfig) -> list[dict[str, Any]]:
    ns, gw, th = cfg.namespaces.serving, cfg.namespaces.gateway, cfg.alerts
    out: list[dict[str, Any]] = []
    backends = [b.name for b in wl.backends(cfg)]
    if backends:
        stuck = one_of(STUCK_REASONS)
        by = ["namespace", "pod", "container", "reason"]
        init = agg("max", sel("kube_pod_init_container_status_waiting_reason", namespace=ns, reason=stuck), by)
        main = agg("max", sel("kube_pod_container_status_waiting_reason", namespace=ns, reason=stuck), by)
        out.append(
            rule(
                "ModelPodFailing",
                binop(compare(init, ">", 0), "or", compare(main, ">", 0)),
                WINDOW,
                "critical",
                "Model pod {{ $labels.pod }}: container {{ $labels.container }} is stuck in {{ $labels.reason }}",
                "An init container (weight staging, GGUF fetch) or the server keeps failing, and the GPU node it "
                "holds keeps billing. kubectl -n " + ns + " logs {{ $labels.pod }} -c {{ $labels.container }} "
                "--previous shows why (a gated repo without hf-token, a model that does not fit, a wrong tag). "
                "Fix the config, or set the model's replicas: 0 to release the node.",
            )
        )
        wanted = compare(sel("kube_deployment_spec_replicas", namespace=ns, deployment=one_of(backends)), ">", 0)
        ready = compare(
            sel("kube_deployment_status_replicas_available", namespace=ns, deployment=one_of(backends)), "==", 0
        )
        timeout = model_ready_timeout(cfg)
        out.append(
            rule(
                "ModelNotReady",
                binop(wanted, "and on (namespace, deployment)", ready),
                _seconds(timeout),
                "critical",
                "Model Deployment {{ $labels.deployment }} wants replicas but none has been ready for "
                + _seconds(timeout),
                "Longer than alerts.modelReadyTimeoutSeconds (default gateway.smokeTest.readyTimeoutSeconds): the "
                "pod is Pending (no GPU node: quota, zone stock-out, maxNodes), still staging weights, or "
                "failing (see ModelPodFailing). kubectl -n " + ns + " describe deploy/{{ $labels.deployment }} and "
                "its pod's events say which.",
            )
        )
    if any(p.managed for p in cfg.node_pools):
        idle = compare(sel("DCGM_FI_DEV_FB_USED"), "<", th.gpu_idle_memory_mib)
        out.append(
            rule(
                "GpuIdleOnNode",
                idle,
                f"{th.stranded_gpu_minutes}m",
                "warning",
                "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} has held no model for "
                + f"{th.stranded_gpu_minutes} minutes",
                "The node is up and billing but no model has its weights on this GPU: a model pod that crash-loops "
                "or stages, or a node the autoscaler keeps (minNodes). Check ModelPodFailing and ModelNotReady; "
                "if nothing should run there, set the models on that pool to replicas: 0 or lower minNodes.",
            )
        )
        if cfg.cost.alert_monthly_usd is not None:
            per_gpu = max(
                node_price(p.machine_type, p.spot, cfg.pricing)[0] / p.shape.gpus for p in cfg.node_pools if p.managed
            )
            gpus = agg("count", sel("DCGM_FI_DEV_GPU_UTIL"))
            out.append(
                rule(
                    "GpuCostRunRateHigh",
                    compare(
                        binop(gpus, "*", repr(round(per_gpu * HOURS_PER_MONTH, 4))), ">", cfg.cost.alert_monthly_usd
                    ),
                    "30m",
                    "warning",
                    "GPUs powered now cost {{ $value | humanize }} USD per month at this rate",
                    f"The GPUs up for 30 minutes, at the dearest pool's price per GPU ({per_gpu:.4f} USD/GPU-hour, "
                    f"{HOURS_PER_MONTH} h/month), exceed cost.alertMonthlyUsd ({cfg.cost.alert_monthly_usd:g} USD). "
                    "Scale idle models to replicas: 0 (or scaleToZero: true) and check GpuIdleOnNode.",
                )
            )
    if cfg.gateway.keys:
        cronjob = {"namespace": gw, "cronjob": keys.HEAL_NAME}
        overdue = heal_overdue_seconds()
        last_ok = sel("kube_cronjob_status_last_successful_time", **cronjob)
        never = binop(
            compare(binop("time()", "-", sel("kube_cronjob_created", **cronjob)), ">", overdue),
            "unless on (namespace, cronjob)",
            last_ok,
        )
        out.append(
            rule(
                "KeyReconcilerFailing",
                binop(compare(binop("time()", "-", last_ok), ">", overdue), "or", never),
                "5m",
                "warning",
                "The key reconciler CronJob " + keys.HEAL_NAME + " has not succeeded twice in a row",
                "Virtual keys are no longer healed: a key deleted in the UI or lost in a database restore stays "
                f"missing and its clients get 401. kubectl -n {gw} logs job/<last {keys.HEAL_NAME} job> says why "
                "(gateway down, master key changed, database unavailable).",
            )
        )
    return out + job_rules(cfg)


def rule_groups(cfg: PlatformConfig) -> dict[str, list[dict[str, Any]]]:
    """group -> rules; a group without rules is left out. Empty when alerts are off."""
    if not cfg.alerts_enabled():
        return {}
    groups = {GATEWAY: gateway_rules(cfg), SERVING: serving_rules(cfg), CLUSTER: cluster_rules(cfg)}
    return {name: rules for name, rules in groups.items() if rules}


def group_namespace(cfg: PlatformConfig, group: str) -> str | None:
    """Where a group's object lives: the namespace holding its series, None for cluster-wide (GMP ClusterRules)."""
    return {GATEWAY: cfg.namespaces.gateway, SERVING: cfg.namespaces.serving}.get(group)


def every_expr(groups: dict[str, list[dict[str, Any]]]) -> list[str]:
    return [r["expr"] for rules in groups.values() for r in rules]
