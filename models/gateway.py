"""The LiteLLM gateway block: proxy tuning, its database, and the virtual keys it mints."""

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .base import Spec
from .common import DnsName, ImageRef
from .database_backup import BackupSpec, GuaranteedResources
from .database_restore import DEFAULT_CLUSTER, RestoreSpec, declared_clusters
from .network import cidr

BudgetDuration = Field(default=None, pattern=r"^[1-9][0-9]*(s|m|h|d|mo)$")


class ResourcesSpec(Spec):
    cpu: str = "500m"
    memory: str = "1Gi"
    cpu_limit: str = "2"
    memory_limit: str = "2Gi"


# CNPG's 17.6 operand image (multi-arch index digest as pinned by several public deployments).
POSTGRES_IMAGE = (
    "ghcr.io/cloudnative-pg/postgresql:17.6@sha256:30b304a2e300ed80b6d1b740e4369e9b0f25599fb518de78c01fd9f25531791b"
)


class SecretRef(Spec):
    """A key of an existing Kubernetes Secret (never the value itself)."""

    name: DnsName
    key: str = Field(min_length=1, pattern=r"^[-._a-zA-Z0-9]+$")


class DatabaseSpec(Spec):
    """Postgres for keys, budgets and spend. `cnpg`: a CloudNativePG cluster; `existing`: a URL in a Secret."""

    mode: Literal["cnpg", "existing", "none"] = "cnpg"
    url_secret: SecretRef | None = None
    instances: int = Field(default=1, ge=1, le=5)
    storage_gib: int = Field(default=10, alias="storageGiB", ge=1, le=4096)
    # cnpg: WAL on its own volume, so a burst of WAL (or an archive that stalls) cannot fill the data volume.
    wal_storage_gib: int = Field(default=5, alias="walStorageGiB", ge=1, le=1024)
    # LiteLLM deletes LiteLLM_SpendLogs rows older than this (general_settings.maximum_spend_logs_retention_period;
    # LiteLLM's durations: <n>d, <n>w or <n>mo here). Budgets and key spend are kept on the keys themselves.
    spend_log_retention: str = "30d"

    @field_validator("spend_log_retention")
    @classmethod
    def _litellm_duration(cls, value: str) -> str:
        if not re.fullmatch(r"[1-9][0-9]*(d|w|mo)", value):
            raise ValueError(
                f"'{value}' is not a LiteLLM retention period; use days, weeks or months such as 30d, 4w or 3mo"
            )
        return value

    postgres_image: ImageRef = POSTGRES_IMAGE
    # Each Postgres instance pod (CNPG sets its security context itself: non-root, read-only root, no caps).
    resources: GuaranteedResources = GuaranteedResources()
    operator_chart_version: str = "0.26.1"
    backup: BackupSpec = BackupSpec()
    # cnpg: the Cluster the gateway reads (DATABASE_URL points at <cluster>-rw). Switching it after a restore
    # (restore.into) is one config change; the Secret's checksum rolls the gateway.
    cluster: DnsName = DEFAULT_CLUSTER
    restore: RestoreSpec | None = None
    # cnpg only. install: this stack installs the CloudNativePG operator (Helm chart, pinned above).
    # existing: an operator already runs in namespace cnpg-system (a cluster-wide install shared by stacks,
    # or the engine tier's harness, which cannot fetch the chart offline); the stack declares only the Cluster.
    operator: Literal["install", "existing"] = "install"

    @model_validator(mode="before")
    @classmethod
    def _restore_from_replaced(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("restoreFrom" in data or "restore_from" in data):
            raise ValueError(
                "restoreFrom: replaced by restore, which recovers into a new Cluster beside the live one "
                "(docs/how-to/backup-restore.md). A restoreFrom was read only when its Cluster was created: remove "
                "it (keep backup.serverName); to restore now set restore: {fromBackupOf: litellm-db, into: "
                "litellm-db-2}"
            )
        return data

    @property
    def clusters(self) -> list[str]:
        """cnpg: the Clusters the stack declares (`cluster` is the one the gateway reads)."""
        return declared_clusters(self.cluster, self.restore) if self.mode == "cnpg" else []

    @model_validator(mode="after")
    def _operator_for_cnpg(self) -> "DatabaseSpec":
        if self.mode != "cnpg" and "operator" in self.model_fields_set:
            raise ValueError(
                f"operator: only applies to mode 'cnpg' (mode is '{self.mode}'); remove it or set mode: cnpg"
            )
        return self

    @model_validator(mode="after")
    def _cnpg_only_fields(self) -> "DatabaseSpec":
        if self.mode != "cnpg" and "wal_storage_gib" in self.model_fields_set:
            raise ValueError(
                f"walStorageGiB: sizes the CNPG cluster's WAL volume, but mode is '{self.mode}'; remove it "
                "or set mode: cnpg"
            )
        if self.mode == "none" and "spend_log_retention" in self.model_fields_set:
            raise ValueError(
                "spendLogRetention: prunes spend logs in the gateway database, but mode is 'none'; remove it "
                "or set mode to cnpg or existing"
            )
        return self

    @model_validator(mode="after")
    def _url_secret_for_existing(self) -> "DatabaseSpec":
        if self.mode == "existing" and self.url_secret is None:
            raise ValueError(
                "urlSecret: is required when mode is 'existing'; set {name, key} of a Secret in the "
                "gateway namespace that holds the postgresql:// URL"
            )
        if self.mode != "existing" and self.url_secret is not None:
            raise ValueError(
                f"urlSecret: is only read when mode is 'existing' (mode is '{self.mode}'); remove it "
                "or set mode: existing"
            )
        return self


class RedisSpec(Spec):
    """Where the gateway's processes share rate-limit counters, spend and key-cache invalidations.

    `incluster`: a Redis Deployment beside the gateway, password from a generated Secret, no persistence (the
    counters are per-minute windows; keys and spend live in Postgres). `external`: an existing Redis such as
    Memorystore, by host/port and an optional AUTH-string Secret. `none`: every process counts alone.
    Default: incluster when the gateway runs more than one process (replicas x numWorkers), else none."""

    mode: Literal["incluster", "external", "none"] | None = None
    host: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9]([-A-Za-z0-9.:]*[A-Za-z0-9])?$")
    port: int = Field(default=6379, ge=1, le=65535)
    password_secret: SecretRef | None = None
    # incluster only: the Redis pod (maxmemory is set below the limit; old counters are evicted first).
    resources: ResourcesSpec = ResourcesSpec(cpu="100m", memory="128Mi", cpu_limit="500m", memory_limit="256Mi")

    @model_validator(mode="after")
    def _external_fields(self) -> "RedisSpec":
        if self.mode == "external" and not self.host:
            raise ValueError(
                "host: is required when mode is 'external'; set the Redis address (Memorystore: the instance's "
                "host IP, gcloud redis instances describe NAME --format='value(host)'), or use mode: incluster"
            )
        if self.mode != "external":
            for key, value in (("host", self.host), ("passwordSecret", self.password_secret)):
                if value is not None:
                    raise ValueError(
                        f"{key}: only applies to mode: external (mode is '{self.mode or 'default'}'); "
                        "remove it or set mode: external"
                    )
        return self


