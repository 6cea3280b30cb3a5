"""A failed stage must not keep a GPU node: vLLM weights are staged by a CPU Job before the GPU Deployment scales up.

Checked on the rendered plan (dev, under the mocks): the order `pulumi up` keeps (release Job, then stage Job, then
the Deployment), where the stage pod runs (a CPU node in the pool's zone), that nothing on the GPU pod stages, what
re-runs a stage, and that a claim never shrinks. The release script runs for real against a fake API server.
"""

import copy
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.manifests import cache_growth as cg
from components.manifests import weight_stage as ws
from models import parse_config
from tests.conftest import raw_config


def stage_jobs(plan, step: str):
    return [
        j for j in plan.find("Job") if j["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == step
    ]


def pulumi_name(plan, manifest) -> str:
    return plan.names[plan.k8s.index(manifest)]


class TestStageBeforeTheGpu:
    def test_the_deployment_waits_for_the_stage_which_waits_for_the_release(self, dev_plan):
        (stage,) = stage_jobs(dev_plan, ws.STAGE)
        (release,) = stage_jobs(dev_plan, ws.RELEASE)
        dep = dev_plan.one("Deployment", "coder-chat")
        stage_opts = dev_plan.options[pulumi_name(dev_plan, stage)]
        assert pulumi_name(dev_plan, stage) in dev_plan.depends_on[pulumi_name(dev_plan, dep)]
        assert pulumi_name(dev_plan, release) in dev_plan.depends_on[pulumi_name(dev_plan, stage)]
        assert "pulumi.com/skipAwait" not in stage["metadata"].get("annotations", {}), "Pulumi awaits the stage"
        minutes = int(stage_opts["await_timeouts"]["create"].rstrip("m"))
        assert minutes * 60 > stage["spec"]["activeDeadlineSeconds"], "the Job's own failure is what `up` reports"

    def test_the_gpu_pod_stages_nothing_and_reaches_no_hub(self, dev_plan):
        for dep in dev_plan.find("Deployment"):
            pod = dep["spec"]["template"]["spec"]
            if any(c["name"] == "vllm" for c in pod["containers"]):
                assert "initContainers" not in pod
                env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
                assert env["HF_HUB_OFFLINE"] == "1"

    def test_the_stage_runs_on_a_cpu_node_in_the_pools_zone(self, dev_plan):
        (stage,) = stage_jobs(dev_plan, ws.STAGE)
        pod = stage["spec"]["template"]["spec"]
        (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        exprs = {e["key"]: e for e in term["matchExpressions"]}
        assert exprs["ai.llm.role"]["operator"] == "DoesNotExist", "never a GPU pool's node"
        assert exprs["topology.kubernetes.io/zone"]["values"] == ["us-central1-a"], "the zonal disk is made there"
        assert "tolerations" not in pod and "nvidia.com/gpu" not in json.dumps(pod["containers"][0]["resources"])
        assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "coder-chat-model-cache"

    def test_a_failed_stage_fails_the_job_at_once_with_a_reason_pulumi_reports(self, dev_plan):
        (stage,) = stage_jobs(dev_plan, ws.STAGE)
        # backoffLimit 0: the first failure is BackoffLimitExceeded, which pulumi-kubernetes' Job await fails `up`
        # on; a FailJob rule's PodFailurePolicy reason would leave `up` waiting (tests/engine/test_failed_stage.py)
        assert stage["spec"]["backoffLimit"] == 0
        rules = stage["spec"]["podFailurePolicy"]["rules"]
        assert all(r["action"] == "Ignore" for r in rules), "only disruptions are retried, never a failure"
        (c,) = stage["spec"]["template"]["spec"]["containers"]
        assert c["terminationMessagePolicy"] == "FallbackToLogsOnError"
        assert stage["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true", "the next `up` re-runs it"

    def test_a_replicas_0_model_stages_nothing_and_makes_no_disk(self, dev_plan):
        names = {j["metadata"]["name"] for j in dev_plan.find("Job")}
        assert not [n for n in names if n.startswith(("coder-fim-", "coder-agent-"))]

    def test_the_deployment_takes_its_replicas_back_after_a_release(self, dev_plan):
        dep = dev_plan.one("Deployment", "coder-chat")
        assert dep["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
        notes = dep["spec"]["template"]["metadata"]["annotations"]
        assert {"llm-platform/weight-stage", "llm-platform/weight-release"} <= set(notes)

    def test_stage_outputs_name_the_job_and_how_to_read_it(self, dev_plan):
        (stage,) = stage_jobs(dev_plan, ws.STAGE)
        info = dev_plan.outputs["weightStaging"]["coder-chat"]
        assert info["job"] == f"serving/{stage['metadata']['name']}" and "kubectl -n serving logs job/" in info["logs"]
        assert dev_plan.outputs["weightStaging"]["coder-fim"] == {"staged": False}

    def test_llama_gpu_models_name_their_stage_job_too(self):
        from tests.llama_seed import seed_plan, seed_raw

        plan = seed_plan()
        jobs = {m["metadata"]["name"] for m in plan.k8s if m["kind"] == "Job" and "-stage-" in m["metadata"]["name"]}
        staging = plan.outputs["weightStaging"]
        llama = {m["name"]: m for m in seed_raw()["models"] if m.get("engine") == "llamacpp"}
        gpu = {n for n, m in llama.items() if m.get("placement") in ("static", "swap")}
        assert gpu and gpu <= set(staging), f"llama GPU models without a weightStaging entry: {gpu - set(staging)}"
        for model in gpu:
            ns, job = staging[model]["job"].split("/")
            assert job in jobs and staging[model]["logs"] == f"kubectl -n {ns} logs job/{job}"
        swap = {staging[n]["job"] for n in gpu if llama[n]["placement"] == "swap"}
        assert len(swap) == 1 and "llama-swap-stage-" in next(iter(swap)), "one Job stages every swap GGUF"


class TestWhatRerunsAStage:
    def spec(self, **changes):
        raw = copy.deepcopy(raw_config("dev"))
        raw["models"][0].update(changes)
        return parse_config(raw).models[0]

    def test_a_model_or_revision_change_is_a_new_job_and_a_price_change_is_not(self):
        base = ws.names(self.spec(), 20)
        assert ws.names(self.spec(modelName="Qwen/Qwen2.5-Coder-7B-Instruct"), 20)["stage"] != base["stage"]
        assert ws.names(self.spec(revision="abc123"), 20)["stage"] != base["stage"]
        assert ws.names(self.spec(inputCostPerToken=0.000001), 20) == base
        grown = ws.names(self.spec(), 40)
        assert grown["stage"] == base["stage"] and grown["release"] != base["release"], "a bigger cache grows the claim"

    def test_job_names_fit_a_label_value(self):
        long = self.spec().model_copy(update={"name": "m" * 40})  # the longest model name the config accepts
        for name in ws.names(long, 20).values():
            assert len(name) <= 63, name


class TestClaimsNeverShrink:
    def test_the_cache_claim_ignores_its_size_after_creation(self, dev_plan):
        pvc = dev_plan.one("PersistentVolumeClaim", "coder-chat-model-cache")
        assert "spec.resources.requests.storage" in dev_plan.options[pulumi_name(dev_plan, pvc)]["ignore_changes"]

    def test_a_smaller_model_keeps_the_claim_and_a_bigger_one_grows_it(self, fake_api):
        fake_api.pvc_size, fake_api.phase = "30Gi", "Bound"
        out = run_release(fake_api, "20Gi")
        assert out.returncode == 0 and "keeps its live size 30Gi (a claim never shrinks)" in out.stdout
        assert fake_api.pvc_size == "30Gi"
        out = run_release(fake_api, "40Gi")
        assert out.returncode == 0 and "grown from 30Gi to 40Gi" in out.stdout and fake_api.pvc_size == "40Gi"


class TestRelease:
    def test_scales_the_model_to_zero_and_waits_for_its_pods(self, fake_api):
        fake_api.replicas = 1
        out = run_release(fake_api, "20Gi")
        assert out.returncode == 0, out.stderr
        assert (
            "PATCH",
            "/apis/apps/v1/namespaces/serving/deployments/coder-chat/scale",
            {"spec": {"replicas": 0}},
        ) in (fake_api.calls)
        assert "scaled to 0" in out.stdout

    def test_first_up_has_no_deployment_to_release(self, fake_api):
        fake_api.deployment = False
        out = run_release(fake_api, "20Gi")
        assert out.returncode == 0 and "no Deployment serving/coder-chat yet" in out.stdout

    def test_a_refused_call_fails_the_job(self, fake_api):
        fake_api.forbid = True
        out = run_release(fake_api, "20Gi")
        assert out.returncode != 0 and "403" in out.stderr


class FakeApi:
    def __init__(self):
        self.calls: list[tuple[str, str, object]] = []
        self.deployment, self.replicas, self.forbid = True, 0, False
        self.pvc_size, self.phase = "20Gi", "Bound"

    def handle(self, method: str, path: str, body):
        self.calls.append((method, path, body))
        if self.forbid:
            return 403, {"kind": "Status", "code": 403}
        if path.startswith("/apis/apps/v1/namespaces/serving/deployments/coder-chat"):
            if not self.deployment:
                return 404, {"kind": "Status", "code": 404}
            if method == "PATCH":
                self.replicas = body["spec"]["replicas"]
            return 200, {"spec": {"replicas": self.replicas}, "status": {"replicas": self.replicas}}
        if path == "/api/v1/namespaces/serving/persistentvolumeclaims/coder-chat-model-cache":
            if method == "PATCH":
                self.pvc_size = body["spec"]["resources"]["requests"]["storage"]
            return 200, {
                "spec": {"resources": {"requests": {"storage": self.pvc_size}}},
                "status": {"phase": self.phase},
            }
        return 404, {"kind": "Status", "code": 404}


@pytest.fixture
def fake_api():
    api = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _do(self):
            n = int(self.headers.get("Content-Length") or 0)
            status, body = api.handle(self.command, self.path, json.loads(self.rfile.read(n)) if n else None)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = _do

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield api
    server.shutdown()


def run_release(api: FakeApi, size: str, deployment: str = "coder-chat") -> subprocess.CompletedProcess:
    token = os.path.join(os.environ.get("TMPDIR", "/tmp"), "release-token")
    with open(token, "w") as f:
        f.write("t")
    env = {
        **os.environ,
        "K8S_API": api.url,
        "K8S_TOKEN_FILE": token,
        "K8S_CA_FILE": "/nonexistent",
        "NAMESPACE": "serving",
        "DEPLOYMENT": deployment,
        "PVC": "coder-chat-model-cache",
        "CACHE_SIZE": size,
        "WAIT_SECONDS": "5",
    }
    return subprocess.run([sys.executable, str(ws.RELEASE_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


class TestLlamaClaimsNeverShrink:
    """llama-<role>-cache and llama-swap-cache: the size is ignored after creation and grown by a Job per size."""

    def test_every_llama_claim_ignores_its_size_and_has_a_grow_job(self):
        from tests.llama_seed import seed_plan

        plan = seed_plan()
        grows = {
            next(e["value"] for e in j["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "PVC"): j
            for j in plan.find("Job")
            if j["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == cg.NAME
        }
        claims = plan.find("PersistentVolumeClaim", namespace="serving")
        assert (
            {c["metadata"]["name"] for c in claims}
            == set(grows)
            == {
                "llama-static-a-cache",
                "llama-static-b-cache",
                "llama-swap-cache",
            }
        )
        for c in claims:
            assert "spec.resources.requests.storage" in plan.options[pulumi_name(plan, c)]["ignore_changes"]
            env = {
                e["name"]: e["value"]
                for e in grows[c["metadata"]["name"]]["spec"]["template"]["spec"]["containers"][0]["env"]
            }
            assert env["CACHE_SIZE"] == c["spec"]["resources"]["requests"]["storage"] and "DEPLOYMENT" not in env

    def test_removing_a_swap_model_keeps_the_claim_and_reruns_the_grow_job_that_keeps_the_live_size(self):
        from tests.llama_seed import seed_raw

        raw = seed_raw()
        del raw["swap"]["cacheGiB"]  # the default: sized from the swap models
        before = parse_config(raw)
        raw["models"] = [m for m in raw["models"] if m["name"] != "Llama-3.1-8B-Instruct"]
        after = parse_config(raw)
        (old,) = [s for n, s in cg.claims(before) if n == "llama-swap-cache"]
        (new,) = [s for n, s in cg.claims(after) if n == "llama-swap-cache"]
        assert new < old, "the default swap size follows the swap models"
        assert cg.job_name("llama-swap-cache", new) != cg.job_name("llama-swap-cache", old), "the grow Job runs again"

    def test_the_grow_job_only_grows(self, fake_api):
        fake_api.pvc_size = "50Gi"
        out = run_release(fake_api, "30Gi", deployment="")
        assert out.returncode == 0 and "keeps its live size 50Gi (a claim never shrinks)" in out.stdout
        assert not [c for c in fake_api.calls if "deployments" in c[1]], "no Deployment is touched"
