"""LiteLLMGateway: master key, salt key, shared upstream key, config.yaml ConfigMap, Deployment and Service."""

import pulumi
import pulumi_random as random

from components.k8s import apply, child
from components.manifests import database, vllm
from components.manifests import gateway as gw
from components.manifests import gateway_migrate as migrate
from components.manifests.common import metadata
from models.alerts import SECRETS_NAMESPACE
from models.platform import PlatformConfig


def _secret(name: str, namespace: str, data: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": metadata(name, namespace, "gateway"),
        "stringData": data,
    }


def salt_value(generated: pulumi.Output[str]) -> pulumi.Output[str]:
    """The salt a new Secret gets: `llm-platform-secrets:saltKey` when set (a new stack over a kept database
    carries the old value, docs/concepts/keys.md), else the stack's own generated one."""
    carried = pulumi.Config(SECRETS_NAMESPACE).get_secret("saltKey")
    return carried if carried is not None else generated


class LiteLLMGateway(pulumi.ComponentResource):
    url: pulumi.Output[str]
    master_key: pulumi.Output[str]
    config_yaml: pulumi.Output[str]

    def __init__(self, name: str, spec: PlatformConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-platform:gateway:LiteLLMGateway", name, None, opts)
        ns = spec.namespaces
        # Every generated credential is protected, like the salt: `pulumi destroy --exclude-protected` keeps it, so
        # the `up` after it hands clients the same keys; rotating one is deliberate (docs/how-to/rotate-secrets.md).
        kept = child(self, protect=True)
        master = random.RandomPassword(f"{name}-master-key", length=40, special=False, opts=kept)
        upstream = random.RandomPassword(f"{name}-upstream-key", length=40, special=False, opts=kept)
        drain = random.RandomPassword(f"{name}-drain-token", length=32, special=False, opts=kept)
        master_key: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.concat("sk-", master.result))

        secrets = [
            apply(
                f"{name}-secrets",
                _secret(
                    gw.SECRET,
                    ns.gateway,
                    {
                        gw.MASTER_KEY_ENV: master_key,
                        gw.UPSTREAM_KEY_ENV: upstream.result,
                        gw.DRAIN_TOKEN_ENV: drain.result,
                    },
                ),
                child(self),
            ),
            # vLLM reads the same shared key in the serving namespace (seed 000: vllm-api-key/api-key).
            apply(
                f"{name}-upstream-serving",
                _secret(vllm.UPSTREAM_SECRET, ns.serving, {vllm.UPSTREAM_KEY: upstream.result}),
                child(self),
            ),
        ]
        if database.url_secret_ref(spec.gateway.database):
            # LITELLM_SALT_KEY encrypts what LiteLLM stores in its database (models, credentials): without it the
            # master key does, and a new master key or a new stack over the kept database cannot read them. Set
            # from the first deployment, never rotated (no keepers), protected and kept on delete.
            salt = random.RandomPassword(f"{name}-salt-key", length=48, special=False, opts=kept)
            secrets.append(
                apply(
                    f"{name}-salt-key",
                    _secret(gw.SALT_SECRET, ns.gateway, {gw.SALT_KEY_ENV: salt_value(salt.result)}),
                    # Written once: a kept Secret is adopted only with the value it holds (components/k8s.py), and
                    # no later change to the program or its state rewrites it.
                    child(self, protect=True, retain_on_delete=True, ignore_changes=["data", "stringData"]),
                )
            )
        config = apply(f"{name}-config", gw.configmap(spec), child(self))
        before_rollout = [config, *secrets]
        if (job := migrate.migration_job(spec)) is not None:
            if (backup := migrate.pre_migration_backup(spec)) is not None:  # awaited: status.phase completed
                # Retained, not protected: a record of one backup, replaced per image (protect would block that).
                before_rollout.append(apply(f"{name}-pre-migrate-backup", backup, child(self, retain_on_delete=True)))
            # A new name per image: the migration runs once before the Deployment rolls to that image, and a
            # failed one stops `up` there, with the old pods still serving.
            before_rollout.append(
                apply(
                    f"{name}-migrate",
                    job,
                    child(
                        self,
                        depends_on=before_rollout,
                        delete_before_replace=True,
                        custom_timeouts=pulumi.CustomTimeouts(create="20m", update="20m"),
                    ),
                )
            )
        apply(f"{name}-deployment", gw.deployment(spec), child(self, depends_on=before_rollout))
        apply(f"{name}-service", gw.gateway_service(spec), child(self))
        if (pdb := gw.disruption_budget(spec)) is not None:
            apply(f"{name}-pdb", pdb, child(self))

        self.url = pulumi.Output.from_input(gw.url(spec))
        self.master_key = master_key
        self.config_yaml = pulumi.Output.from_input(gw.config_yaml(spec))
        self.register_outputs({"url": self.url, "master_key": self.master_key, "config_yaml": self.config_yaml})