class KeySpec(Spec):
    """A virtual key minted in-cluster and stored in Secret `litellm-key-<alias>`."""

    alias: DnsName
    models: list[str] = Field(min_length=1)
    max_budget: float | None = Field(default=None, gt=0)
    budget_duration: str | None = BudgetDuration
    rpm_limit: int | None = Field(default=None, ge=1)
    tpm_limit: int | None = Field(default=None, ge=1)
    # Namespace the key's Secret is written to; defaults to the front-ends namespace.
    namespace: DnsName | None = None
    # true: the key is blocked in LiteLLM and never re-minted (an operator's block kept across runs).
    disabled: bool = False

    @model_validator(mode="after")
    def _duration_needs_budget(self) -> "KeySpec":
        if self.budget_duration and self.max_budget is None:
            raise ValueError(
                "budgetDuration: resets a budget, but maxBudget is not set; set maxBudget or remove budgetDuration"
            )
        return self

    @property
    def secret_name(self) -> str:
        return f"litellm-key-{self.alias}"


class SmokeTestSpec(Spec):
    """The in-cluster smoke-test Job: every exposed model through the gateway (a minted key) and direct."""

    enabled: bool = False
    key: DnsName | None = None  # alias of a gateway key whose Secret lives in the gateway namespace
    # How long the Job waits for cold models (a fresh GPU node: node boot, image pull, weights, CUDA graphs take
    # about 10 minutes) before it fails; `pulumi up` waits for the Job that long, plus a margin.
    ready_timeout_seconds: int = Field(default=1200, ge=60, le=7200)

    @model_validator(mode="after")
    def _key_when_enabled(self) -> "SmokeTestSpec":
        if self.enabled and not self.key:
            raise ValueError(
                "key: the smoke test calls the gateway with a minted key, never the master key; "
                "set key to the alias of a gateway.keys entry"
            )
        return self


