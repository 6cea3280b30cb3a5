"""Pod hardening on every rendered workload of every stack (issue 6, point 4), plus the gateway's availability.

Every Deployment and Job, init containers included: requests and limits for cpu and memory, seccomp
RuntimeDefault, no privilege escalation, every capability dropped, non-root with an explicit UID >= 10000 and a
read-only root filesystem, no service-account token, pinned images with an explicit pull policy. The exceptions
are the table in docs/operations/security.md: the only containers that may relax a rule, each only on a
workload that carries the matching checkov skip annotation.
"""

import copy
import re
from functools import cache, lru_cache

import pytest

from components.manifests.common import pod_template
from models import read_stack_file
from offline.mocks import run_program
from offline.plan import Plan, pod_spec, to_plan
from tests.conftest import ROOT, plan_for, raw_config

STACK_FILES = sorted(
    str(p.relative_to(ROOT)) for p in [*ROOT.glob("Pulumi.*.yaml"), *ROOT.glob("examples/Pulumi.*.yaml")]
)
MONGO = {"name": "librechat-mongo", "key": "uri"}

# container name -> the checkov check its workload must skip for each relaxed rule (docs/operations/security.md)
ROOT_OK = {"vllm", "open-webui", "llama-server@amd", "llama-swap@amd"}  # CKV_K8S_23 + CKV_K8S_40
WRITABLE_OK = {"vllm", "litellm", "migrate", "open-webui", "librechat"}  # CKV_K8S_22; migrate: the LiteLLM image
LOW_UID_OK = {"librechat": 1000}  # the image's own user, which owns /app; CKV_K8S_40
# The Job that writes key Secrets, the weight-release Jobs that scale their model to 0 and the Jobs that grow
# cache claims; CKV_K8S_38
API_TOKEN_OK = {"litellm-keys", "weight-release", "cache-grow"}


@cache
def stack_plan(stack_file: str) -> Plan:
    name = stack_file.rsplit("/", 1)[-1].removeprefix("Pulumi.").removesuffix(".yaml")
    return to_plan(run_program(read_stack_file(ROOT / stack_file), name))


def variant_plans() -> dict[str, Plan]:
    """Shapes no stack file renders: LibreChat on, AMD pools for the seed's llama backends, a 3-replica gateway."""
    dev = copy.deepcopy(raw_config("dev"))
    dev["frontends"]["librechat"] = {"key": "open-webui", "mongoUriSecret": MONGO}
    dev["gateway"]["replicas"] = 3
    seed = read_stack_file(ROOT / "examples" / "Pulumi.llama-seed.yaml")
    seed = {k.removeprefix("llm-platform:"): v for k, v in seed.items() if k.startswith("llm-platform:")}
    for pool in seed["nodePools"]:
        pool.update(gpuResource="amd.com/gpu", managed=False, vramGiB=24)
    return {"dev+librechat+3gw": plan_for(dev), "seed-amd": plan_for(seed)}


@lru_cache(maxsize=1)
def all_plans() -> dict[str, Plan]:
    return {**{f: stack_plan(f) for f in STACK_FILES}, **variant_plans()}


def workloads(plan: Plan):
    for m in plan.k8s:
        pod = pod_spec(m)
        if pod is not None:
            yield m, pod


def skipped(manifest) -> set[str]:
    notes = manifest["metadata"].get("annotations", {})
    return {v.split("=", 1)[0] for k, v in notes.items() if k.startswith("checkov.io/skip")}


def is_amd(pod) -> bool:
    return any(t.get("key") == "amd.com/gpu" for t in pod.get("tolerations", []))


def cases():
    for plan_name, plan in all_plans().items():
        for m, pod in workloads(plan):
            for c in pod.get("initContainers", []) + pod["containers"]:
                init = c in pod.get("initContainers", [])
                yield pytest.param(m, pod, c, init, id=f"{plan_name}:{m['kind']}/{m['metadata']['name']}/{c['name']}")


