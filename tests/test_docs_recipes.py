"""Every how-to recipe in docs/ is applied and rendered: a `<!-- recipe: ID on STACK -->` marker before a ```diff
block names a shipped stack file; the diff is applied to a copy of it, the program renders it under the mocks, and
the check below asserts what the page says the render shows. A recipe without a check, or a check whose recipe
left the docs, fails, as does a diff that no longer matches its stack file."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from offline.plan import Plan, pod_role
from scripts.stack_schema import SCHEMA_PATH
from tests.conftest import NS, ROOT, plan_for
from tests.llama_seed import swap_config

DOCS = ROOT / "docs"
MARKER = re.compile(r"<!-- recipe: (?P<id>[a-z0-9-]+) on (?P<stack>\S+) -->\n```diff\n(?P<diff>.*?)```", re.S)


def recipes() -> dict[str, tuple[Path, Path, list[str]]]:
    """recipe id -> (page, stack file, diff lines)."""
    found: dict[str, tuple[Path, Path, list[str]]] = {}
    for page in sorted(DOCS.rglob("*.md")):
        for m in MARKER.finditer(page.read_text()):
            assert m["id"] not in found, f"recipe {m['id']} is declared twice"
            found[m["id"]] = (page, ROOT / m["stack"], m["diff"].splitlines())
    return found


def apply_diff(lines: list[str], diff: list[str]) -> list[str]:
    """Apply a docs-style diff: context and removed lines are found in order, added lines go where they stand;
    an `@@ ... @@` line only separates two places in the file."""
    out, pos = list(lines), 0
    for d in diff:
        if d.startswith("@@"):
            continue
        op, text = d[0], d[1:]
        if op == "+":
            out.insert(pos, text)
            pos += 1
            continue
        pos = out.index(text, pos)  # ValueError: the recipe no longer matches its stack file
        if op == "-":
            del out[pos]
        else:
            pos += 1
    return out


def render_recipe(recipe_id: str) -> tuple[Plan, Plan]:
    """(the stack as shipped, the stack with the recipe applied), both rendered."""
    _page, stack, diff = recipes()[recipe_id]
    lines = stack.read_text().splitlines()

    def plan(text: str) -> Plan:
        doc = yaml.safe_load(text)
        return plan_for({k.removeprefix(NS): v for k, v in doc["config"].items() if k.startswith(NS)})

    return plan("\n".join(lines)), plan("\n".join(apply_diff(lines, diff)))


def names(plan: Plan, kind: str) -> set[str]:
    return {m["metadata"]["name"] for m in plan.find(kind)}


def container(plan: Plan, deployment: str, name: str) -> dict:
    pod = plan.one("Deployment", deployment)["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == name)


def model_list(plan: Plan) -> dict[str, dict]:
    config = yaml.safe_load(plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])
    return {m["model_name"]: m for m in config["model_list"]}


def check_add_a_model(before: Plan, after: Plan) -> None:
    assert "coder-review" not in names(before, "Deployment")
    dep = after.one("Deployment", "coder-review")
    assert dep["spec"]["replicas"] == 0
    assert after.outputs["modelEndpoints"]["coder-review"] == "http://coder-review.serving.svc.cluster.local:8000/v1"
    assert "coder-review-model-cache" in names(after, "PersistentVolumeClaim")
    assert "coder-review" in model_list(after)
    assert pod_role(dep["spec"]["template"]["spec"]) == "chat"  # pool l4-chat's role label


def check_change_a_model(before: Plan, after: Plan) -> None:
    assert "--max-model-len=16384" in container(before, "coder-chat", "vllm")["args"]
    assert "--max-model-len=32768" in container(after, "coder-chat", "vllm")["args"]


def check_scale_one_model(before: Plan, after: Plan) -> None:
    assert before.one("Deployment", "coder-chat")["spec"]["replicas"] == 0
    assert after.one("Deployment", "coder-chat")["spec"]["replicas"] == 1
    assert after.outputs["costPlan"]["pools"]["l4-chat"]["planned"]["nodes"] == 1


def check_remove_a_model(before: Plan, after: Plan) -> None:
    assert "coder-embed" in names(before, "Deployment") and "coder-embed" in model_list(before)
    assert "coder-embed" not in names(after, "Deployment") | names(after, "Service")
    assert "coder-embed" not in after.outputs["modelEndpoints"] and "coder-embed" not in model_list(after)


def check_add_a_swap_model(before: Plan, after: Plan) -> None:
    assert "Mistral-Small-3.2-24B-Instruct" in swap_config(after)["models"]
    assert after.outputs["modelEndpoints"]["Mistral-Small-3.2-24B-Instruct"].startswith("http://llama-swap.")
    assert after.one("PersistentVolumeClaim", "llama-swap-cache")["spec"]["resources"]["requests"]["storage"] == "50Gi"


def check_pin_a_model(before: Plan, after: Plan) -> None:
    assert after.outputs["modelEndpoints"]["DeepSeek-R1-Distill-Qwen-14B"].startswith("http://llama-static-c.")
    assert list(swap_config(after)["models"]) == ["Llama-3.1-8B-Instruct"]
    assert after.outputs["gpusRequested"]["static-c"] == 1


def check_mint_a_key(before: Plan, after: Plan) -> None:
    keys = {k["key_alias"]: k for k in json.loads(after.one("ConfigMap", "litellm-keys")["data"]["keys.json"])["keys"]}
    assert keys["ci-bot"]["models"] == ["coder-chat"]
    assert (keys["ci-bot"]["max_budget"], keys["ci-bot"]["budget_duration"], keys["ci-bot"]["rpm_limit"]) == (
        2.0,
        "30d",
        30,
    )
    assert after.outputs["keySecrets"]["ci-bot"] == "experience/litellm-key-ci-bot (key api-key)"
    assert "ci-bot" not in before.outputs["keySecrets"]


def check_add_an_external_model(before: Plan, after: Plan) -> None:
    entry = model_list(after)["granite-ext"]
    params = entry["litellm_params"]
    assert params["model"] == "openai/granite-3-2-8b-instruct" and params["api_base"].startswith("https://models.")
    assert params["api_key"] == "os.environ/EXTERNAL_GRANITE_EXT_API_KEY" and params["rpm"] == 60
    env = {e["name"]: e for e in container(after, "litellm", "litellm")["env"]}
    assert env["EXTERNAL_GRANITE_EXT_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "granite-key", "key": "api-key"}
    assert names(before, "Deployment") == names(after, "Deployment")  # no pod for an external model


def check_pin_an_image(before: Plan, after: Plan) -> None:
    assert container(before, "litellm", "litellm")["image"].endswith(":v1.102.4")
    assert container(after, "litellm", "litellm")["image"] == "ghcr.io/berriai/litellm-non_root:v1.102.5"


def check_create_an_environment(before: Plan, after: Plan) -> None:
    clusters = [inputs for typ, _, inputs in after.gcp if typ.endswith("container/cluster:Cluster")]
    assert [(c["name"], c["project"], c["deletionProtection"]) for c in clusters] == [
        ("ai-staging", "ai-staging-project", False)
    ]
    buckets = [inputs["name"] for typ, _, inputs in after.gcp if typ.endswith("storage/bucket:Bucket")]
    assert buckets == ["ai-staging-project-litellm-db-backups"]
    assert "ai-prod" in json.dumps(before.gcp) and "ai-prod" not in json.dumps(after.gcp)


def check_restore_side_by_side(before: Plan, after: Plan) -> None:
    assert names(before, "Cluster") == {"litellm-db"} and names(after, "Cluster") == {"litellm-db", "litellm-db-2"}
    assert after.one("Cluster", "litellm-db") == before.one("Cluster", "litellm-db"), "the live Cluster is untouched"
    recovery = after.one("Cluster", "litellm-db-2")["spec"]["bootstrap"]["recovery"]
    assert recovery["source"] == "origin" and recovery["secret"] == {"name": "litellm-db-credentials"}
    assert after.one("Deployment", "litellm") == before.one("Deployment", "litellm"), "the gateway reads litellm-db"
    assert "litellm-db-2-daily" in names(after, "ScheduledBackup")


CHECKS: dict[str, Callable[[Plan, Plan], None]] = {
    "restore-side-by-side": check_restore_side_by_side,
    "add-a-model": check_add_a_model,
    "change-a-model": check_change_a_model,
    "scale-one-model": check_scale_one_model,
    "remove-a-model": check_remove_a_model,
    "add-a-swap-model": check_add_a_swap_model,
    "pin-a-model": check_pin_a_model,
    "mint-a-key": check_mint_a_key,
    "add-an-external-model": check_add_an_external_model,
    "pin-an-image": check_pin_an_image,
    "create-an-environment": check_create_an_environment,
}


def test_every_recipe_has_a_check_and_every_check_a_recipe():
    assert set(recipes()) == set(CHECKS)


@pytest.mark.parametrize("recipe_id", sorted(CHECKS))
def test_recipe_renders_what_its_page_says(recipe_id):
    page, stack, _ = recipes()[recipe_id]
    assert stack.is_file(), f"{page.relative_to(ROOT)}: recipe {recipe_id} names a missing stack file {stack}"
    CHECKS[recipe_id](*render_recipe(recipe_id))


def test_a_recipe_that_no_longer_matches_its_stack_fails():
    with pytest.raises(ValueError):
        apply_diff(["a:", "  b: 1"], [" a:", "-  b: 2", "+  b: 3"])


@pytest.mark.parametrize("page", ["README.md", "docs/getting-started.md"])
def test_the_minimal_stack_file_renders_and_passes_the_schema(page):
    text = (ROOT / page).read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.startswith("# yaml-language-server"))
    doc = yaml.safe_load(block)
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(doc)
    plan = plan_for({k.removeprefix(NS): v for k, v in doc["config"].items() if k.startswith(NS)})
    assert plan.one("Deployment", "chat")["spec"]["replicas"] == 1
    assert plan.outputs["gpusRequested"] == {"l4": 1}
