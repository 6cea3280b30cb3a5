"""Front-ends as plain manifest dicts: Open WebUI, Tabby and LibreChat, each on its own minted gateway key.

Each front-end reads its key from Secret `litellm-key-<alias>` (data key `api-key`), written by the
litellm-keys Job (components/manifests/keys.py) into the front-ends namespace; no manifest carries a key value.
Generated secrets (session signers, JWT and credential keys) come in as values the caller created with
pulumi-random, so this module stays pure.
"""

from typing import Any

import yaml

from models.frontends import (
    FrontendSpec,
    LibreChatSpec,
    OpenWebUISpec,
    TabbySpec,
    chat_models,
)
from models.platform import PlatformConfig

from . import gateway, tomlw
from .common import (
    APP_UID,
    ROOT_IMAGE,
    WRITABLE_ROOT,
    checkov_skips,
    checksum,
    container_security,
    env,
    http_probe,
    labels,
    metadata,
    pvc,
    secret_env,
    selector,
    service,
    tmp_volume,
)

COMPONENT = "frontend"
KEY_DATA = "api-key"  # the data key the litellm-keys Job writes (components/scripts/mint_keys.py SECRET_KEY)
CHECKSUM = "llm-platform/config-checksum"
# Small shell for the Tabby config init container, pinned by its multi-arch index digest.
INIT_IMAGE = "busybox:1.37.0@sha256:bdf57e528e45e4433820e045b29b4597825a1c9e38353532d90a01445013f82e"
LIBRECHAT_UID = 1000  # LibreChat's image user `node`, which owns /app; Tabby runs as any uid that owns TABBY_ROOT

OPEN_WEBUI, OPEN_WEBUI_PORT, OPEN_WEBUI_DATA = "open-webui", 8080, "/app/backend/data"
OPEN_WEBUI_SECRET, WEBUI_SECRET_KEY = "open-webui-secrets", "WEBUI_SECRET_KEY"

TABBY, TABBY_PORT, TABBY_ROOT = "tabby", 8080, "/data"
TABBY_CONFIGMAP, TABBY_TEMPLATE_DIR = "tabby-config-template", "/template"
KEY_PLACEHOLDER, TABBY_KEY_ENV = "__LITELLM_VKEY__", "LITELLM_VKEY"
# Runs in the init container: put the key from the Secret (env) into the template, atomically, owner-only.
# The key is checked to be a LiteLLM key ([A-Za-z0-9_-]) first, so it can neither break sed nor the TOML string.
TABBY_RENDER_SCRIPT = (
    "set -eu\n"
    'case "${LITELLM_VKEY:-}" in\n'
    '  ""|*[!A-Za-z0-9_-]*) echo "tabby-config: key from the Secret is empty or not a LiteLLM key" >&2; exit 1;;\n'
    "esac\n"
    "umask 077\n"
    'sed "s/__LITELLM_VKEY__/${LITELLM_VKEY}/g" "$TEMPLATE" > "$CONFIG.tmp"\n'
    'mv "$CONFIG.tmp" "$CONFIG"\n'
    'echo "tabby-config: wrote $CONFIG"\n'
)

LIBRECHAT, LIBRECHAT_PORT = "librechat", 3080
LIBRECHAT_CONFIGMAP, LIBRECHAT_SECRET = "librechat-config", "librechat-secrets"
LIBRECHAT_CONFIG_PATH, LIBRECHAT_KEY_ENV = "/app/librechat.yaml", "LITELLM_API_KEY"
# Config schema version LibreChat v0.8.7 ships (librechat.ai changelog: config v1.3.13, June 2026).
LIBRECHAT_CONFIG_VERSION = "1.3.13"
# (env name, length, hex?) generated per install; CREDS_KEY is 32 bytes and CREDS_IV 16 bytes, hex-encoded.
LIBRECHAT_GENERATED = [
    ("JWT_SECRET", 64, False),
    ("JWT_REFRESH_SECRET", 64, False),
    ("CREDS_KEY", 64, True),
    ("CREDS_IV", 32, True),
]


# --- shared --------------------------------------------------------------------------------------------------


def gateway_v1(cfg: PlatformConfig) -> str:
    return gateway.url(cfg) + "/v1"


def key_secret_name(cfg: PlatformConfig, alias: str) -> str:
    return next(k.secret_name for k in cfg.gateway.keys if k.alias == alias)


