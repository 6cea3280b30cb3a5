"""Front-end config rules, without Pulumi: each class is one invariant, each test asserts key path and fix."""

import pytest

from models import ConfigError, parse_config

MONGO = {"name": "librechat-mongo", "key": "uri"}


def reject(raw) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    return str(exc.value)


def keys(raw) -> list[dict]:
    return raw["gateway"]["keys"]


def with_librechat(raw, **extra):
    keys(raw)[0]["models"] = ["coder-chat", "coder-agent"]  # every chat model: LibreChat's default list
    raw["frontends"]["librechat"] = {"key": "open-webui", "mongoUriSecret": MONGO, **extra}
    return raw


class TestDevFrontends:
    def test_dev_enables_open_webui_and_tabby_only(self, dev_raw):
        fe = parse_config(dev_raw).frontends
        assert [k for k, _ in fe.enabled()] == ["openWebui", "tabby"]
        assert fe.tabby.model == "coder-fim" and fe.librechat is None

    def test_frontends_are_optional(self, dev_raw):
        dev_raw.pop("frontends")
        assert not parse_config(dev_raw).frontends.any_enabled

    def test_disabled_block_is_not_checked_against_keys(self, dev_raw):
        dev_raw["frontends"]["tabby"].update(enabled=False, key="not-declared")
        assert [k for k, _ in parse_config(dev_raw).frontends.enabled()] == ["openWebui"]


class TestFrontendsUseDeclaredKeys:
    def test_unknown_alias(self, dev_raw):
        dev_raw["frontends"]["openWebui"]["key"] = "webui"
        msg = reject(dev_raw)
        assert (
            "frontends.openWebui.key: 'webui' is not a declared gateway key (known: open-webui, tabby, smoke-test)"
            in msg
        )
        assert "add gateway.keys: [{alias: webui" in msg and "never get the master key" in msg

    def test_key_value_instead_of_alias(self, dev_raw):
        dev_raw["frontends"]["tabby"]["key"] = "sk-1234abcd"
        assert "looks like a key value" in reject(dev_raw)

    def test_key_secret_must_be_in_frontends_namespace(self, dev_raw):
        keys(dev_raw)[1]["namespace"] = "dev-tools"
        msg = reject(dev_raw)
        assert "gateway.keys[1].namespace: key 'tabby' is written to namespace 'dev-tools'" in msg
        assert "runs in 'experience'" in msg

    def test_key_field_is_required(self, dev_raw):
        del dev_raw["frontends"]["tabby"]["key"]
        assert "frontends.tabby.key: is required" in reject(dev_raw)


class TestKeysCoverFrontendModels:
    def test_tabby_key_missing_fim_model(self, dev_raw):
        keys(dev_raw)[1]["models"] = ["coder-chat"]
        msg = reject(dev_raw)
        assert (
            "gateway.keys[1].models: key 'tabby' (used by frontends.tabby) does not include 'coder-fim', "
            "which frontends.tabby.model needs"
        ) in msg
        assert "add 'coder-fim' to gateway.keys[1].models" in msg

    def test_open_webui_key_without_a_chat_model(self, dev_raw):
        keys(dev_raw)[0]["models"] = ["coder-fim"]
        msg = reject(dev_raw)
        assert "gateway.keys[0].models: key 'open-webui' (used by frontends.openWebui) covers no chat model" in msg
        assert "add one of: coder-chat" in msg

    def test_librechat_listed_models_must_be_in_key(self, dev_raw):
        with_librechat(dev_raw, key="tabby", models=["coder-chat"])
        msg = reject(dev_raw)
        assert (
            "gateway.keys[1].models: key 'tabby' (used by frontends.librechat) does not include 'coder-chat', "
            "which frontends.librechat.models needs"
        ) in msg

    def test_librechat_default_list_is_every_chat_model(self, dev_raw):
        with_librechat(dev_raw, key="tabby")
        assert "which frontends.librechat.models (default) needs" in reject(dev_raw)

    def test_covered_key_passes(self, dev_raw):
        cfg = parse_config(with_librechat(dev_raw))
        assert cfg.frontends.librechat.listed_models(["coder-chat"]) == ["coder-chat"]


