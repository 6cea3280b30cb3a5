"""The Go modules whose CRDs tests/test_crd_schema.py and tests/test_alert_objects.py validate against
(.ci/fetch_crds.sh downloads them).

CloudNativePG at the app version of the pinned operator chart (cloudnative-pg 0.26.1 = CNPG 1.27.1). The Barman
Cloud plugin at v0.13.0: the pinned chart plugin-barman-cloud 0.5.0 installs v0.11.0, which the module proxy
reachable here does not serve; the ObjectStore fields rendered exist unchanged from v0.7.0 to v0.13.0.
GKE Managed Prometheus (prometheus-engine) at v0.17.2, the release GKE's docs link for Rules (v0.15.3 is not
served here); prometheus-operator at v0.85.0, the one version the proxy lists.
"""

from e2e.assets import BARMAN_PLUGIN_MODULE as BARMAN_PLUGIN
from e2e.assets import CNPG_MODULE as CNPG
from e2e.assets import KEDA_MODULE as KEDA

GMP = "github.com/GoogleCloudPlatform/prometheus-engine@v0.17.2"
PROM_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
MODULES = (CNPG, BARMAN_PLUGIN, GMP, PROM_OPERATOR, KEDA)
# kind -> (module, CRD file inside it)
CNPG_CRDS = {
    "Cluster": (CNPG, "config/crd/bases/postgresql.cnpg.io_clusters.yaml"),
    "ScheduledBackup": (CNPG, "config/crd/bases/postgresql.cnpg.io_scheduledbackups.yaml"),
    "Backup": (CNPG, "config/crd/bases/postgresql.cnpg.io_backups.yaml"),
    "ObjectStore": (BARMAN_PLUGIN, "config/crd/bases/barmancloud.cnpg.io_objectstores.yaml"),
}
RULE_CRDS = {
    "Rules": (GMP, "charts/operator/crds/monitoring.googleapis.com_rules.yaml"),
    "ClusterRules": (GMP, "charts/operator/crds/monitoring.googleapis.com_clusterrules.yaml"),
    "PrometheusRule": (PROM_OPERATOR, "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"),
}
# The scrape objects (components/manifests/observability.py), from the same two modules.
SCRAPE_CRDS = {
    "PodMonitoring": (GMP, "charts/operator/crds/monitoring.googleapis.com_podmonitorings.yaml"),
    "ServiceMonitor": (PROM_OPERATOR, "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"),
}
# On-demand models' ScaledObject (components/manifests/scaling.py), KEDA at its chart's app version.
KEDA_CRDS = {"ScaledObject": (KEDA, "config/crd/bases/keda.sh_scaledobjects.yaml")}
CRDS = {**CNPG_CRDS, **RULE_CRDS, **SCRAPE_CRDS, **KEDA_CRDS}