def key_env(cfg: PlatformConfig, fe: FrontendSpec, env_name: str) -> dict[str, Any]:
    """The front-end's minted key, by reference only."""
    return secret_env(env_name, key_secret_name(cfg, fe.key), KEY_DATA)


def secret(name: str, namespace: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": metadata(name, namespace, COMPONENT),
        "stringData": data,
    }


def configmap(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(name, namespace, COMPONENT), "data": data}


def data_pvc(name: str, fe: FrontendSpec, cfg: PlatformConfig) -> dict[str, Any]:
    return pvc(f"{name}-data", cfg.namespaces.frontends, COMPONENT, fe.storage_gib, cfg.storage_class_name)


def frontend_service(name: str, port: int, cfg: PlatformConfig) -> dict[str, Any]:
    return service(name, cfg.namespaces.frontends, COMPONENT, port)


def _resources(fe: FrontendSpec) -> dict[str, Any]:
    r = fe.resources
    return {"requests": {"cpu": r.cpu, "memory": r.memory}, "limits": {"cpu": r.cpu_limit, "memory": r.memory_limit}}


def _pod_security(run_as_root: bool, uid: int) -> dict[str, Any]:
    ctx: dict[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
    if not run_as_root:
        ctx.update(runAsNonRoot=True, runAsUser=uid, runAsGroup=uid, fsGroup=uid)
    return ctx


def _deployment(
    name: str,
    fe: FrontendSpec,
    cfg: PlatformConfig,
    container: dict[str, Any],
    volumes: list[dict[str, Any]],
    config_sum: str,
    run_as_root: bool,
    init: list[dict[str, Any]] | None = None,
    uid: int = APP_UID,
    skips: dict[str, str] | None = None,
) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,  # no injected TABBY_PORT-style env that an app might read as its own
        "securityContext": _pod_security(run_as_root, uid),
        "containers": [{"resources": _resources(fe), **container}],
        "volumes": volumes,
    }
    if init:
        pod["initContainers"] = init
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(
            name, cfg.namespaces.frontends, COMPONENT, **({"annotations": checkov_skips(skips)} if skips else {})
        ),
        "spec": {
            "replicas": fe.replicas,
            "strategy": {"type": "Recreate"},  # one ReadWriteOnce data volume
            "selector": {"matchLabels": selector(name)},
            "template": {
                "metadata": {"labels": labels(name, COMPONENT), "annotations": {CHECKSUM: config_sum}},
                "spec": pod,
            },
        },
    }


def _port(port: int) -> list[dict[str, Any]]:
    return [{"name": "http", "containerPort": port, "protocol": "TCP"}]