class TestTabbyNeedsCompletionModel:
    def test_chat_model_rejected(self, dev_raw):
        dev_raw["frontends"]["tabby"]["model"] = "coder-chat"
        keys(dev_raw)[1]["models"] = ["coder-chat", "coder-fim"]
        msg = reject(dev_raw)
        assert (
            "frontends.tabby.model: 'coder-chat' is a mode: chat model, but Tabby sends FIM prompts to "
            "/v1/completions; use a mode: completion model (known: coder-fim)"
        ) in msg

    def test_unknown_model(self, dev_raw):
        dev_raw["frontends"]["tabby"]["model"] = "coder-fim-7b"
        msg = reject(dev_raw)
        assert "frontends.tabby.model: 'coder-fim-7b' is not a model registered in the gateway" in msg

    def test_model_is_required(self, dev_raw):
        del dev_raw["frontends"]["tabby"]["model"]
        assert "frontends.tabby.model: is required" in reject(dev_raw)

    def test_embedding_model_must_be_embedding_mode(self, dev_raw):
        dev_raw["frontends"]["tabby"]["embeddingModel"] = "coder-fim"
        msg = reject(dev_raw)
        assert "frontends.tabby.embeddingModel: 'coder-fim' is a mode: completion model" in msg
        assert "use a mode: embedding model (known: embeddings)" in msg

    def test_prompt_template_needs_both_slots(self, dev_raw):
        dev_raw["frontends"]["tabby"]["promptTemplate"] = "<PRE> {prefix} <MID>"
        msg = reject(dev_raw)
        assert "frontends.tabby.promptTemplate: has no {suffix}" in msg

    def test_default_template_is_qwen_fim(self, dev_raw):
        tpl = parse_config(dev_raw).frontends.tabby.prompt_template
        assert tpl == "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"


class TestLibreChatNeedsMongo:
    def test_missing_mongo_secret(self, dev_raw):
        with_librechat(dev_raw)
        del dev_raw["frontends"]["librechat"]["mongoUriSecret"]
        msg = reject(dev_raw)
        assert "frontends.librechat.mongoUriSecret: is required when LibreChat is enabled" in msg
        assert "set mongoUriSecret: {name, key}" in msg

    def test_disabled_librechat_needs_nothing(self, dev_raw):
        dev_raw["frontends"]["librechat"] = {"enabled": False, "key": "open-webui"}
        assert parse_config(dev_raw).frontends.librechat.enabled is False

    def test_mongo_secret_fields_checked(self, dev_raw):
        with_librechat(dev_raw)
        dev_raw["frontends"]["librechat"]["mongoUriSecret"] = {"name": "Mongo_URI", "key": "uri"}
        assert "frontends.librechat.mongoUriSecret.name:" in reject(dev_raw)


class TestLibreChatListsChatModels:
    def test_fim_model_not_offered_for_chat(self, dev_raw):
        with_librechat(dev_raw, models=["coder-chat", "coder-fim"])
        keys(dev_raw)[0]["models"] = ["coder-chat", "coder-fim"]
        msg = reject(dev_raw)
        assert (
            "frontends.librechat.models: 'coder-fim' is a mode: completion model, but librechat calls "
            "/v1/chat/completions" in msg
        )

    def test_title_model_from_the_list(self, dev_raw):
        with_librechat(dev_raw, titleModel="coder-fim")
        keys(dev_raw)[0]["models"] = ["coder-chat", "coder-fim"]
        assert "frontends.librechat.titleModel: 'coder-fim' is not one of the listed models" in reject(dev_raw)

    def test_reserved_endpoint_name(self, dev_raw):
        with_librechat(dev_raw, endpointName="openAI")
        assert "frontends.librechat.endpointName: 'openAI' is a LibreChat built-in endpoint name" in reject(dev_raw)

    def test_explicit_empty_list_rejected(self, dev_raw):
        with_librechat(dev_raw, models=[])
        assert "frontends.librechat.models:" in reject(dev_raw)


class TestOneReplicaPerDataVolume:
    @pytest.mark.parametrize("fe", ["openWebui", "tabby"])
    def test_two_replicas_rejected(self, dev_raw, fe):
        dev_raw["frontends"][fe]["replicas"] = 2
        assert f"frontends.{fe}.replicas: input should be less than or equal to 1" in reject(dev_raw)

    def test_zero_allowed(self, dev_raw):
        dev_raw["frontends"]["openWebui"]["replicas"] = 0
        assert parse_config(dev_raw).frontends.open_webui.replicas == 0

    def test_unknown_key_in_block(self, dev_raw):
        dev_raw["frontends"]["openWebui"]["apiKey"] = "sk-x"
        assert "frontends.openWebui.apiKey: is not a known key" in reject(dev_raw)

    @pytest.mark.parametrize("ref", ["ghcr.io/open-webui/open-webui", "ghcr.io/open-webui/open-webui:latest"])
    def test_unpinned_image_rejected(self, dev_raw, ref):
        dev_raw["frontends"]["openWebui"]["image"] = ref
        assert "frontends.openWebui.image:" in reject(dev_raw)