class RuntimeModelEgressSpec(Spec):
    """`gateway.runtimeModelEgress`: where models added at run time (storeModelInDb) may be, for the gateway's
    NetworkPolicy. Each CIDR on each port; e.g. the VPC range of in-VPC endpoints, or 0.0.0.0/0 for internet APIs.

    connectTimeoutSeconds: LiteLLM 1.102.4 has no connect timeout of its own (a timeout from config bounds every
    phase, connect and read alike), so an endpoint outside the allow-list (dropped silently) would hold a request
    for requestTimeout. The gateway's pre-call hook first opens a TCP connection to such a model's api_base with
    this timeout, and refuses the request at once (503) when it cannot."""

    cidrs: list[str] = Field(min_length=1)
    ports: list[int] = Field(default_factory=lambda: [443], min_length=1)
    connect_timeout_seconds: float = Field(default=3, gt=0, le=30)

    @field_validator("cidrs")
    @classmethod
    def _valid_cidrs(cls, values: list[str]) -> list[str]:
        return [cidr(v) for v in values]

    @field_validator("ports")
    @classmethod
    def _valid_ports(cls, values: list[int]) -> list[int]:
        for v in values:
            if not 1 <= v <= 65535:
                raise ValueError(f"{v} is not a TCP port; use 1-65535 (443 for https endpoints)")
        return values


class GatewaySpec(Spec):
    replicas: int = Field(default=1, ge=0, le=20)
    resources: ResourcesSpec = ResourcesSpec()
    # Seconds a request may take upstream; model loads are handled by readiness, not by waiting here.
    request_timeout: int = Field(default=600, ge=1, le=3600)
    # Connection errors fail at once; retries only help flaky upstreams. Unset: 0, except 1 for a model on a Spot
    # pool (PlatformSpec.model_retries), so a request cut by a preempted node is tried once more. Set: every model.
    num_retries: int | None = Field(default=None, ge=0, le=5)
    num_workers: int = Field(default=1, ge=1, le=16)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    drop_params: bool = True
    database: DatabaseSpec = DatabaseSpec()
    # Lets `POST /model/new` register models at run time (seed 002 section 4b); needs the database.
    store_model_in_db: bool = False
    runtime_model_egress: RuntimeModelEgressSpec | None = None
    keys: list[KeySpec] = Field(default_factory=list)
    smoke_test: SmokeTestSpec = SmokeTestSpec()
    redis: RedisSpec = RedisSpec()

    @property
    def processes(self) -> int:
        """Gateway processes that each keep their own in-memory counters."""
        return max(self.replicas, 1) * self.num_workers

    @property
    def redis_mode(self) -> str:
        if self.redis.mode is not None:
            return self.redis.mode
        return "incluster" if self.processes > 1 else "none"

    @model_validator(mode="after")
    def _shared_limits(self) -> "GatewaySpec":
        if self.redis_mode != "none" or self.processes < 2:
            return self
        for i, key in enumerate(self.keys):
            for field, value in (("rpmLimit", key.rpm_limit), ("tpmLimit", key.tpm_limit)):
                if value is not None:
                    raise ValueError(
                        f"keys[{i}].{field}: the gateway runs {self.processes} processes (replicas x numWorkers) "
                        "and redis.mode is 'none', so each would admit the full limit on its own; set redis.mode "
                        "to incluster or external, or remove the limit"
                    )
        return self

    @model_validator(mode="after")
    def _db_backed_features(self) -> "GatewaySpec":
        if self.database.mode != "none":
            return self
        if self.store_model_in_db:
            raise ValueError(
                "storeModelInDb: needs a database, but database.mode is 'none'; set database.mode "
                "to cnpg or existing, or set storeModelInDb: false"
            )
        if self.keys:
            raise ValueError(
                "keys: virtual keys and budgets live in the gateway database, but database.mode is "
                "'none'; set database.mode to cnpg or existing, or remove keys"
            )
        return self
