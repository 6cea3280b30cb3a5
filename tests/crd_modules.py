"""The Go modules whose CRDs tests/test_crd_schema.py validates against (.ci/fetch_crds.sh downloads them).

CloudNativePG at the app version of the pinned operator chart (cloudnative-pg 0.26.1 = CNPG 1.27.1). The Barman
Cloud plugin at v0.13.0: the pinned chart plugin-barman-cloud 0.5.0 installs v0.11.0, which the module proxy
reachable here does not serve; the ObjectStore fields rendered exist unchanged from v0.7.0 to v0.13.0.
"""

CNPG = "github.com/cloudnative-pg/cloudnative-pg@v1.27.1"
BARMAN_PLUGIN = "github.com/cloudnative-pg/plugin-barman-cloud@v0.13.0"
MODULES = (CNPG, BARMAN_PLUGIN)
# kind -> (module, CRD file inside it)
CRDS = {
    "Cluster": (CNPG, "config/crd/bases/postgresql.cnpg.io_clusters.yaml"),
    "ScheduledBackup": (CNPG, "config/crd/bases/postgresql.cnpg.io_scheduledbackups.yaml"),
    "ObjectStore": (BARMAN_PLUGIN, "config/crd/bases/barmancloud.cnpg.io_objectstores.yaml"),
}
