"""The migration Job's command on the real LiteLLM CLI (1.102.4, `.ci/install_litellm.sh`), with the env the render
gives it (components/manifests/gateway_migrate.py):

- `--skip_server_startup` sets up and exits 0 without serving;
- with DATABASE_URL it runs `prisma migrate deploy`; when the migration fails (here: Prisma cannot fetch its
  engines, as a database that refuses would), ENFORCE_PRISMA_MIGRATION_CHECK makes it exit non-zero, so the Job
  fails and `pulumi up` stops before the gateway rolls;
- the serving pods' DISABLE_SCHEMA_UPDATE=true skips the migration entirely.

A migration against a real Postgres is not run here: Prisma downloads its engines at run time.
"""

import os
import subprocess

import pytest
import yaml

from offline.plan import pod_spec
from tests.conftest import plan_for, raw_config
from tests.consumers.require import litellm_binary

pytestmark = pytest.mark.consumer
CLOSED_DB = "postgresql://u:p@127.0.0.1:1/litellm"


def rendered_env(container: dict) -> dict[str, str]:
    """The literal env values the render sets (Secret references are the test's to fill)."""
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


@pytest.fixture(scope="module")
def rendered():
    plan = plan_for(raw_config("dev"))
    (job,) = [m for m in plan.k8s if m["kind"] == "Job" and m["metadata"]["name"].startswith("litellm-migrate-")]
    (migrate,) = pod_spec(job)["containers"]
    (serve,) = pod_spec(plan.one("Deployment", "litellm"))["containers"]
    return migrate, serve


def run(tmp_path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"model_list": [], "general_settings": {}}))
    args = [str(config) if a.endswith("/config.yaml") else a for a in args]
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DISABLE_SCHEMA_UPDATE")}
    full.update(env)
    return subprocess.run(
        [str(litellm_binary()), *args], env=full, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )


class TestMigrationCommand:
    def test_without_a_database_it_sets_up_and_exits(self, rendered, tmp_path):
        migrate, _ = rendered
        res = run(tmp_path, migrate["args"], rendered_env(migrate))
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        assert "Skipping server startup" in res.stdout + res.stderr

    def test_a_failed_migration_fails_the_job(self, rendered, tmp_path):
        migrate, _ = rendered
        res = run(tmp_path, migrate["args"], {**rendered_env(migrate), "DATABASE_URL": CLOSED_DB})
        out = res.stdout + res.stderr
        assert "prisma migrate deploy" in out, out[-2000:]
        assert res.returncode != 0, out[-2000:]

    def test_serving_pods_skip_the_migration(self, rendered, tmp_path):
        migrate, serve = rendered
        env = {**rendered_env(migrate), **rendered_env(serve), "DATABASE_URL": CLOSED_DB}
        assert env["DISABLE_SCHEMA_UPDATE"] == "true"
        res = run(tmp_path, migrate["args"], env)
        out = res.stdout + res.stderr
        assert "prisma migrate deploy" not in out and res.returncode == 0, out[-2000:]
