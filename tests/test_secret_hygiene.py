"""Secret hygiene on the rendered plan (issue 6, point 2), for every stack file and dev with every optional block.

- A generated secret (the mock fills each RandomPassword with a known value) lives only in Kubernetes Secrets:
  never in a ConfigMap, an env literal, args/command, a non-secret stack output, another resource's inputs or a
  rendered file. Stack config holds no credential at all (refused, see TestPastedCredentials).
- Every credential reaches a pod by `secretKeyRef` (or a mounted Secret), and that Secret is one the plan
  declares or one the config names (user Secrets, minted keys, the CNPG app Secret).
- vLLM reads VLLM_API_KEY and llama-server LLAMA_API_KEY from the upstream-key Secret, the same value the gateway
  sends; no server takes `--api-key` on its command line. The master key is a secret output.
"""

import base64
import json
import re
import tempfile
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from models import ConfigError, parse_config
from models.load import REDACTED
from offline.mocks import MASK, SECRET_SIG, PlanCapture, run_program
from offline.plan import Plan, pod_spec, to_plan
from offline.report import summary, write_plan
from tests.mutations import STACK_FILES, STACKS, as_program_sees, namespaced, stack_raw

CREDENTIAL_ENV = re.compile(r"(^|_)(KEY|VKEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDS|DSN)(_|$)|^(DATABASE_URL|MONGO_URI)$")
# What a leaked credential looks like in text (same shapes the config check refuses).
CREDENTIAL_TEXT = re.compile(
    r"(?<![\w-])(sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,})"
    r"|[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"
)
# A config file field that names a credential must hold a reference, never a value.
CREDENTIAL_FIELD = re.compile(r"(?i)^(api_?key|master_?key|password|token|secret|auth_?token)$")
REFERENCE = re.compile(r"^(os\.environ/[A-Z0-9_]+|\$\{[A-Z0-9_]+\}|__[A-Z0-9_]+__)$")
SECRET_OUTPUTS = {"masterKey"}
# Model server containers and the env var their server reads its required API key from.
SERVER_KEY_ENV = {"vllm": "VLLM_API_KEY", "llama-server": "LLAMA_API_KEY", "llama-swap": "LLAMA_API_KEY"}


@cache
def rendered(stack: str) -> tuple[PlanCapture, Plan]:
    capture = run_program(namespaced(stack_raw(stack), stack), stack)
    return capture, to_plan(capture)


def generated(stack: str) -> set[str]:
    """Every generated secret value and the forms it could leak in (base64, the sk- master key)."""
    values = rendered(stack)[0].generated_secrets
    assert values, f"{stack}: the mock generated no secret; the checks below would be vacuous"
    return {form for v in values for form in (v, base64.b64encode(v.encode()).decode(), "sk-" + v)}


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif value is not None:
        yield str(value)


def assert_clean(where: str, value: Any, stack: str) -> None:
    """No generated secret, no masked secret, no credential-shaped text anywhere in `value`."""
    for text in strings(value):
        assert not any(g in text for g in generated(stack)), f"{stack}: a generated secret in {where}"
        assert MASK not in text, f"{stack}: a secret value (masked) in {where}: {text[:120]!r}"
        assert not CREDENTIAL_TEXT.search(text), f"{stack}: credential-shaped text in {where}: {text[:120]!r}"


def containers(plan: Plan) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload, its pod spec, container) for every init and main container."""
    for m in plan.k8s:
        pod = pod_spec(m)
        if pod:
            for c in pod.get("initContainers", []) + pod.get("containers", []):
                yield f"{m['kind']}/{m['metadata'].get('namespace')}/{m['metadata']['name']}:{c['name']}", pod, c


def env(c: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((e for e in c.get("env", []) if e["name"] == name), None)


def known_secrets(stack: str, plan: Plan) -> set[tuple[str | None, str]]:
    """(namespace, name) of every Secret a pod may reference: declared, named in config, minted or CNPG's."""
    cfg = parse_config(as_program_sees(stack_raw(stack), stack))
    ns = cfg.namespaces
    out = {(m["metadata"].get("namespace"), m["metadata"]["name"]) for m in plan.find("Secret")}
    out |= {(k.namespace or ns.frontends, k.secret_name) for k in cfg.gateway.keys}  # written by the key Job
    out |= {(ns.serving, cfg.hf_token_secret)}  # optional, for gated repos
    if cfg.gateway.database.url_secret:
        out.add((ns.gateway, cfg.gateway.database.url_secret.name))
    out |= {(ns.gateway, m.api_key_secret.name) for m in cfg.models if getattr(m, "api_key_secret", None)}
    if cfg.frontends.librechat and cfg.frontends.librechat.mongo_uri_secret:
        out.add((ns.frontends, cfg.frontends.librechat.mongo_uri_secret.name))
    out |= {
        (m["metadata"].get("namespace"), m["metadata"]["name"] + "-app")  # CNPG writes <cluster>-app
        for m in plan.k8s
        if m["kind"] == "Cluster" and m["apiVersion"].startswith("postgresql.cnpg.io/")
    }
    return out


