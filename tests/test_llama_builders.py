"""The pure llama.cpp builders: llama-server args, the GGUF catalog and llama-swap's config.yaml. No Pulumi."""

import itertools
import json
import re
import shlex

import pytest
import yaml

from components.manifests import llama_swap as ls
from components.manifests import llamacpp as lc
from models import parse_config
from tests.conftest import ROOT
from tests.llama_seed import seed_raw

HELP = (ROOT / "tests" / "consumers" / "llama_server_help.txt").read_text()
SCHEMA = ROOT.parent / "shared" / "reference" / "llama-swap" / "config-schema.json"


@pytest.fixture
def seed():
    return seed_raw()


def model(raw, index=0, **changes):
    raw["models"][index].update(changes)
    return parse_config(raw).models[index]


def flags(args: list[str]) -> list[str]:
    return [a.split("=", 1)[0] for a in args if a.startswith("-")]


class TestLlamaServerArgs:
    def test_seed_static_args(self, seed):
        assert lc.llama_server_args(model(seed), lc.STATIC_LINK) == [
            "--model",
            "/models/weights/model.gguf",
            "--alias",
            "GLM-4.7-Flash",
            "--host",
            "0.0.0.0",
            "--port",
            "8080",
            "--ctx-size",
            "16384",
            "--n-gpu-layers",
            "999",
            "--flash-attn",
            "off",
            "--jinja",
            "--metrics",
            "--no-webui",
        ]

    def test_every_knob_maps_to_a_flag_with_its_value(self, seed):
        args = lc.llama_server_args(
            model(
                seed,
                contextSize=4096,
                gpuLayers=20,
                batchSize=512,
                threads=6,
                parallel=2,
                flashAttn="on",
                jinja=False,
                extraArgs=["--temp", "0.6"],
            ),
            "/m.gguf",
        )
        pairs = dict(itertools.pairwise(args))
        assert pairs["--ctx-size"] == "4096" and pairs["--n-gpu-layers"] == "20"
        assert pairs["--batch-size"] == "512" and pairs["--threads"] == "6" and pairs["--parallel"] == "2"
        assert pairs["--flash-attn"] == "on", "a bare --flash-attn would swallow the next argument"
        assert "--no-jinja" in args and "--jinja" not in args
        assert args[-2:] == ["--temp", "0.6"], "extraArgs come last so they can override"

    def test_unset_knobs_leave_llama_cpp_defaults(self, seed):
        args = lc.llama_server_args(model(seed, flashAttn=None), "/m.gguf")
        for flag in ("--batch-size", "--threads", "--parallel", "--flash-attn", "--embeddings"):
            assert flag not in args

    def test_embedding_mode(self, seed):
        assert "--embeddings" in lc.llama_server_args(model(seed, mode="embedding"), "/m.gguf")

    def test_key_never_in_args(self, seed):
        args = lc.llama_server_args(model(seed), "/m.gguf")
        assert not any(a.startswith("--api-key") for a in args), "llama-server reads LLAMA_API_KEY instead"
        assert "(env: LLAMA_API_KEY)" in HELP.split("--api-key KEY", 1)[1][:400]

    def test_every_rendered_flag_exists_in_the_pinned_binary(self, seed):
        cfg = parse_config(seed)
        for m in cfg.models:
            for flag in flags(lc.llama_server_args(m, lc.weights_link(m))):
                assert re.search(rf"(^|[\s,]){re.escape(flag)}([\s,=]|$)", HELP, re.M), flag


class TestGgufCatalog:
    def test_links_are_deterministic(self, seed):
        cfg = parse_config(seed)
        assert [lc.weights_link(m) for m in cfg.models] == [
            "/models/weights/model.gguf",
            "/models/weights/model.gguf",
            "/models/weights/DeepSeek-R1-Distill-Qwen-14B.gguf",
            "/models/weights/Llama-3.1-8B-Instruct.gguf",
        ]

    def test_catalog_records_source_and_link(self, seed):
        cfg = parse_config(seed)
        assert lc.catalog([cfg.models[0]]) == [
            {
                "name": "GLM-4.7-Flash",
                "repo": "unsloth/GLM-4.7-Flash-GGUF",
                "quant": "Q4_K_M",
                "link": "/models/weights/model.gguf",
            }
        ]
        cm = ls.fetch_configmap(cfg)
        assert [e["name"] for e in json.loads(cm["data"]["models.json"])] == [
            "DeepSeek-R1-Distill-Qwen-14B",
            "Llama-3.1-8B-Instruct",
        ]
        assert cm["data"]["fetch_gguf.py"] == lc.FETCH_SCRIPT.read_text()


