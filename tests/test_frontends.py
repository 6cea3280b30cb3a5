"""Each front-end component under an autouse mocks fixture, and the front-ends in the whole program's plan."""

import json
import tomllib

import kubernetes_validate
import pytest
import yaml
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.manifests import frontends as fe
from components.scripts.mint_keys import SECRET_KEY
from models import parse_config
from offline.mocks import unwrap
from tests.conftest import plan_for

GATEWAY_V1 = "http://litellm.litellm.svc.cluster.local:4000/v1"
MONGO = {"name": "librechat-mongo", "key": "uri"}


# Component tests run under fresh mocks (tests/conftest.py `capture`), one per test.
pytestmark = pytest.mark.usefixtures("capture")


def librechat_raw(raw, **extra):
    """Enable LibreChat (off in dev) on the open-webui key, keeping a block a test already set."""
    block = raw["frontends"].setdefault("librechat", {"key": "open-webui", "mongoUriSecret": MONGO})
    block.update(extra)
    return raw


def declare(capture, component, raw, field):
    cfg = parse_config(raw)
    spec = dict(cfg.frontends.enabled())[field]
    _sync_await(run_pulumi_func(lambda: component("fe", spec, platform=cfg)))
    return [unwrap(r.inputs) for r in capture.resources if r.type.startswith("kubernetes:")]


def one(objs, kind, name=None):
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind}/{name}: {len(found)}"
    return found[0]


def pod_of(objs, name):
    return one(objs, "Deployment", name)["spec"]["template"]["spec"]


def env_of(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def key_ref(alias):
    return {"secretKeyRef": {"name": f"litellm-key-{alias}", "key": "api-key"}}


def open_webui(capture, raw):
    from components.open_webui import OpenWebUI

    return declare(capture, OpenWebUI, raw, "openWebui")


def tabby(capture, raw):
    from components.tabby import Tabby

    return declare(capture, Tabby, raw, "tabby")


def librechat(capture, raw):
    from components.librechat import LibreChat

    return declare(capture, LibreChat, librechat_raw(raw), "librechat")


ALL = [("open-webui", open_webui), ("tabby", tabby), ("librechat", librechat)]


class TestFrontendsUseMintedKeys:
    @pytest.mark.parametrize("name,build", ALL)
    def test_key_only_by_secret_reference(self, capture, dev_raw, name, build):
        objs = build(capture, dev_raw)
        text = json.dumps(objs)
        assert "litellm-secrets" not in text and "LITELLM_MASTER_KEY" not in text, "never the master key"
        refs = [
            e["valueFrom"]["secretKeyRef"]
            for c in _containers(pod_of(objs, name))
            for e in c.get("env", [])
            if "valueFrom" in e and e["valueFrom"]["secretKeyRef"]["name"].startswith("litellm-key-")
        ]
        assert refs == [
            {"name": "litellm-key-open-webui" if name != "tabby" else "litellm-key-tabby", "key": "api-key"}
        ]
        assert not any(s in text for s in capture.generated_secrets), "generated values only inside Secrets"

    def test_data_key_matches_the_minting_job(self):
        assert fe.KEY_DATA == SECRET_KEY

    @pytest.mark.parametrize("name,build", ALL)
    def test_images_pinned_by_digest(self, capture, dev_raw, name, build):
        pod = pod_of(build(capture, dev_raw), name)
        for c in _containers(pod):
            assert "@sha256:" in c["image"] and ":latest" not in c["image"], c["image"]

    @pytest.mark.parametrize("name,build", ALL)
    def test_limits_and_hardening(self, capture, dev_raw, name, build):
        pod = pod_of(build(capture, dev_raw), name)
        assert pod["automountServiceAccountToken"] is False
        for c in _containers(pod):
            assert set(c["resources"]) == {"requests", "limits"}
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        root = name == "open-webui"  # documented exception: the image is root-owned
        assert pod["securityContext"].get("runAsNonRoot", False) is (not root)


def _containers(pod):
    return [*pod.get("initContainers", []), *pod["containers"]]


class TestOpenWebUI:
    def test_env_points_at_gateway_with_minted_key(self, capture, dev_raw):
        objs = open_webui(capture, dev_raw)
        (c,) = pod_of(objs, "open-webui")["containers"]
        env = env_of(c)
        assert env["OPENAI_API_BASE_URL"] == GATEWAY_V1
        assert env["OPENAI_API_KEY"] == key_ref("open-webui")
        assert env["ENABLE_OLLAMA_API"] == "false" and env["ENABLE_PERSISTENT_CONFIG"] == "false"
        assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}

    def test_webui_secret_key_from_random_secret(self, capture, dev_raw):
        objs = open_webui(capture, dev_raw)
        (c,) = pod_of(objs, "open-webui")["containers"]
        assert env_of(c)["WEBUI_SECRET_KEY"] == {
            "secretKeyRef": {"name": "open-webui-secrets", "key": "WEBUI_SECRET_KEY"}
        }
        sec = one(objs, "Secret", "open-webui-secrets")
        assert sec["stringData"] == {"WEBUI_SECRET_KEY": "<secret>"}
        (pw,) = [r for r in capture.resources if r.type.endswith("RandomPassword")]
        assert pw.inputs["length"] >= 32 and pw.name == "fe-webui-secret-key"

    def test_data_on_pvc(self, capture, dev_raw):
        objs = open_webui(capture, dev_raw)
        pod = pod_of(objs, "open-webui")
        assert {"name": "data", "mountPath": "/app/backend/data"} in pod["containers"][0]["volumeMounts"]
        assert one(objs, "PersistentVolumeClaim", "open-webui-data")["spec"]["resources"]["requests"] == {
            "storage": "5Gi"
        }
        assert one(objs, "Service", "open-webui")["spec"]["ports"][0]["port"] == 8080


