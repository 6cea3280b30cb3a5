"""Real consumer: every llama-server command line the seed stack renders, started for real on the CPU.

Each static container's args and each llama-swap model's cmd run unchanged except for the port (a free one,
filling ${PORT} for swap models) and the /models mount, which points at a temp "PVC" that the rendered
fetch_gguf.py catalog staged offline from an HF cache holding a tiny generated GGUF. The server gets the
upstream key the way the pod does (env LLAMA_API_KEY), so /v1/models must be open and completions keyed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.manifests.llamacpp import CACHE_MOUNT, FETCH_SCRIPT
from models import config_from_pulumi_values, parse_config
from tests.consumers.llama_server import free_port, http_get, http_post_json, run_llama_server
from tests.consumers.require import llama_binary
from tests.consumers.tiny_gguf import ensure_tiny_gguf
from tests.llama_seed import rendered_llama_commands, seed_plan, seed_values
from tests.test_fetch_gguf import warm_repo
from tests.test_prestage import offline_prefix

pytestmark = pytest.mark.consumer

KEY = "test-upstream-key"
LLAMA_NAMES = [m.name for m in parse_config(config_from_pulumi_values(seed_values())).models if m.engine == "llamacpp"]


@pytest.fixture(scope="module")
def llama_bin() -> Path:
    return llama_binary()


@pytest.fixture(scope="module")
def plan():
    return seed_plan()


@pytest.fixture(scope="module")
def pvc(tmp_path_factory, plan, llama_bin) -> Path:
    """/models as the pods see it: the tiny GGUF in each catalog repo's HF cache, staged by the rendered
    catalogs with the network cut."""
    root = tmp_path_factory.mktemp("pvc") / "models"
    tiny = ensure_tiny_gguf(root.parent / "tiny.gguf").read_bytes()
    prefix, net_env = offline_prefix()
    for cm in plan.find("ConfigMap"):
        if "models.json" not in cm.get("data", {}):
            continue
        catalog = json.loads(cm["data"]["models.json"])
        for entry in catalog:
            base = entry["repo"].split("/")[1].removesuffix("-GGUF")
            warm_repo(root / "hf", entry["repo"], {f"{base}-{entry['quant']}.gguf": tiny})
            entry["link"] = str(root) + entry["link"].removeprefix(CACHE_MOUNT)
        cat = root.parent / f"{cm['metadata']['name']}.json"
        cat.write_text(json.dumps(catalog))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
        # One directory stands in for every claim (each pod has its own on GKE), so one catalog's prune must not
        # remove another's GGUFs: tests/test_gguf_cache_prune.py covers the prune.
        env.update(net_env, HF_HOME=str(root / "hf"), FETCH_ATTEMPTS="1", PRUNE="0")
        res = subprocess.run(
            [*prefix, sys.executable, str(FETCH_SCRIPT), str(cat)], env=env, capture_output=True, text=True, timeout=120
        )
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout.count("0 hub calls") == len(catalog)
    return root


def localise(argv: list[str], pvc: Path, port: int) -> list[str]:
    """The rendered argv with only the /models mount and the port replaced."""
    out = [str(pvc) + a.removeprefix(CACHE_MOUNT) if a.startswith(CACHE_MOUNT + "/") else a for a in argv]
    i = out.index("--port")
    assert out[i + 1] in ("8080", "${PORT}"), out[i + 1]
    out[i + 1] = str(port)
    return out


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_ARG_")}
    env["LLAMA_API_KEY"] = KEY  # what the pod gets from Secret vllm-api-key
    return env


def test_every_llama_backend_has_a_rendered_command(plan):
    assert sorted(rendered_llama_commands(plan)) == sorted(LLAMA_NAMES)
    assert len(LLAMA_NAMES) == 4


@pytest.mark.parametrize("name", LLAMA_NAMES)
def test_rendered_command_serves_its_transparent_name(name, plan, pvc, llama_bin):
    argv = localise(rendered_llama_commands(plan)[name], pvc, free_port())
    assert not any(a == KEY for a in argv), "the key is never on the command line"
    with run_llama_server(argv, bin_path=llama_bin, env=server_env(), timeout=120) as srv:
        assert http_get(srv.base_url + "/health")[0] == 200
        status, body = http_get(srv.base_url + "/v1/models")  # open even with a key: the readiness probe
        assert status == 200, body
        assert [m["id"] for m in json.loads(body)["data"]] == [name]
        chat = {"model": name, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
        assert http_post_json(srv.base_url + "/v1/chat/completions", chat)[0] == 401
        status, body = http_post_json(srv.base_url + "/v1/chat/completions", chat, {"Authorization": f"Bearer {KEY}"})
        assert status == 200, body
        assert http_get(srv.base_url + "/metrics", {"Authorization": f"Bearer {KEY}"})[0] == 200


def test_staged_links_are_what_the_commands_load(plan, pvc):
    for name, argv in rendered_llama_commands(plan).items():
        model = argv[argv.index("--model") + 1]
        assert model.startswith(CACHE_MOUNT + "/weights/"), model
        staged = Path(str(pvc) + model.removeprefix(CACHE_MOUNT))
        assert staged.is_symlink() and staged.resolve().is_file(), name