def _data_volume(name: str) -> dict[str, Any]:
    return {"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}}


# --- Open WebUI ----------------------------------------------------------------------------------------------


def open_webui_env(cfg: PlatformConfig, spec: OpenWebUISpec) -> list[dict[str, Any]]:
    return [
        *env(
            OPENAI_API_BASE_URL=gateway_v1(cfg),
            ENABLE_OPENAI_API="true",
            ENABLE_OLLAMA_API="false",
            # X-OpenWebUI-User-{Name,Id,Email,Role} on every call: the gateway records the email as the end user.
            ENABLE_FORWARD_USER_INFO_HEADERS="true",
            DATA_DIR=OPEN_WEBUI_DATA,
            PORT=str(OPEN_WEBUI_PORT),
            ENABLE_PERSISTENT_CONFIG="true" if spec.persistent_config else "false",
            ANONYMIZED_TELEMETRY="false",
            DO_NOT_TRACK="true",
            SCARF_NO_ANALYTICS="true",
        ),
        key_env(cfg, spec, "OPENAI_API_KEY"),
        secret_env(WEBUI_SECRET_KEY, OPEN_WEBUI_SECRET, WEBUI_SECRET_KEY),
    ]


def open_webui_deployment(cfg: PlatformConfig, spec: OpenWebUISpec) -> dict[str, Any]:
    envs = open_webui_env(cfg, spec)
    container = {
        "name": OPEN_WEBUI,
        "image": spec.image,
        "ports": _port(OPEN_WEBUI_PORT),
        "env": envs,
        # First start downloads the RAG embedding model before it listens: a long startup window.
        "startupProbe": http_probe("/health", "http", period=10, failures=60),
        "livenessProbe": http_probe("/health", "http", period=20, failures=3),
        "readinessProbe": http_probe("/health", "http", period=10, failures=3),
        # Exception (README): the image runs as root and its /app tree is root-owned (UID build arg defaults to
        # 0); besides DATA_DIR it writes into the image (static assets copied under /app/backend at start, pip
        # installs for tools and functions into site-packages). So it keeps root, with every capability dropped,
        # no privilege escalation and a writable root fs.
        "securityContext": container_security(run_as_root=True, read_only_root=False),
        "volumeMounts": [{"name": "data", "mountPath": OPEN_WEBUI_DATA}],
    }
    return _deployment(
        OPEN_WEBUI,
        spec,
        cfg,
        container,
        [_data_volume(OPEN_WEBUI)],
        checksum(envs),
        run_as_root=True,
        skips={**ROOT_IMAGE, **WRITABLE_ROOT},
    )


# --- Tabby ---------------------------------------------------------------------------------------------------


def tabby_config(cfg: PlatformConfig, spec: TabbySpec) -> dict[str, Any]:
    """config.toml as data: a vllm/completion backend on the gateway's FIM alias, key as a placeholder."""
    model: dict[str, Any] = {
        "completion": {
            "http": {
                "kind": "vllm/completion",
                "api_endpoint": gateway_v1(cfg),
                "model_name": spec.model,
                "api_key": KEY_PLACEHOLDER,
                "prompt_template": spec.prompt_template,
            }
        }
    }
    if spec.embedding_model:
        model["embedding"] = {
            "http": {
                "kind": "openai/embedding",
                "api_endpoint": gateway_v1(cfg),
                "model_name": spec.embedding_model,
                "api_key": KEY_PLACEHOLDER,
            }
        }
    return {"model": model}


def tabby_config_toml(cfg: PlatformConfig, spec: TabbySpec) -> str:
    return tomlw.dumps(tabby_config(cfg, spec))


def tabby_configmap(cfg: PlatformConfig, spec: TabbySpec) -> dict[str, Any]:
    return configmap(TABBY_CONFIGMAP, cfg.namespaces.frontends, {"config.toml": tabby_config_toml(cfg, spec)})


def tabby_init_container(cfg: PlatformConfig, spec: TabbySpec) -> dict[str, Any]:
    return {
        "name": "render-config",
        "image": INIT_IMAGE,
        "command": ["sh", "-c", TABBY_RENDER_SCRIPT],
        "env": [
            *env(TEMPLATE=f"{TABBY_TEMPLATE_DIR}/config.toml", CONFIG=f"{TABBY_ROOT}/config.toml"),
            key_env(cfg, spec, TABBY_KEY_ENV),
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}},
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "template", "mountPath": TABBY_TEMPLATE_DIR, "readOnly": True},
            {"name": "data", "mountPath": TABBY_ROOT},
        ],
    }


def _tcp_probe(period: int, failures: int) -> dict[str, Any]:
    # Tabby answers 401 to an unauthenticated /v1/health, so an httpGet probe would never pass.
    return {"tcpSocket": {"port": "http"}, "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": 3}