CASES = sorted(cases(), key=lambda c: c.id or "")  # collection order fixed across xdist workers


def test_every_stack_and_variant_has_workloads():
    assert {"Pulumi.dev.yaml", "Pulumi.prod.yaml", "examples/Pulumi.llama-seed.yaml"} <= set(STACK_FILES)
    names = {c.values[2]["name"] for c in CASES}
    assert {
        "vllm",
        "stage",
        "release",
        "grow",
        "llama-server",
        "llama-swap",
        "fetch-gguf",
        "litellm",
        "mint",
        "smoke",
        "open-webui",
        "tabby",
        "render-config",
        "librechat",
    } <= names


@pytest.mark.parametrize("manifest,pod,c,init", CASES)
class TestContainer:
    def test_requests_and_limits(self, manifest, pod, c, init):
        res = c["resources"]
        gpu = any(r in res["requests"] for r in ("nvidia.com/gpu", "amd.com/gpu"))
        assert {"cpu", "memory"} <= set(res["requests"]), res
        # A model server on its own GPU node gets no CPU limit (throttling stalls its API server), only memory.
        assert ({"memory"} if gpu else {"cpu", "memory"}) == set(res["limits"]) - {"nvidia.com/gpu", "amd.com/gpu"}
        if gpu:
            assert "CKV_K8S_11" in skipped(manifest)

    def test_seccomp_no_escalation_no_capabilities(self, manifest, pod, c, init):
        ctx = c["securityContext"]
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert ctx["allowPrivilegeEscalation"] is False and ctx.get("privileged") is not True
        assert ctx["capabilities"] == {"drop": ["ALL"]}

    def test_non_root_with_a_high_uid_unless_excepted(self, manifest, pod, c, init):
        ctx, pctx = c["securityContext"], pod["securityContext"]
        uid = ctx.get("runAsUser", pctx.get("runAsUser"))
        non_root = ctx.get("runAsNonRoot", pctx.get("runAsNonRoot")) is True
        key = f"{c['name']}@amd" if is_amd(pod) else c["name"]
        if not non_root:
            assert not init and key in ROOT_OK, f"{key} runs as root and is not a documented exception"
            assert {"CKV_K8S_23", "CKV_K8S_40"} <= skipped(manifest)
            return
        assert uid is not None and uid != 0, "non-root needs an explicit UID (the image may have none)"
        if uid < 10000:
            assert LOW_UID_OK.get(c["name"]) == uid and "CKV_K8S_40" in skipped(manifest), (c["name"], uid)

    def test_read_only_root_unless_excepted(self, manifest, pod, c, init):
        if c["securityContext"]["readOnlyRootFilesystem"] is not True:
            assert not init and c["name"] in WRITABLE_OK, f"{c['name']} has a writable root fs"
            assert "CKV_K8S_22" in skipped(manifest)

    def test_image_pinned_and_pull_policy_explicit(self, manifest, pod, c, init):
        image = c["image"]
        assert_pinned(image)
        assert c["imagePullPolicy"] == ("IfNotPresent" if "@sha256:" in image else "Always")


def assert_pinned(image: str):
    name, _, digest = image.partition("@")
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    assert tag or re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{image}: no tag or digest"
    assert not digest or re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{image}: malformed digest"
    assert tag != "latest" and not tag.endswith("-latest") and tag not in ("main", "stable"), f"{image}: mutable tag"


