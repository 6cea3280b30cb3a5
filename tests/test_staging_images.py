"""Weight staging on every pod (bounded Xet memory, the CPU fetch image) and a llama-swap that has /metrics."""

import re
from pathlib import Path

import pytest

from components.manifests.common import HF_XET_BOUNDS
from models.llamacpp import LLAMA_IMAGES
from tests.conftest import plan_for, raw_config
from tests.llama_seed import seed_plan

STACKS = ["dev", "prod", "local"]


@pytest.fixture(scope="module")
def plans():
    return {**{s: plan_for(raw_config(s)) for s in STACKS}, "llama-seed": seed_plan()}


def staging_containers(plan):
    for dep in plan.find("Deployment"):
        for c in dep["spec"]["template"]["spec"].get("initContainers", []):
            if c["name"] == "fetch-gguf":
                yield dep["metadata"]["name"], c
    for job in plan.find("Job"):  # the weight-stage Jobs: vLLM (stage) and GPU llama.cpp backends (fetch-gguf)
        for c in job["spec"]["template"]["spec"]["containers"]:
            if c["name"] in ("stage", "fetch-gguf"):
                yield job["metadata"]["name"], c


def mib(quantity: str) -> int:
    value, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(value) * (1024 if unit == "Gi" else 1)


class TestXetMemoryIsBounded:
    def test_every_staging_container_bounds_xet_and_has_room_for_it(self, plans):
        seen = 0
        for stack, plan in plans.items():
            for name, c in staging_containers(plan):
                env = {e["name"]: e.get("value") for e in c["env"]}
                assert {k: env.get(k) for k in HF_XET_BOUNDS} == HF_XET_BOUNDS, (stack, name)
                assert mib(c["resources"]["limits"]["memory"]) >= 4096, (stack, name)
                assert mib(c["resources"]["requests"]["memory"]) >= 2048, (stack, name)
                seen += 1
        assert seen >= 4, "vLLM weight-stage and GGUF fetch containers were all checked"

    def test_buffer_bound_fits_well_inside_the_limit(self):
        size, perfile, limit = (
            int(HF_XET_BOUNDS[f"HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_{k}"].removesuffix("mb").removesuffix("gb"))
            * (1000 if HF_XET_BOUNDS[f"HF_XET_RECONSTRUCTION_DOWNLOAD_BUFFER_{k}"].endswith("gb") else 1)
            for k in ("SIZE", "PERFILE_SIZE", "LIMIT")
        )
        files = int(HF_XET_BOUNDS["HF_XET_DATA_MAX_CONCURRENT_FILE_DOWNLOADS"])
        assert size + files * perfile <= limit <= 1000, "xet-runtime's own invariant, and ~1 GB of a 4 GiB limit"

    def test_current_names_are_read_by_the_pinned_hf_xet(self):
        hf_xet = pytest.importorskip("hf_xet")
        binary = b"".join(p.read_bytes() for p in Path(hf_xet.__file__).parent.glob("*.so"))
        legacy = {"HF_XET_NUM_CONCURRENT_RANGE_GETS", "HF_XET_CHUNK_CACHE_SIZE_BYTES"}  # hf_xet < 1.3 reads these
        for name in set(HF_XET_BOUNDS) - legacy:
            assert name.encode() in binary, f"{name} is not a setting of hf_xet {hf_xet.__version__}"


class TestFetchWithTheCpuFullImage:
    def test_every_gguf_fetch_uses_the_plain_cpu_full_image(self, plans):
        for stack, plan in plans.items():
            for name, c in staging_containers(plan):
                if c["name"] == "fetch-gguf":
                    assert c["image"] == LLAMA_IMAGES["gguf_fetch"], (stack, name)
        assert re.fullmatch(r"ghcr\.io/ggml-org/llama\.cpp:full-b\d+", LLAMA_IMAGES["gguf_fetch"])


class TestLlamaSwapServesMetrics:
    def test_swap_images_are_releases_with_prometheus_metrics(self):
        for key in ("llama_swap", "llama_swap_rocm"):
            release = int(re.search(r":v(\d+)-", LLAMA_IMAGES[key]).group(1))
            assert release >= 212, f"{key}: llama-swap serves Prometheus /metrics from v212 on"

    def test_cuda_swap_is_the_non_root_variant_the_pod_runs_as(self, plans):
        dep = plans["llama-seed"].one("Deployment", "llama-swap")
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        assert c["image"].endswith("-non-root") and pod["securityContext"]["runAsUser"] == 10001

    def test_scrape_points_at_metrics_on_the_swap_port(self, plans):
        plan = plans["llama-seed"]
        (c,) = plan.one("Deployment", "llama-swap")["spec"]["template"]["spec"]["containers"]
        (endpoint,) = plan.one("PodMonitoring", "llama-swap", "serving")["spec"]["endpoints"]
        (port,) = c["ports"]
        assert endpoint["port"] == port["name"] and endpoint["path"] == "/metrics"
        assert c["command"][-2:] == ["-listen", f":{port['containerPort']}"]