class TestSwapConfig:
    def test_one_entry_per_swap_model(self, seed):
        conf = ls.swap_config(parse_config(seed))
        assert list(conf["models"]) == ["DeepSeek-R1-Distill-Qwen-14B", "Llama-3.1-8B-Instruct"]
        assert conf["healthCheckTimeout"] == 300
        for name, entry in conf["models"].items():
            argv = shlex.split(entry["cmd"])
            assert argv[0] == "/app/llama-server"
            pairs = dict(itertools.pairwise(argv))
            assert pairs["--port"] == "${PORT}" and pairs["--host"] == "127.0.0.1"
            assert pairs["--alias"] == name and pairs["--model"] == f"/models/weights/{name}.gguf"
            assert entry["proxy"] == "http://127.0.0.1:${PORT}" and entry["checkEndpoint"] == "/health"
            assert entry["ttl"] == 1800

    def test_cmd_runs_the_static_args(self, seed):
        cfg = parse_config(seed)
        m = cfg.models[2]
        argv = shlex.split(ls.swap_config(cfg)["models"][m.name]["cmd"])
        assert argv[1:] == lc.llama_server_args(m, lc.weights_link(m), port="${PORT}", host="127.0.0.1")

    def test_exclusive_group_on_one_gpu(self, seed):
        assert ls.swap_config(parse_config(seed))["groups"] == {
            "swap-pool": {
                "swap": True,
                "exclusive": True,
                "members": ["DeepSeek-R1-Distill-Qwen-14B", "Llama-3.1-8B-Instruct"],
            }
        }

    def test_non_exclusive_lets_members_run_together(self, seed):
        seed["swap"]["exclusive"] = False
        assert ls.swap_config(parse_config(seed))["groups"]["swap-pool"]["swap"] is False

    def test_ttl_zero_never_unloads(self, seed):
        seed["swap"]["ttl"] = 0
        assert {e["ttl"] for e in ls.swap_config(parse_config(seed))["models"].values()} == {0}

    def test_quoted_extra_args_survive_llama_swaps_split(self, seed):
        kwargs = '{"enable_thinking": false}'
        cfg = parse_config(
            {
                **seed,
                "models": seed["models"][:2]
                + [{**seed["models"][2], "extraArgs": ["--chat-template-kwargs", kwargs]}, seed["models"][3]],
            }
        )
        cmd = ls.swap_config(cfg)["models"]["DeepSeek-R1-Distill-Qwen-14B"]["cmd"]
        assert shlex.split(cmd.replace("${PORT}", "5800"))[-2:] == ["--chat-template-kwargs", kwargs]
        assert "--port ${PORT}" in cmd, "the macro stays bare so llama-swap substitutes it"

    def test_no_secret_in_the_config(self, seed):
        text = ls.config_yaml(parse_config(seed))
        assert "api-key" not in text and "LLAMA_API_KEY" not in text and "apiKeys" not in text

    def test_yaml_is_built_from_the_dict(self, seed):
        cfg = parse_config(seed)
        assert yaml.safe_load(ls.config_yaml(cfg)) == ls.swap_config(cfg)


class TestSwapConfigSchema:
    """The rendered config.yaml against llama-swap's published JSON schema (shared reference data)."""

    @pytest.fixture(scope="class")
    def schema(self):
        if not SCHEMA.is_file():
            pytest.skip(
                f"llama-swap schema not found at {SCHEMA} (../shared/reference/llama-swap/ relative to "
                "the repo root); cannot validate the rendered config"
            )
        return json.loads(SCHEMA.read_text())

    @pytest.mark.parametrize(
        "swap", [{}, {"exclusive": False, "ttl": 0, "logLevel": "debug"}, {"healthCheckTimeout": 15}]
    )
    def test_rendered_config_validates(self, seed, schema, swap):
        import jsonschema

        seed["swap"].update(swap)
        conf = yaml.safe_load(ls.configmap(parse_config(seed))["data"]["config.yaml"])
        jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(conf)

    def test_schema_catches_a_broken_config(self, seed, schema):
        import jsonschema

        conf = ls.swap_config(parse_config(seed))
        conf["healthCheckTimeout"] = 5
        conf["models"]["Llama-3.1-8B-Instruct"]["ttl"] = -2
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(conf))
        assert len(errors) == 2, "the validation above is not vacuous"
