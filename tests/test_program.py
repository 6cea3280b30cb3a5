"""The whole program on Pulumi.dev.yaml, and the render CLI, as a user runs them."""

import subprocess
import sys

import pulumi
import pytest
import yaml

from offline.mocks import run_program
from tests.conftest import NS, ROOT, plan_for, stack_values


class TestDevStack:
    def test_declares_the_seed_stack(self, dev_plan):
        names = {(m["kind"], m["metadata"]["name"]) for m in dev_plan.k8s}
        for kind, name in [
            ("Deployment", "coder-chat"),
            ("Deployment", "coder-fim"),
            ("Service", "coder-chat"),
            ("PersistentVolumeClaim", "coder-chat-model-cache"),
            ("PersistentVolumeClaim", "coder-fim-model-cache"),
            ("Deployment", "litellm"),
            ("ConfigMap", "litellm-config"),
            ("Service", "litellm"),
        ]:
            assert (kind, name) in names
        assert sorted(t for t, _, _ in dev_plan.gcp) == [
            "gcp:container/nodePool:NodePool",
            # the stack's Cloud Monitoring dashboard (components/dashboards.py)
            "gcp:monitoring/dashboard:Dashboard",
            # the nodes' least-privilege service account: five project roles (components/node_service_account.py)
            *["gcp:projects/iAMMember:IAMMember"] * 5,
            "gcp:serviceaccount/account:Account",
            # gateway.database.backup: the bucket, its service account and their grants
            "gcp:serviceaccount/account:Account",
            "gcp:serviceaccount/iAMMember:IAMMember",
            "gcp:storage/bucket:Bucket",
            "gcp:storage/bucketIAMMember:BucketIAMMember",
            "gcp:storage/bucketIAMMember:BucketIAMMember",
        ]

    def test_replicas_and_gpus(self, dev_plan):
        assert dev_plan.one("Deployment", "coder-chat")["spec"]["replicas"] == 1
        assert dev_plan.one("Deployment", "coder-fim")["spec"]["replicas"] == 0
        assert dev_plan.outputs["gpusRequested"] == {"l4-coder": 1}

    def test_outputs(self, dev_plan):
        assert dev_plan.outputs["gatewayUrl"] == "http://litellm.litellm.svc.cluster.local:4000"
        assert dev_plan.outputs["modelEndpoints"] == {
            **{
                name: f"http://{name}.serving.svc.cluster.local:8000/v1"
                for name in ("coder-chat", "coder-fim", "coder-agent")
            },
            "embeddings": "http://llama-embeddings.serving.svc.cluster.local:8080/v1",
        }
        assert dev_plan.outputs["masterKey"] == "<secret>", "the master key is a secret output"

    def test_gateway_routes_every_model_with_prices(self, dev_plan):
        conf = yaml.safe_load(dev_plan.one("ConfigMap", "litellm-config")["data"]["config.yaml"])
        assert [e["model_name"] for e in conf["model_list"]] == ["coder-chat", "coder-fim", "coder-agent", "embeddings"]
        for entry in conf["model_list"]:
            assert entry["litellm_params"]["input_cost_per_token"] > 0
            assert entry["litellm_params"]["output_cost_per_token"] > 0

    def test_generated_secrets_never_in_plan(self, dev_plan):
        text = yaml.safe_dump(dev_plan.k8s) + yaml.safe_dump(dev_plan.outputs)
        assert dev_plan.generated_secrets and not any(s in text for s in dev_plan.generated_secrets)


class TestBadConfigCreatesNothing:
    def test_run_error_without_resources(self, dev_raw):
        values = {NS + k: v for k, v in dev_raw.items()}
        values[NS + "models"][0]["maxModelLen"] = 100
        with pytest.raises(pulumi.RunError) as exc:
            run_program(values, "bad")
        assert "models[0].maxModelLen" in str(exc.value)

    def test_nothing_declared(self, dev_raw):
        from offline import mocks

        captured = []
        real = mocks.PlatformMocks.new_resource

        def spy(self, args):
            captured.append(args.typ)
            return real(self, args)

        dev_raw["models"][0]["pool"] = "missing"
        mocks.PlatformMocks.new_resource = spy
        try:
            with pytest.raises(pulumi.RunError):
                plan_for(dev_raw)
        finally:
            mocks.PlatformMocks.new_resource = real
        assert captured == []


class TestRenderCli:
    def run(self, *args, cwd=ROOT):
        return subprocess.run(
            [sys.executable, "render.py", *args], cwd=cwd, capture_output=True, text=True, timeout=120
        )

    def test_renders_dev(self, tmp_path):
        res = self.run("--stack-file", "Pulumi.dev.yaml", "--out", str(tmp_path))
        assert res.returncode == 0, res.stderr
        files = sorted(p.name for p in (tmp_path / "k8s").iterdir())
        assert "serving--deployment--coder-chat.yaml" in files
        assert list((tmp_path / "gcp").iterdir())
        for p in (tmp_path / "k8s").iterdir():
            docs = list(yaml.safe_load_all(p.read_text()))
            assert len(docs) == 1, f"{p.name} holds one object"
        assert "coder-chat" in res.stdout and "replicas=1" in res.stdout
        assert (
            "pool l4-coder" in res.stdout
            and f"Deployment={len(list((tmp_path / 'k8s').glob('*--deployment--*')))}" in res.stdout
        )

    def test_bad_config_exits_2_with_key_and_no_traceback(self, tmp_path):
        bad = stack_values("dev")
        bad[NS + "models"][0]["gpuMemoryUtilization"] = 1.5
        f = tmp_path / "Pulumi.bad.yaml"
        f.write_text(yaml.safe_dump({"config": bad}))
        res = self.run("--stack-file", str(f), "--out", str(tmp_path / "out"))
        assert res.returncode == 2
        assert "models[0].gpuMemoryUtilization" in res.stderr and "Traceback" not in res.stderr + res.stdout
        assert not (tmp_path / "out").exists()

    def test_missing_stack_file(self, tmp_path):
        res = self.run("--stack-file", str(tmp_path / "nope.yaml"))
        assert res.returncode == 2 and "does not exist" in res.stderr
