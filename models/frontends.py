"""The chat and completion front-ends (`llm-platform:frontends`): Open WebUI, Tabby and LibreChat.

Each block is optional; present and `enabled` (the default) deploys it. A front-end names the alias of a
`gateway.keys` entry (`key:`) and authenticates with that minted, scoped key, never the master key.
The rules that need the gateway and the models (the key exists, it covers what the front-end calls, the
model modes fit) are in `frontend_problems`, which PlatformConfig runs.
"""

from collections.abc import Iterable, Sequence
from typing import Protocol

from pydantic import Field, model_validator

from .base import Spec
from .common import DnsName, ImageRef, Problems
from .gateway import KeySpec, ResourcesSpec, SecretRef

FRONTEND_IMAGES: dict[str, str] = {
    "openWebui": "ghcr.io/open-webui/open-webui:v0.6.36"
    "@sha256:dfe43b30a5474164b1a81e1cce298a6769bb22144f74df556beefee4ccca5394",
    "tabby": "tabbyml/tabby:0.32.0@sha256:8de9da4d266b5cd0fb54fe1ffaa772311e5d886453ba1c3a0d1bbcee893e71a9",
    "librechat": "ghcr.io/danny-avila/librechat:v0.8.7"
    "@sha256:c5db3331b845e1f289f8d04c0c77936c4bbe372f76730a804abc1c37e44d23a9",
}
# Qwen2.5-Coder fill-in-the-middle tokens; the client formats the prompt, vLLM has no FIM flag (seed 002).
QWEN_FIM_TEMPLATE = "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"
# LibreChat refuses a custom endpoint named like one of its built-in endpoints.
LIBRECHAT_RESERVED = {
    "openAI",
    "azureOpenAI",
    "google",
    "anthropic",
    "assistants",
    "azureAssistants",
    "agents",
    "bedrock",
    "custom",
    "gptPlugins",
    "chatGPTBrowser",
}


class FrontendSpec(Spec):
    """What every front-end shares. One replica at most: its data lives on a ReadWriteOnce PVC."""

    enabled: bool = True
    key: DnsName
    replicas: int = Field(default=1, ge=0, le=1)
    storage_gib: int = Field(default=5, alias="storageGiB", ge=1, le=1024)
    resources: ResourcesSpec = ResourcesSpec(cpu="250m", memory="512Mi", cpu_limit="1", memory_limit="1Gi")

    def needed_models(self, chat_models: list[str]) -> list[tuple[str, str]]:
        """(config path, model alias) pairs this front-end calls, so its key must cover them."""
        return []


class OpenWebUISpec(FrontendSpec):
    image: ImageRef = FRONTEND_IMAGES["openWebui"]
    resources: ResourcesSpec = ResourcesSpec(cpu="250m", memory="1Gi", cpu_limit="2", memory_limit="2Gi")
    # false: env (gateway URL, key) wins on every start instead of the copy Open WebUI stores on first boot.
    persistent_config: bool = False


class TabbySpec(FrontendSpec):
    image: ImageRef = FRONTEND_IMAGES["tabby"]
    storage_gib: int = Field(default=10, alias="storageGiB", ge=1, le=1024)
    resources: ResourcesSpec = ResourcesSpec(cpu="250m", memory="1Gi", cpu_limit="2", memory_limit="3Gi")
    # The gateway alias of a `mode: completion` model: Tabby reaches FIM through /v1/completions.
    model: str = Field(min_length=1)
    prompt_template: str = QWEN_FIM_TEMPLATE
    # Optional gateway alias of a `mode: embedding` model; unset, Tabby runs its default local embedder on CPU.
    embedding_model: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _template_has_slots(self) -> "TabbySpec":
        missing = [s for s in ("{prefix}", "{suffix}") if s not in self.prompt_template]
        if missing:
            raise ValueError(
                f"promptTemplate: has no {' or '.join(missing)}; Tabby fills both into the FIM "
                f"prompt. Use the model's FIM format, e.g. '{QWEN_FIM_TEMPLATE}'"
            )
        return self

    def needed_models(self, chat_models: list[str]) -> list[tuple[str, str]]:
        out = [("frontends.tabby.model", self.model)]
        if self.embedding_model:
            out.append(("frontends.tabby.embeddingModel", self.embedding_model))
        return out


class LibreChatSpec(FrontendSpec):
    image: ImageRef = FRONTEND_IMAGES["librechat"]
    resources: ResourcesSpec = ResourcesSpec(cpu="250m", memory="512Mi", cpu_limit="1", memory_limit="1536Mi")
    # LibreChat stores users and chats in MongoDB; the platform does not run one. {name, key} of a Secret in
    # the front-ends namespace holding the mongodb:// URI.
    mongo_uri_secret: SecretRef | None = None
    # Transparent model names shown in the picker (seed 003); unset = every chat model in the gateway.
    models: list[str] | None = Field(default=None, min_length=1)
    endpoint_name: str = Field(default="LLM Platform", min_length=1)
    model_display_label: str = Field(default="LLM Platform", min_length=1)
    title_convo: bool = True
    # Model that writes conversation titles; unset = the first listed model.
    title_model: str | None = Field(default=None, min_length=1)
    # Off: anyone who reaches LibreChat could otherwise create an account and spend the shared key's budget.
    allow_registration: bool = False

    @model_validator(mode="after")
    def _needs_mongo(self) -> "LibreChatSpec":
        if self.enabled and self.mongo_uri_secret is None:
            raise ValueError(
                "mongoUriSecret: is required when LibreChat is enabled; LibreChat keeps users and "
                "chats in MongoDB, which this platform does not run. Create a Secret in the "
                "front-ends namespace holding the mongodb:// URI and set mongoUriSecret: {name, key}, "
                "or set enabled: false"
            )
        if self.endpoint_name in LIBRECHAT_RESERVED:
            raise ValueError(
                f"endpointName: '{self.endpoint_name}' is a LibreChat built-in endpoint name, which a "
                "custom endpoint may not use; pick another, e.g. 'LLM Platform'"
            )
        return self

    def listed_models(self, chat_models: list[str]) -> list[str]:
        return list(self.models) if self.models is not None else list(chat_models)

    def resolved_title_model(self, chat_models: list[str]) -> str | None:
        listed = self.listed_models(chat_models)
        return self.title_model or (listed[0] if listed else None)

    def needed_models(self, chat_models: list[str]) -> list[tuple[str, str]]:
        where = "frontends.librechat.models" if self.models is not None else "frontends.librechat.models (default)"
        out = [(where, m) for m in self.listed_models(chat_models)]
        if self.title_model and self.title_model not in {name for _, name in out}:
            out.append(("frontends.librechat.titleModel", self.title_model))
        return out