@pytest.mark.parametrize("plan_name", list(all_plans()))
class TestPods:
    def test_api_token_only_where_the_pod_calls_the_api(self, plan_name):
        for m, pod in workloads(all_plans()[plan_name]):
            name = pod_template(m)["metadata"]["labels"]["app.kubernetes.io/name"]
            if name in API_TOKEN_OK:
                account = pod["serviceAccountName"]  # its own: litellm-keys, <model>-weight-release, cache-grow
                assert pod["automountServiceAccountToken"] is True and account in (
                    name,
                    f"{m['metadata']['name'].rsplit('-release-', 1)[0]}-{name}",
                    "cache-grow",  # llama.cpp release Jobs share the cache-grow account (its Role names them)
                )
                assert "CKV_K8S_38" in skipped(m)
            else:
                assert pod["automountServiceAccountToken"] is False, name

    def test_scratch_volumes_are_bounded(self, plan_name):
        for m, pod in workloads(all_plans()[plan_name]):
            for v in pod.get("volumes", []):
                if "emptyDir" in v:
                    assert v["emptyDir"].get("sizeLimit"), (m["metadata"]["name"], v)

    def test_a_non_root_container_writing_a_pvc_has_its_fs_group(self, plan_name):
        for m, pod in workloads(all_plans()[plan_name]):
            claims = {v["name"] for v in pod.get("volumes", []) if "persistentVolumeClaim" in v}
            for c in pod.get("initContainers", []) + pod["containers"]:
                writes = [v for v in c.get("volumeMounts", []) if v["name"] in claims and not v.get("readOnly")]
                uid = c["securityContext"].get("runAsUser", pod["securityContext"].get("runAsUser"))
                if writes and uid:
                    assert pod["securityContext"].get("fsGroup") == uid, (m["metadata"]["name"], c["name"])

    def test_database_image_pinned_and_sized(self, plan_name):
        for cluster in all_plans()[plan_name].find("Cluster"):
            assert_pinned(cluster["spec"]["imageName"])
            res = cluster["spec"]["resources"]
            assert {"cpu", "memory"} <= set(res["requests"]) and {"cpu", "memory"} <= set(res["limits"])


def test_the_only_root_containers_are_the_documented_ones():
    roots = set()
    for plan in all_plans().values():
        for _m, pod in workloads(plan):
            for c in pod["containers"]:
                if c["securityContext"].get("runAsNonRoot", pod["securityContext"].get("runAsNonRoot")) is not True:
                    roots.add(f"{c['name']}@amd" if is_amd(pod) else c["name"])
    assert roots == ROOT_OK


def test_docs_list_every_exception():
    section = (ROOT / "docs" / "operations" / "security.md").read_text()
    for needle in (
        "vLLM",
        "LiteLLM",
        "Open WebUI",
        "LibreChat",
        "AMD",
        "litellm-keys",
        "CKV_K8S_43",
        "CKV_K8S_35",
        "CKV_K8S_22",
        "CKV_K8S_23",
        "CKV_K8S_40",
        "CKV_K8S_38",
    ):
        assert needle in section, needle


# ---- the gateway: replicas, disruption budget, spread ------------------------------------------------------------


def gateway(plan: Plan):
    return plan.one("Deployment", "litellm")


def test_prod_runs_the_gateway_with_two_replicas_or_more():
    assert raw_config("prod")["gateway"]["replicas"] >= 2
    assert gateway(stack_plan("Pulumi.prod.yaml"))["spec"]["replicas"] >= 2


@pytest.mark.parametrize("plan_name", ["Pulumi.prod.yaml", "dev+librechat+3gw"])
def test_replicated_gateway_has_a_pdb_and_spreads(plan_name):
    plan = all_plans()[plan_name]
    dep = gateway(plan)
    pdb = plan.one("PodDisruptionBudget", "litellm", dep["metadata"]["namespace"])
    assert pdb["apiVersion"] == "policy/v1" and pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    spread = dep["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {s["topologyKey"] for s in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for s in spread:  # soft: a small cluster still schedules every replica
        assert (
            s["whenUnsatisfiable"] == "ScheduleAnyway" and s["labelSelector"]["matchLabels"].items() <= labels.items()
        )


def test_single_gateway_has_no_pdb():
    plan = stack_plan("Pulumi.dev.yaml")
    assert gateway(plan)["spec"]["replicas"] == 1
    assert plan.find("PodDisruptionBudget") == []
    assert "topologySpreadConstraints" not in gateway(plan)["spec"]["template"]["spec"]