class TestTabby:
    def test_tcp_readiness_not_health_endpoint(self, capture, dev_raw):
        (c,) = pod_of(tabby(capture, dev_raw), "tabby")["containers"]
        assert c["readinessProbe"]["tcpSocket"] == {"port": "http"}
        assert not any("httpGet" in c[p] for p in ("startupProbe", "livenessProbe", "readinessProbe"))
        assert c["args"] == ["serve", "--port", "8080"] and env_of(c)["TABBY_ROOT"] == "/data"

    def test_init_container_substitutes_key_from_secret(self, capture, dev_raw):
        pod = pod_of(tabby(capture, dev_raw), "tabby")
        (init,) = pod["initContainers"]
        assert init["command"][:2] == ["sh", "-c"] and "__LITELLM_VKEY__" in init["command"][2]
        assert init["image"].startswith("busybox:1.37.0@sha256:")
        env = env_of(init)
        assert env["LITELLM_VKEY"] == key_ref("tabby")
        assert env["TEMPLATE"] == "/template/config.toml" and env["CONFIG"] == "/data/config.toml"
        mounts = {m["mountPath"]: m["name"] for m in init["volumeMounts"]}
        assert mounts == {"/template": "template", "/data": "data"}
        assert "LITELLM_VKEY" not in env_of(pod["containers"][0]), "the server reads the key from its config only"

    def test_config_template_is_toml_with_placeholder(self, capture, dev_raw):
        dev_raw["frontends"]["tabby"].pop("embeddingModel")  # completion only: Tabby embeds on its own
        cm = one(tabby(capture, dev_raw), "ConfigMap", "tabby-config-template")
        conf = tomllib.loads(cm["data"]["config.toml"])
        assert conf == {
            "model": {
                "completion": {
                    "http": {
                        "kind": "vllm/completion",
                        "api_endpoint": GATEWAY_V1,
                        "model_name": "coder-fim",
                        "api_key": "__LITELLM_VKEY__",
                        "prompt_template": "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>",
                    }
                }
            }
        }

    def test_optional_embedding_backend(self, capture, dev_raw):
        assert dev_raw["frontends"]["tabby"]["embeddingModel"] == "embeddings"  # dev: the CPU embeddings model
        cm = one(tabby(capture, dev_raw), "ConfigMap", "tabby-config-template")
        emb = tomllib.loads(cm["data"]["config.toml"])["model"]["embedding"]["http"]
        assert emb == {
            "kind": "openai/embedding",
            "api_endpoint": GATEWAY_V1,
            "model_name": "embeddings",
            "api_key": "__LITELLM_VKEY__",
        }


