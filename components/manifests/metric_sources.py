"""Where every metric name the alert rules and dashboards read comes from, checked against the exporter's source
at the version the platform runs. docs/operations/alerts.md prints this table; tests fail on a name not in it.
tests/consumers/test_alert_metric_names.py checks the LiteLLM names on the real proxy's /metrics and the vLLM
names in vLLM 0.11's own logger.

Counters from Python's prometheus_client are exposed with a `_total` suffix, histograms as `_bucket`/`_sum`/
`_count`: the names below are the exposed series names.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    exporter: str
    where: str  # the file or page the names were read from
    scraped_by: str  # what makes the series exist in the stack's Prometheus


LITELLM = Source(
    "LiteLLM 1.102.4 `prometheus` callback (gateway /metrics on 4000)",
    "litellm/integrations/prometheus.py and litellm/types/integrations/prometheus.py of litellm==1.102.4 "
    "(labels: PrometheusMetricLabels); https://docs.litellm.ai/docs/proxy/prometheus",
    "the gateway's PodMonitoring/ServiceMonitor (components/manifests/observability.py)",
)
LITELLM_SERVICES = Source(
    "LiteLLM 1.102.4 `prometheus_system` service callback",
    "litellm/integrations/prometheus_services.py (f'litellm_{service}_{type_of_request}', service 'redis', "
    "labels redis/error_class/function_name) and litellm/types/services.py of litellm==1.102.4",
    "the gateway's scrape, with litellm_settings.service_callback: [prometheus_system] (set when Redis is used)",
)
VLLM = Source(
    "vLLM 0.11 V1 engine (`vllm:` prefix, label model_name = served model name)",
    "vllm/v1/metrics/loggers.py (PrometheusStatLogger) of vllm 0.11.0; https://docs.vllm.ai/en/v0.11.0/design/metrics.html "
    "(kv_cache_usage_perc replaced gpu_cache_usage_perc in the V1 engine)",
    "each vLLM model's PodMonitoring/ServiceMonitor",
)
CNPG = Source(
    "CloudNativePG 1.27.1 instance exporter (port 9187)",
    "pkg/management/postgres/webserver/metricserver/pg_collector.go (cnpg_collector_*) and "
    "config/manager/default-monitoring.yaml (cnpg_pg_* default queries) of github.com/cloudnative-pg/cloudnative-pg@v1.27.1",
    "a PodMonitoring/ServiceMonitor on the CNPG instance pods (issue 20 adds it; until then these rules stay silent)",
)
BARMAN = Source(
    "Barman Cloud plugin (metrics served through the CNPG instance exporter)",
    "internal/cnpgi/instance/metrics.go of github.com/cloudnative-pg/plugin-barman-cloud@v0.13.0: "
    "'<plugin name with . and - as _>_last_available_backup_timestamp', plugin barman-cloud.cloudnative-pg.io",
    "the CNPG instance scrape, as above",
)
KSM = Source(
    "kube-state-metrics v2 (GKE's managed kube state metrics package, or kube-prometheus-stack's)",
    "https://cloud.google.com/kubernetes-engine/docs/how-to/kube-state-metrics (package: Pods, Deployments, "
    "...); kube-state-metrics docs/metrics/workload/{pod,deployment,cronjob,job}-metrics.md and "
    "internal/store/job.go (kube_job_failed: labels job_name, namespace, condition true/false/unknown)",
    "GKE: the package (on by default from 1.29); CronJob and Job series need a self-deployed kube-state-metrics",
)
DCGM = Source(
    "NVIDIA DCGM exporter (GKE managed DCGM metrics package, or dcgm-exporter)",
    "https://cloud.google.com/kubernetes-engine/docs/how-to/dcgm-metrics; dcgm-exporter "
    "etc/default-counters.csv (DCGM_FI_DEV_GPU_UTIL %, DCGM_FI_DEV_FB_USED MiB, labels gpu/UUID/Hostname/modelName)",
    "GKE: the DCGM package (on by default for new clusters from 1.32.1-gke.1357000)",
)

METRICS: dict[str, Source] = {
    "litellm_proxy_total_requests_metric_total": LITELLM,
    "litellm_proxy_failed_requests_metric_total": LITELLM,
    "litellm_request_total_latency_metric_bucket": LITELLM,
    "litellm_spend_metric_total": LITELLM,
    "litellm_output_tokens_metric_total": LITELLM,
    "litellm_remaining_api_key_budget_metric": LITELLM,
    "litellm_api_key_max_budget_metric": LITELLM,
    "litellm_redis_failed_requests_total": LITELLM_SERVICES,
    "litellm_redis_total_requests_total": LITELLM_SERVICES,
    "vllm:num_requests_running": VLLM,
    "vllm:num_requests_waiting": VLLM,
    "vllm:kv_cache_usage_perc": VLLM,
    "vllm:generation_tokens_total": VLLM,
    "vllm:e2e_request_latency_seconds_bucket": VLLM,
    "cnpg_pg_stat_archiver_last_failed_time": CNPG,
    "cnpg_pg_stat_archiver_last_archived_time": CNPG,
    "cnpg_pg_database_size_bytes": CNPG,
    "cnpg_collector_pg_wal": CNPG,
    "cnpg_pg_replication_lag": CNPG,
    "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp": BARMAN,
    "kube_deployment_spec_replicas": KSM,
    "kube_deployment_status_replicas_available": KSM,
    "kube_pod_container_status_waiting_reason": KSM,
    "kube_pod_init_container_status_waiting_reason": KSM,
    "kube_cronjob_status_last_successful_time": KSM,
    "kube_cronjob_created": KSM,
    "kube_job_failed": KSM,
    "DCGM_FI_DEV_GPU_UTIL": DCGM,
    "DCGM_FI_DEV_FB_USED": DCGM,
}


def source_rows() -> list[tuple[str, Source]]:
    return sorted(METRICS.items())
