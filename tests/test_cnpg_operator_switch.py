"""gateway.database.operator: `existing` declares the CNPG Cluster without installing the operator chart.

(The backup's own charts, cert-manager and the Barman Cloud plugin, are another switch: only the operator's
release is looked at here.)"""

import pytest
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from models import ConfigError, parse_config

pytestmark = pytest.mark.usefixtures("capture")


def declared_types(capture, dev_raw, **database):
    from components.gateway_database import GatewayDatabase

    dev_raw["gateway"]["database"] = {**dev_raw["gateway"].get("database", {}), "mode": "cnpg", **database}
    cfg = parse_config(dev_raw)
    _sync_await(run_pulumi_func(lambda: GatewayDatabase("db", cfg)))
    return [r.type for r in capture.resources if "cnpg-operator" in r.name or "Release" not in r.type]


class TestCnpgOperatorSwitch:
    def test_install_declares_the_chart_and_the_cluster(self, capture, dev_raw):
        types = declared_types(capture, dev_raw)
        assert "kubernetes:helm.sh/v3:Release" in types
        assert "kubernetes:postgresql.cnpg.io/v1:Cluster" in types

    def test_existing_declares_only_the_cluster(self, capture, dev_raw):
        types = declared_types(capture, dev_raw, operator="existing")
        assert "kubernetes:helm.sh/v3:Release" not in types
        assert "kubernetes:postgresql.cnpg.io/v1:Cluster" in types

    def test_operator_without_cnpg_is_a_config_error(self, dev_raw):
        dev_raw["gateway"].update(database={"mode": "none", "operator": "existing"}, storeModelInDb=False, keys=[])
        dev_raw.pop("frontends", None)
        dev_raw["gateway"]["smokeTest"] = {"enabled": False}
        with pytest.raises(ConfigError, match=r"gateway\.database\.operator: only applies to mode 'cnpg'"):
            parse_config(dev_raw)
