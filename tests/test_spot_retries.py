"""gateway.numRetries unset: a model on a Spot pool gets one retry of its own, every other model none; set, it
applies to every model through the router and no model overrides it."""

import copy

from components.manifests.gateway import litellm_config
from models import parse_config
from tests.conftest import raw_config


def routes(raw) -> dict:
    cfg = parse_config(raw)
    conf = litellm_config(cfg)
    return conf, {r["model_name"]: r["litellm_params"] for r in conf["model_list"]}


def test_models_on_a_spot_pool_retry_once_by_default():
    raw = copy.deepcopy(raw_config("dev"))  # l4-coder is spot; embeddings is a CPU llama model
    conf, by_name = routes(raw)
    assert conf["router_settings"]["num_retries"] == conf["litellm_settings"]["num_retries"] == 0
    assert by_name["coder-chat"]["num_retries"] == 1
    assert "num_retries" not in by_name["embeddings"]


def test_on_demand_pools_keep_no_retry():
    raw = copy.deepcopy(raw_config("dev"))
    raw["nodePools"][0]["spot"] = False
    _, by_name = routes(raw)
    assert all("num_retries" not in p for p in by_name.values())


def test_an_explicit_gateway_setting_applies_to_every_model():
    raw = copy.deepcopy(raw_config("dev"))
    raw["gateway"]["numRetries"] = 0
    conf, by_name = routes(raw)
    assert conf["router_settings"]["num_retries"] == 0
    assert all("num_retries" not in p for p in by_name.values())
    raw["gateway"]["numRetries"] = 2
    conf, _ = routes(raw)
    assert conf["router_settings"]["num_retries"] == conf["litellm_settings"]["num_retries"] == 2
