"""The recorded key contract checked against LiteLLM's own code (the pinned proxy, `.ci/install_litellm.sh`).

The proxy needs a database for /key/update, which cannot run here (Prisma fetches its engines at run time), so
this calls the function that turns an update request into the database write, `prepare_key_update_data`
(proxy/management_endpoints/key_management_endpoints.py), with a stored row, and checks what
tests/contracts/litellm_keys.json (and so tests/fakes.py) claims: explicit nulls clear, an absent field is left
alone, and sending budget_duration, even unchanged, restarts the budget window.
"""

import json
import os
import subprocess

import pytest

from tests.consumers.require import litellm_binary
from tests.fakes import CONTRACT

pytestmark = pytest.mark.consumer

PROBE = r"""
import asyncio, json
from litellm.proxy._types import LiteLLM_VerificationToken, UpdateKeyRequest
from litellm.proxy.management_endpoints.key_management_endpoints import prepare_key_update_data

row = LiteLLM_VerificationToken(
    token="t", key_alias="tabby", models=["coder-fim"], max_budget=5.0, budget_duration="30d",
    rpm_limit=60, tpm_limit=1000, metadata={},
)
bodies = {
    "nulls": {"max_budget": None, "rpm_limit": None, "tpm_limit": None, "budget_duration": None},
    "budget_only": {"max_budget": 9.0},
    "same_duration": {"budget_duration": "30d"},
    "models_only": {"models": ["coder-chat"]},
}
out = {}
for name, body in bodies.items():
    req = UpdateKeyRequest(key="sk-probe", **body)
    out[name] = asyncio.run(prepare_key_update_data(data=req, existing_key_row=row))
print(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def writes() -> dict:
    python = litellm_binary().parent / "python"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    res = subprocess.run([str(python), "-c", PROBE], check=False, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


class TestKeyUpdateContract:
    def test_explicit_null_clears_each_limit(self, writes):
        for field in CONTRACT["update"]["null_clears"]:
            assert field in writes["nulls"] and writes["nulls"][field] is None, field
        assert writes["nulls"]["budget_reset_at"] is None  # null budget_duration clears the window too

    def test_absent_fields_are_left_alone(self, writes):
        changed = {k for k in writes["budget_only"] if k != "metadata"}
        assert changed == {"max_budget"} and writes["budget_only"]["max_budget"] == 9.0
        assert {k for k in writes["models_only"] if k != "metadata"} == {"models"}

    def test_sending_the_same_duration_restarts_the_window(self, writes):
        assert CONTRACT["update"]["resets_window_on"] == ["budget_duration"]
        assert writes["same_duration"]["budget_duration"] == "30d"
        assert writes["same_duration"]["budget_reset_at"], "an unchanged budget_duration still resets the window"
        assert "budget_reset_at" not in writes["budget_only"]