def tabby_deployment(cfg: PlatformConfig, spec: TabbySpec) -> dict[str, Any]:
    container = {
        "name": TABBY,
        "image": spec.image,
        "args": ["serve", "--port", str(TABBY_PORT)],
        "ports": _port(TABBY_PORT),
        "env": env(TABBY_ROOT=TABBY_ROOT, HOME=TABBY_ROOT, TABBY_DISABLE_USAGE_COLLECTION="1"),
        # Without embeddingModel, first start downloads Tabby's default embedder before it listens.
        "startupProbe": _tcp_probe(period=10, failures=60),
        "livenessProbe": _tcp_probe(period=20, failures=3),
        "readinessProbe": _tcp_probe(period=10, failures=3),
        # Non-root (pod runAsUser/fsGroup own /data) on a read-only root fs. Assumed from its Dockerfile (not run
        # here): binaries in /opt/tabby, state only under TABBY_ROOT (models, index, db, events; HOME too), /tmp.
        "securityContext": container_security(),
        "volumeMounts": [{"name": "data", "mountPath": TABBY_ROOT}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    volumes = [_data_volume(TABBY), {"name": "template", "configMap": {"name": TABBY_CONFIGMAP}}, tmp_volume()]
    return _deployment(
        TABBY,
        spec,
        cfg,
        container,
        volumes,
        checksum(tabby_config_toml(cfg, spec), TABBY_RENDER_SCRIPT),
        run_as_root=False,
        init=[tabby_init_container(cfg, spec)],
    )


# --- LibreChat -----------------------------------------------------------------------------------------------


def librechat_config(cfg: PlatformConfig, spec: LibreChatSpec) -> dict[str, Any]:
    """librechat.yaml: one custom endpoint on the gateway, listing the transparent model names."""
    chats = chat_models(cfg.models)
    endpoint = {
        "name": spec.endpoint_name,
        "apiKey": f"${{{LIBRECHAT_KEY_ENV}}}",  # LibreChat substitutes it from the pod env (the key Secret)
        "baseURL": gateway_v1(cfg),
        "models": {"default": spec.listed_models(chats), "fetch": False},
        "titleConvo": spec.title_convo,
        "titleModel": spec.resolved_title_model(chats),
        "modelDisplayLabel": spec.model_display_label,
    }
    return {"version": LIBRECHAT_CONFIG_VERSION, "endpoints": {"custom": [endpoint]}}


def librechat_yaml(cfg: PlatformConfig, spec: LibreChatSpec) -> str:
    return yaml.safe_dump(librechat_config(cfg, spec), sort_keys=False)


def librechat_configmap(cfg: PlatformConfig, spec: LibreChatSpec) -> dict[str, Any]:
    return configmap(LIBRECHAT_CONFIGMAP, cfg.namespaces.frontends, {"librechat.yaml": librechat_yaml(cfg, spec)})


def librechat_env(cfg: PlatformConfig, spec: LibreChatSpec) -> list[dict[str, Any]]:
    mongo = spec.mongo_uri_secret
    assert mongo is not None, "validated: LibreChat needs mongoUriSecret"
    return [
        *env(
            HOST="0.0.0.0",
            PORT=str(LIBRECHAT_PORT),
            CONFIG_PATH=LIBRECHAT_CONFIG_PATH,
            ALLOW_REGISTRATION="true" if spec.allow_registration else "false",
            SEARCH="false",
        ),
        secret_env("MONGO_URI", mongo.name, mongo.key),
        key_env(cfg, spec, LIBRECHAT_KEY_ENV),
        *[secret_env(name, LIBRECHAT_SECRET, name) for name, _, _ in LIBRECHAT_GENERATED],
    ]


def librechat_deployment(cfg: PlatformConfig, spec: LibreChatSpec) -> dict[str, Any]:
    container = {
        "name": LIBRECHAT,
        "image": spec.image,
        "ports": _port(LIBRECHAT_PORT),
        "env": librechat_env(cfg, spec),
        "startupProbe": http_probe("/health", "http", period=5, failures=60),
        "livenessProbe": http_probe("/health", "http", period=20, failures=3),
        "readinessProbe": http_probe("/health", "http", period=10, failures=3),
        # Exception (README): the image runs as `node` (uid 1000, below 10000), which owns /app; npm and the app
        # create log folders under /app (api/logs, packages/*/logs, data) at start, and which ones moves between
        # releases, so the root fs stays writable and the uid stays the image's. Capabilities dropped, non-root.
        "securityContext": container_security(read_only_root=False),
        "volumeMounts": [
            {"name": "config", "mountPath": LIBRECHAT_CONFIG_PATH, "subPath": "librechat.yaml", "readOnly": True},
            {"name": "data", "mountPath": "/app/uploads", "subPath": "uploads"},
            {"name": "data", "mountPath": "/app/client/public/images", "subPath": "images"},
        ],
    }
    volumes = [_data_volume(LIBRECHAT), {"name": "config", "configMap": {"name": LIBRECHAT_CONFIGMAP}}]
    return _deployment(
        LIBRECHAT,
        spec,
        cfg,
        container,
        volumes,
        checksum(librechat_config(cfg, spec)),
        run_as_root=False,
        uid=LIBRECHAT_UID,
        skips={"CKV_K8S_40": "the image user node (uid 1000) owns /app (README exceptions)", **WRITABLE_ROOT},
    )