class TestLibreChat:
    def test_yaml_custom_endpoint(self, capture, dev_raw):
        conf = yaml.safe_load(
            one(librechat(capture, dev_raw), "ConfigMap", "librechat-config")["data"]["librechat.yaml"]
        )
        assert conf["version"] == "1.3.13"
        (ep,) = conf["endpoints"]["custom"]
        assert ep["baseURL"] == GATEWAY_V1 and ep["apiKey"] == "${LITELLM_API_KEY}"
        assert ep["models"] == {"default": ["coder-chat", "coder-agent"], "fetch": False}
        assert ep["titleConvo"] is True and ep["titleModel"] == "coder-chat"
        assert ep["name"] == "LLM Platform" and ep["modelDisplayLabel"] == "LLM Platform"

    def test_env_from_secrets(self, capture, dev_raw):
        objs = librechat(capture, dev_raw)
        (c,) = pod_of(objs, "librechat")["containers"]
        env = env_of(c)
        assert env["LITELLM_API_KEY"] == key_ref("open-webui")
        assert env["MONGO_URI"] == {"secretKeyRef": MONGO}
        assert env["CONFIG_PATH"] == "/app/librechat.yaml"
        for name in ("JWT_SECRET", "JWT_REFRESH_SECRET", "CREDS_KEY", "CREDS_IV"):
            assert env[name] == {"secretKeyRef": {"name": "librechat-secrets", "key": name}}
        assert one(objs, "Secret", "librechat-secrets")["stringData"] == dict.fromkeys(
            ("JWT_SECRET", "JWT_REFRESH_SECRET", "CREDS_KEY", "CREDS_IV"), "<secret>"
        )
        assert {
            "name": "config",
            "mountPath": "/app/librechat.yaml",
            "subPath": "librechat.yaml",
            "readOnly": True,
        } in c["volumeMounts"]

    def test_creds_are_hex_of_the_right_length(self, capture, dev_raw):
        librechat(capture, dev_raw)
        pws = {r.name: r.inputs for r in capture.resources if r.type.endswith("RandomPassword")}
        for name, length in (("fe-creds-key", 64), ("fe-creds-iv", 32)):
            pw = pws[name]
            assert pw["length"] == length
            assert pw["upper"] is False and pw["lower"] is False and pw["overrideSpecial"] == "abcdef"
        assert pws["fe-jwt-secret"]["length"] >= 32


class TestConfigChangeRollsPods:
    def checksum(self, capture, build, raw, name):
        capture.resources.clear()
        dep = one(build(capture, raw), "Deployment", name)
        return dep["spec"]["template"]["metadata"]["annotations"]["llm-platform/config-checksum"]

    def test_tabby_template_change(self, capture, dev_raw):
        before = self.checksum(capture, tabby, dev_raw, "tabby")
        dev_raw["frontends"]["tabby"]["promptTemplate"] = "<PRE> {prefix} <SUF>{suffix} <MID>"
        assert self.checksum(capture, tabby, dev_raw, "tabby") != before

    def test_librechat_config_change(self, capture, dev_raw):
        before = self.checksum(capture, librechat, dev_raw, "librechat")
        dev_raw["frontends"]["librechat"]["titleConvo"] = False
        assert self.checksum(capture, librechat, dev_raw, "librechat") != before


class TestPlatformDeclaresEnabledFrontends:
    def test_dev_plan(self, dev_plan):
        names = {(m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]) for m in dev_plan.k8s}
        for kind, name in [
            ("Deployment", "open-webui"),
            ("Service", "open-webui"),
            ("Deployment", "tabby"),
            ("Service", "tabby"),
            ("ConfigMap", "tabby-config-template"),
        ]:
            assert (kind, "experience", name) in names
        assert ("Namespace", None, "experience") in names
        assert not dev_plan.find("Deployment", "librechat")

    def test_disabled_declares_nothing(self, dev_raw):
        dev_raw["frontends"]["tabby"]["enabled"] = False
        plan = plan_for(dev_raw)
        assert plan.find("Deployment", "open-webui") and not plan.find("Deployment", "tabby")

    def test_no_frontends_no_keys_no_namespace(self, dev_raw):
        dev_raw.pop("frontends")
        dev_raw["gateway"]["keys"] = []
        dev_raw["gateway"].pop("smokeTest")
        assert not plan_for(dev_raw).find("Namespace", "experience")

    def test_frontends_stateful_data_survives_destroy(self, dev_raw):
        from offline.plan import is_kept

        plan = plan_for(librechat_raw(dev_raw))
        for name in ("open-webui-data", "tabby-data", "librechat-data"):
            assert is_kept(plan, plan.one("PersistentVolumeClaim", name))

    def test_all_three_pass_strict_schema(self, dev_raw):
        plan = plan_for(librechat_raw(dev_raw))
        objs = [m for m in plan.k8s if m["metadata"].get("namespace") == "experience"]
        assert {m["metadata"]["name"] for m in objs if m["kind"] == "Deployment"} == {
            "open-webui",
            "tabby",
            "librechat",
        }
        for m in objs:
            kubernetes_validate.validate(m, "1.33", strict=True)