def raw_secret_value(stack: str, name: str, key: str) -> str:
    """A Secret's value as declared (unmasked), from the recorded resource inputs."""
    for r in rendered(stack)[0].resources:
        if r.type == "kubernetes:core/v1:Secret" and r.inputs.get("metadata", {}).get("name") == name:
            value = r.inputs.get("stringData", {}).get(key)
            return value.get("value") if isinstance(value, dict) and SECRET_SIG in value else value
    raise AssertionError(f"no Secret {name}")


# --- the plan ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
class TestGeneratedSecretsStayInSecrets:
    def test_only_secret_objects_hold_them(self, stack):
        capture, _ = rendered(stack)
        for r in capture.resources:
            if r.type in ("kubernetes:core/v1:Secret", "random:index/randomPassword:RandomPassword"):
                continue
            text = json.dumps(r.inputs, default=str)
            assert not any(g in text for g in generated(stack)), f"{stack}: a generated secret in {r.type} {r.name}"
            assert SECRET_SIG not in text, f"{stack}: a secret Output flows into {r.type} {r.name}"

    def test_masked_values_appear_only_in_secret_data(self, stack):
        _, plan = rendered(stack)
        for m in plan.k8s:
            body = {k: v for k, v in m.items() if not (m["kind"] == "Secret" and k in ("data", "stringData"))}
            assert MASK not in json.dumps(body), f"{stack}: {m['kind']}/{m['metadata']['name']} holds a secret"

    def test_configmaps_hold_no_secret(self, stack):
        _, plan = rendered(stack)
        for m in plan.find("ConfigMap"):
            for name, text in (m.get("data") or {}).items():
                assert_clean(f"ConfigMap {m['metadata']['name']}/{name}", text, stack)
                for field, value in credential_fields(name, text):
                    assert REFERENCE.match(str(value)), (
                        f"{stack}: ConfigMap {m['metadata']['name']}/{name} sets {field} to a value, not a reference"
                    )

    def test_env_literals_args_and_commands_hold_no_secret(self, stack):
        _, plan = rendered(stack)
        for where, _, c in containers(plan):
            assert_clean(f"{where} args/command", c.get("args", []) + c.get("command", []), stack)
            assert_clean(f"{where} env", [e.get("value") for e in c.get("env", [])], stack)
            assert not any(a.split("=")[0] in ("--api-key", "--api-key-file") for a in c.get("args", [])), (
                f"{stack}: {where} takes the key on its command line"
            )

    def test_outputs_other_than_the_master_key_hold_no_secret(self, stack):
        _, plan = rendered(stack)
        assert plan.outputs["masterKey"] == MASK, "masterKey must be a secret output"
        for name, value in plan.outputs.items():
            if name not in SECRET_OUTPUTS:
                assert_clean(f"output {name}", value, stack)

    def test_render_output_files_hold_no_secret(self, stack):
        _, plan = rendered(stack)
        with tempfile.TemporaryDirectory() as out:
            try:
                write_plan(plan, Path(out))
            except RuntimeError as exc:  # write_plan's own guard
                pytest.fail(f"{stack}: {exc}")
            texts = {p.name: p.read_text() for p in Path(out).rglob("*") if p.is_file()}
            texts["<summary>"] = summary(plan, Path(out))
        assert len(texts) > 10
        for name, text in texts.items():
            assert not any(g in text for g in generated(stack)), f"{stack}: a generated secret in {name}"
            assert not CREDENTIAL_TEXT.search(text), f"{stack}: credential-shaped text in {name}"