class FrontendsSpec(Spec):
    open_webui: OpenWebUISpec | None = None
    tabby: TabbySpec | None = None
    librechat: LibreChatSpec | None = None

    def enabled(self) -> list[tuple[str, FrontendSpec]]:
        """(config key, spec) of every front-end that is declared and enabled."""
        pairs = (("openWebui", self.open_webui), ("tabby", self.tabby), ("librechat", self.librechat))
        return [(k, v) for k, v in pairs if v is not None and v.enabled]

    @property
    def any_enabled(self) -> bool:
        return bool(self.enabled())


class _Routed(Protocol):
    # Read-only: the specs are frozen pydantic models.
    @property
    def name(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def register_in_gateway(self) -> bool: ...


def chat_models(models: Iterable[_Routed]) -> list[str]:
    """Every chat-mode model the gateway registers, in declaration order."""
    return [m.name for m in models if m.register_in_gateway and m.mode == "chat"]


def _modes_of(models: Iterable[_Routed]) -> dict[str, str]:
    return {m.name: m.mode for m in models if m.register_in_gateway}


def _known(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"


def frontend_problems(
    frontends: FrontendsSpec, keys: list[KeySpec], models: Sequence[_Routed], frontends_namespace: str
) -> list[str]:
    """Cross-field rules: each enabled front-end's key exists, lives beside it, and covers the models it calls."""
    p = Problems()
    modes, chats = _modes_of(models), chat_models(models)
    by_alias = {k.alias: i for i, k in enumerate(keys)}
    wanted_mode = {
        "frontends.tabby.model": ("completion", "Tabby sends FIM prompts to /v1/completions"),
        "frontends.tabby.embeddingModel": ("embedding", "Tabby indexes code through /v1/embeddings"),
    }
    for field, fe in frontends.enabled():
        path = f"frontends.{field}"
        needed = fe.needed_models(chats)
        for where, name in needed:
            mode = modes.get(name)
            base = where.split(" ")[0]
            if mode is None:
                p.add(
                    base,
                    f"'{name}' is not a model registered in the gateway (known: {_known(modes)}); "
                    "use a declared models[].name",
                )
                continue
            want, why = wanted_mode.get(base, ("chat", f"{field} calls /v1/chat/completions"))
            if mode != want:
                fits = [n for n, m in modes.items() if m == want]
                p.add(
                    base,
                    f"'{name}' is a mode: {mode} model, but {why}; use a mode: {want} model "
                    f"(known: {_known(fits)}) or set mode: {want} on '{name}'",
                )
        if field == "librechat" and not needed:
            p.add(
                f"{path}.models",
                "the gateway registers no chat model, so LibreChat would list nothing; "
                "declare a mode: chat model or list models explicitly",
            )
        i = by_alias.get(fe.key)
        if i is None:
            hint = (
                " It looks like a key value: stack config names a key by its alias, and key values never go in config."
                if fe.key.startswith("sk-")
                else ""
            )
            p.add(
                f"{path}.key",
                f"'{fe.key}' is not a declared gateway key (known: {_known(by_alias)}); add "
                f"gateway.keys: [{{alias: {fe.key}, models: [...]}}] (it is minted into Secret "
                f"litellm-key-{fe.key}) or use a declared alias. Front-ends never get the master key.{hint}",
            )
            continue
        key = keys[i]
        if key.namespace and key.namespace != frontends_namespace:
            p.add(
                f"gateway.keys[{i}].namespace",
                f"key '{key.alias}' is written to namespace '{key.namespace}', but {path} runs in "
                f"'{frontends_namespace}' and can only read Secrets there; remove namespace from the key or "
                "give this front-end its own key",
            )
        for where, name in needed:
            if name in modes and name not in key.models:
                p.add(
                    f"gateway.keys[{i}].models",
                    f"key '{key.alias}' (used by {path}) does not include '{name}', which {where} needs, so "
                    f"the gateway would refuse it; add '{name}' to gateway.keys[{i}].models",
                )
        if field == "openWebui" and not any(modes.get(m) == "chat" for m in key.models):
            p.add(
                f"gateway.keys[{i}].models",
                f"key '{key.alias}' (used by {path}) covers no chat model, so Open WebUI has nothing to chat "
                f"with; add one of: {_known(chats)}",
            )
    if frontends.librechat is not None and frontends.librechat.enabled:
        lc = frontends.librechat
        title, listed = lc.resolved_title_model(chats), lc.listed_models(chats)
        if lc.title_model and title not in listed:
            p.add(
                "frontends.librechat.titleModel",
                f"'{title}' is not one of the listed models "
                f"({_known(listed)}); LibreChat titles chats with a model from its own list. Pick one of them",
            )
    return p.lines