def credential_fields(name: str, text: str) -> list[tuple[str, Any]]:
    """(field, value) of every credential-named field in a YAML/JSON/TOML file (scripts are not parsed)."""
    suffix = Path(name).suffix
    try:
        doc = (
            tomllib.loads(text)
            if suffix == ".toml"
            else json.loads(text)
            if suffix == ".json"
            else yaml.safe_load(text)
            if suffix in (".yaml", ".yml")
            else None
        )
    except (ValueError, yaml.YAMLError):
        return []
    found: list[tuple[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if CREDENTIAL_FIELD.match(str(k)) and not isinstance(v, (dict, list)):
                    found.append((str(k), v))
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return found


# --- credentials reach pods by reference ---------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
class TestCredentialsByReference:
    def test_credential_env_uses_secret_key_ref_to_a_known_secret(self, stack):
        _, plan = rendered(stack)
        known = known_secrets(stack, plan)
        checked = 0
        for where, _, c in containers(plan):
            namespace = where.split("/")[1]
            for e in c.get("env", []):
                if not CREDENTIAL_ENV.search(e["name"]):
                    continue
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                assert "value" not in e and ref, f"{stack}: {where} env {e['name']} is not from a Secret"
                assert ref.get("name") and ref.get("key"), f"{stack}: {where} env {e['name']}: {ref}"
                assert (namespace, ref["name"]) in known, (
                    f"{stack}: {where} env {e['name']} reads Secret {namespace}/{ref['name']}, which nothing creates"
                )
                checked += 1
            assert not any(
                "configMapKeyRef" in e.get("valueFrom", {})
                for e in c.get("env", [])
                if CREDENTIAL_ENV.search(e["name"])
            ), where
            for src in c.get("envFrom", []):
                assert "configMapRef" not in src or not CREDENTIAL_ENV.search(str(src)), where
        assert checked >= 3, f"{stack}: only {checked} credential env vars found; is the scan broken?"

    def test_secret_volumes_reference_known_secrets(self, stack):
        _, plan = rendered(stack)
        known = known_secrets(stack, plan)
        for m in plan.k8s:
            for v in (pod_spec(m) or {}).get("volumes", []):
                if "secret" in v:
                    assert (m["metadata"].get("namespace"), v["secret"]["secretName"]) in known, v

    def test_model_servers_require_the_gateway_upstream_key(self, stack):
        """vLLM (VLLM_API_KEY) and llama-server/llama-swap (LLAMA_API_KEY) read the upstream key from a Secret;
        the gateway's UPSTREAM_API_KEY is the same generated value, so only the gateway (and the smoke test)
        can call a model Service."""
        _, plan = rendered(stack)
        gateway = next(c for w, _, c in containers(plan) if c["name"] == "litellm" and ":litellm" in w)
        up = gateway_ref = env(gateway, "UPSTREAM_API_KEY")["valueFrom"]["secretKeyRef"]
        upstream = raw_secret_value(stack, up["name"], up["key"])
        servers = 0
        for where, _, c in containers(plan):
            var = SERVER_KEY_ENV.get(c["name"])
            if var is None:
                continue
            e = env(c, var)
            assert e and "secretKeyRef" in e.get("valueFrom", {}), f"{stack}: {where} runs without {var} from a Secret"
            ref = e["valueFrom"]["secretKeyRef"]
            assert raw_secret_value(stack, ref["name"], ref["key"]) == upstream, (
                f"{stack}: {where} {var} is not the key the gateway sends ({gateway_ref})"
            )
            servers += 1
        assert servers, f"{stack}: no model server found"
        deployments = [
            m for m in plan.find("Deployment") if m["metadata"]["labels"].get("app.kubernetes.io/component") == "model"
        ]
        for d in deployments:
            names = {c["name"] for c in d["spec"]["template"]["spec"]["containers"]}
            assert names & set(SERVER_KEY_ENV), f"{stack}: model Deployment {d['metadata']['name']}: {names}"


@pytest.mark.parametrize("stack", sorted(STACK_FILES))
def test_stack_files_hold_no_credentials(stack):
    text = STACK_FILES[stack].read_text()
    assert not CREDENTIAL_TEXT.search(text) and "secure:" not in text, f"{STACK_FILES[stack].name} holds a secret"


# --- a credential pasted into stack config ---------------------------------------------------------------

PASTED = "sk-Ab3dEf9hIjKlMnOpQrStUv"


@pytest.mark.parametrize(
    "path,value,edit",
    [
        ("frontends.tabby.key", PASTED, lambda r, v: r["frontends"]["tabby"].update(key=v)),
        ("frontends.openWebui.key", PASTED.lower(), lambda r, v: r["frontends"]["openWebui"].update(key=v)),
        (
            "gateway.database.urlSecret",
            "postgresql://litellm:s3cr3t@db:5432/litellm",
            lambda r, v: r["gateway"].update(database={"mode": "existing", "urlSecret": v}),
        ),
        ("models[4].apiKeySecret", PASTED, lambda r, v: r["models"][4].update(apiKeySecret=v)),
        (
            "models[4].apiBase",
            "https://svc:s3cr3t@models.example.com/v1",
            lambda r, v: r["models"][4].update(apiBase=v),
        ),
        ("hfTokenSecret", "hf_AbCdEfGhIjKlMnOpQrStUvWx", lambda r, v: r.update(hfTokenSecret=v)),
        (
            "models[0].extraArgs[0]",
            "--hf-token=hf_AbCdEfGhIjKlMnOpQrStUvWx",
            lambda r, v: r["models"][0].update(extraArgs=[v]),
        ),
        (
            "frontends.librechat.mongoUriSecret.name",
            "mongodb://app:s3cr3t@mongo/chat",
            lambda r, v: r["frontends"]["librechat"]["mongoUriSecret"].update(name=v),
        ),
    ],
)
def test_pasted_credential_is_refused_and_never_echoed(path, value, edit):
    raw = stack_raw("dev+extras")
    assert raw["models"][4]["engine"] == "external"
    edit(raw, value)
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    assert value not in str(exc.value) and value.split("=")[-1] not in str(exc.value), "the error echoed it"
    assert exc.value.lines[0] == (
        f"{path}: {REDACTED} looks like a credential (an API key, a token or a URL with "
        "a password); stack config is kept in git, so it never holds one. Put it in a "
        "Kubernetes Secret and name that Secret ({name, key}), or name a minted key by "
        "its gateway.keys alias"
    )


def test_short_key_value_for_a_front_end_gets_the_alias_hint():
    """models/frontends.py: a front-end `key:` that is not an alias and starts with sk- is called out."""
    raw = stack_raw("dev")
    raw["frontends"]["tabby"]["key"] = "sk-1234abcd"
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    assert exc.value.lines[0].startswith("frontends.tabby.key: 'sk-1234abcd' is not a declared gateway key")
    assert "It looks like a key value: stack config names a key by its alias" in exc.value.lines[0]


def test_credential_named_config_fields_take_references_only():
    """Every config field named like a credential takes a Secret reference or a key alias, never a value; a new
    such field must be added here after review."""
    from pydantic import BaseModel

    from models.platform import PlatformConfig
    from tests.config_tree import unwrap

    found: dict[str, str] = {}

    def walk(cls: type[BaseModel], prefix: str, seen: set) -> None:
        if cls in seen:
            return
        seen = seen | {cls}
        for name, f in cls.model_fields.items():
            alias = f.alias or name
            for t in unwrap(f.annotation):
                if isinstance(t, type) and issubclass(t, BaseModel):
                    walk(t, f"{prefix}{alias}.", seen)
            words = [w.lower() for w in re.findall(r"[A-Z]?[a-z]+", alias)]
            if words[-1] in ("key", "keys", "secret", "password", "credential", "credentials") or (
                words[-1] == "token" and words[-2:-1] != ["per"]
            ):
                types = unwrap(f.annotation)
                found[f"{cls.__name__}.{alias}"] = " | ".join(getattr(t, "__name__", str(t)) for t in types)

    walk(PlatformConfig, "", set())
    assert found == {
        "PlatformConfig.hfTokenSecret": "str",  # a Secret name (DnsName)
        "OpenWebUISpec.key": "str",
        "TabbySpec.key": "str",
        "LibreChatSpec.key": "str",  # gateway.keys aliases
        "SecretRef.key": "str",  # the data key inside a named Secret
        "LibreChatSpec.mongoUriSecret": "SecretRef",
        "ExternalModelSpec.apiKeySecret": "SecretRef",
        "DatabaseSpec.urlSecret": "SecretRef",
        "RedisSpec.passwordSecret": "SecretRef",  # Memorystore's AUTH string, by Secret reference
        "GatewaySpec.keys": "KeySpec",  # declared keys: alias, scope, budget (minted in-cluster)
        "SmokeTestSpec.key": "str",  # a gateway.keys alias
        # notifications: names of llm-platform-secrets:* Pulumi config secrets (a pasted URL fails their pattern)
        "EmailSpec.authPasswordSecret": "str",
        "SlackSpec.apiUrlSecret": "str",
        "WebhookSpec.urlSecret": "str",
    }, found
