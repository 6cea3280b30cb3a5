"""The key reconciler (Job + CronJob script), run for real against LiteLLM's recorded key API and a fake kube API.

The contract (tests/contracts/litellm_keys.json) is recorded from LiteLLM 1.102.4's
proxy/management_endpoints/key_management_endpoints.py: unique aliases (_enforce_unique_key_alias), /key/info's
404 (info_key_fn), /key/update as a merge patch whose budget_duration restarts the window and whose nulls clear
(update_key_fn, prepare_key_update_data), /key/delete by alias (delete_key_fn, delete_key_aliases). A real
proxy with a database cannot run here (Prisma fetches its engines at run time).
"""

import copy
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes import FakeKube, FakeLiteLLM, serve, token_of

SCRIPT = Path(__file__).resolve().parent.parent / "components" / "scripts" / "mint_keys.py"
MASTER, TOKEN = "sk-master-test", "kube-token"
NS, GW_NS = "experience", "litellm"
KEYS = [
    {
        "key_alias": "open-webui",
        "models": ["coder-chat", "coder-fim"],
        "max_budget": 5.0,
        "budget_duration": "30d",
        "rpm_limit": None,
        "tpm_limit": None,
        "namespace": NS,
        "secret_name": "litellm-key-open-webui",
        "consumers": [{"namespace": NS, "deployment": "open-webui"}],
    },
    {
        "key_alias": "tabby",
        "models": ["coder-fim"],
        "max_budget": None,
        "budget_duration": None,
        "rpm_limit": 60,
        "tpm_limit": None,
        "namespace": NS,
        "secret_name": "litellm-key-tabby",
        "consumers": [{"namespace": NS, "deployment": "tabby"}],
    },
]


@pytest.fixture
def world(tmp_path):
    gw, kube = FakeLiteLLM(MASTER), FakeKube(TOKEN)
    kube.deployments = {(NS, "open-webui"): {}, (NS, "tabby"): {}}
    for k in KEYS:  # Pulumi creates the key Secrets (empty) and the Lease before the reconciler runs
        kube.create_secret(NS, k["secret_name"])
    kube.create_lease(GW_NS, "litellm-keys")
    keys_file, token_file = tmp_path / "keys.json", tmp_path / "token"
    token_file.write_text(TOKEN)
    with serve(gw) as gw_url, serve(kube) as kube_url:

        def run(keys=KEYS, master=MASTER, wait="5"):
            keys_file.write_text(json.dumps({"keys": keys, "lease": {"namespace": GW_NS, "name": "litellm-keys"}}))
            env = {
                **os.environ,
                "LITELLM_URL": gw_url,
                "LITELLM_MASTER_KEY": master,
                "KEYS_FILE": str(keys_file),
                "K8S_API": kube_url,
                "K8S_TOKEN_FILE": str(token_file),
                "WAIT_SECONDS": wait,
                "HOSTNAME": "litellm-keys-test",
            }
            res = subprocess.run(
                [sys.executable, str(SCRIPT)], check=False, env=env, capture_output=True, text=True, timeout=60
            )
            for key in gw.values.values():
                assert key not in res.stdout + res.stderr, "a key value was printed"
            assert gw.contract_violations == []
            return res

        yield gw, kube, run


def stored(kube: FakeKube, alias: str) -> str | None:
    return kube.value(NS, f"litellm-key-{alias}")


def calls(gw: FakeLiteLLM, path: str) -> list[dict | None]:
    return [b for _, p, b in gw.calls if p == path]


def edited(**changes) -> list[dict]:
    keys = copy.deepcopy(KEYS)
    for alias, fields in changes.items():
        next(k for k in keys if k["key_alias"] == alias.replace("_", "-")).update(fields)
    return keys


class TestMintKeysIdempotent:
    def test_first_run_mints_and_stores(self, world):
        gw, kube, run = world
        res = run()
        assert res.returncode == 0, res.stderr
        assert "open-webui: minted" in res.stdout and "tabby: minted" in res.stdout
        row = gw.row(stored(kube, "open-webui"))
        assert row["models"] == ["coder-chat", "coder-fim"] and row["max_budget"] == 5.0
        assert row["budget_duration"] == "30d" and "rpm_limit" not in row  # no nulls on generate

    def test_second_run_keeps_valid_keys_and_sends_nothing(self, world):
        gw, kube, run = world
        run()
        first = {a: stored(kube, a) for a in ("open-webui", "tabby")}
        gw.calls.clear()
        res = run()
        assert res.returncode == 0 and res.stdout.count(": kept; rolled nothing ->") == 2, res.stdout
        assert {a: stored(kube, a) for a in first} == first
        assert calls(gw, "/key/generate") == calls(gw, "/key/update") == calls(gw, "/key/delete") == []

    def test_key_never_in_a_url(self, world):
        gw, kube, run = world
        run()
        run()
        key = stored(kube, "tabby")
        assert not any(key in url for url in gw.urls)
        assert any(hashlib.sha256(key.encode()).hexdigest() in url for url in gw.urls), "looked up by its hash"

    def test_wrong_master_key_fails_loudly(self, world):
        _, kube, run = world
        res = run(master="sk-wrong")
        assert res.returncode == 1 and "/key/list for 'open-webui' failed (401)" in res.stderr
        assert stored(kube, "open-webui") is None and stored(kube, "tabby") is None


class TestBudgetWindowSurvivesRuns:
    """Sending budget_duration restarts budget_reset_at (prepare_key_update_data): only changed fields go out."""

    def test_unchanged_config_keeps_the_window(self, world):
        gw, kube, run = world
        run()
        window = gw.row(stored(kube, "open-webui"))["budget_reset_at"]
        run()
        run()
        assert gw.row(stored(kube, "open-webui"))["budget_reset_at"] == window

    def test_new_budget_leaves_the_window(self, world):
        gw, kube, run = world
        run()
        window = gw.row(stored(kube, "open-webui"))["budget_reset_at"]
        res = run(edited(open_webui={"max_budget": 9.0}))
        assert "open-webui: kept, re-scoped (max_budget)" in res.stdout
        assert [{k: v for k, v in b.items() if k != "key"} for b in calls(gw, "/key/update")] == [{"max_budget": 9.0}]
        row = gw.row(stored(kube, "open-webui"))
        assert row["max_budget"] == 9.0 and row["budget_reset_at"] == window

    def test_new_duration_restarts_the_window(self, world):
        gw, kube, run = world
        run()
        window = gw.row(stored(kube, "open-webui"))["budget_reset_at"]
        run(edited(open_webui={"budget_duration": "7d"}))
        row = gw.row(stored(kube, "open-webui"))
        assert row["budget_duration"] == "7d" and row["budget_reset_at"] != window


class TestRemovedLimitsAreCleared:
    def test_removed_rpm_limit_is_sent_as_null(self, world):
        gw, kube, run = world
        run()
        res = run(edited(tabby={"rpm_limit": None}))
        assert "tabby: kept, re-scoped (rpm_limit)" in res.stdout
        (body,) = calls(gw, "/key/update")
        assert body == {"key": stored(kube, "tabby"), "rpm_limit": None}
        assert gw.row(stored(kube, "tabby"))["rpm_limit"] is None

    def test_removed_budget_clears_budget_and_window(self, world):
        gw, kube, run = world
        run()
        run(edited(open_webui={"max_budget": None, "budget_duration": None}))
        row = gw.row(stored(kube, "open-webui"))
        assert row["max_budget"] is None and row["budget_duration"] is None and row["budget_reset_at"] is None

    def test_rescoped_models_only(self, world):
        gw, kube, run = world
        run()
        before = stored(kube, "open-webui")
        kube.patches.clear()
        res = run(edited(open_webui={"models": ["coder-chat"]}))
        assert "open-webui: kept, re-scoped (models)" in res.stdout and stored(kube, "open-webui") == before
        assert gw.row(before)["models"] == ["coder-chat"] and not kube.patches


class TestKeysThatHeal:
    """Each way the alias outlives its Secret's key: delete the old key (ours only), generate, store, roll."""

    def test_lost_key_replaces_the_orphaned_alias(self, world):
        gw, kube, run = world
        run()
        old = stored(kube, "tabby")
        kube.secrets[(NS, "litellm-key-tabby")]["data"] = {}  # e.g. the Secret was recreated
        kube.calls.clear()
        res = run()
        assert res.returncode == 0, res.stderr
        assert "tabby: replaced (no key in its Secret)" in res.stdout
        new = stored(kube, "tabby")
        assert new != old and gw.row(old) is None and len(gw.by_alias("tabby")) == 1
        assert ("PATCH", "secrets") in kube.calls and ("POST", "secrets") not in kube.calls

    def test_crash_between_generate_and_secret_write(self, world):
        gw, _, run = world
        body = {"key_alias": "tabby", "models": ["coder-fim"], "metadata": {"managed_by": "llm-platform"}}
        gw.handle("POST", "/key/generate", f"Bearer {MASTER}", body)
        res = run()
        assert res.returncode == 0, res.stderr
        assert "tabby: replaced (no key in its Secret)" in res.stdout
        assert [r["key_alias"] for r in gw.rows.values()].count("tabby") == 1

    def test_key_gone_from_the_database_is_reminted(self, world):
        gw, kube, run = world
        run()
        stale = stored(kube, "tabby")
        del gw.rows[token_of(stale)]  # e.g. the database restored from an older backup
        res = run()
        assert "tabby: minted (gone)" in res.stdout and "open-webui: kept" in res.stdout
        assert stored(kube, "tabby") != stale

    def test_minted_keys_carry_managed_by(self, world):
        gw, kube, run = world
        run()
        assert gw.row(stored(kube, "tabby"))["metadata"] == {"managed_by": "llm-platform"}

    def test_secret_write_that_lost_a_race_changes_nothing(self, world):
        _, kube, run = world
        kube.fail[("PATCH", "secrets")] = 409  # another writer changed the Secret after this run read it
        res = run()
        assert res.returncode == 1 and "changed while this run held it (409)" in res.stderr
        assert stored(kube, "tabby") is None


class TestHandMintedKeysAreNeverDeleted:
    def test_alias_held_by_a_hand_minted_key_fails_for_that_alias_only(self, world):
        gw, kube, run = world
        gw.handle("POST", "/key/generate", f"Bearer {MASTER}", {"key_alias": "tabby", "models": ["coder-fim"]})
        (hand,) = gw.by_alias("tabby")
        res = run()
        assert res.returncode == 1
        assert "alias 'tabby' is held by a key this reconciler did not mint" in res.stderr
        assert gw.by_alias("tabby") == [hand] and stored(kube, "tabby") is None
        assert "open-webui: minted" in res.stdout

    def test_removed_key_is_deleted_a_hand_minted_one_is_not(self, world):
        gw, kube, run = world
        run()
        tabby = stored(kube, "tabby")
        gw.handle("POST", "/key/generate", f"Bearer {MASTER}", {"key_alias": "ops", "models": ["coder-fim"]})
        res = run([k for k in KEYS if k["key_alias"] != "tabby"])
        assert res.returncode == 0, res.stderr
        assert "tabby: no longer declared, deleted" in res.stdout
        assert gw.row(tabby) is None and len(gw.by_alias("ops")) == 1
        (body,) = calls(gw, "/key/delete")
        assert body == {"keys": [token_of(tabby)]}, "deleted by token, never by alias"


class TestBlockedKeysStayBlocked:
    def test_operator_block_fails_loudly_and_is_not_reminted(self, world):
        gw, kube, run = world
        run()
        old = stored(kube, "open-webui")
        gw.row(old)["blocked"] = True
        gw.calls.clear()
        res = run()
        assert res.returncode == 1 and "the key 'open-webui' is blocked in LiteLLM; it is not re-minted" in res.stderr
        assert "disabled: true" in res.stderr and "tabby: kept" in res.stdout
        assert stored(kube, "open-webui") == old and gw.row(old)["blocked"] is True
        assert calls(gw, "/key/generate") == calls(gw, "/key/delete") == []

    def test_disabled_in_config_keeps_it_blocked(self, world):
        gw, kube, run = world
        run()
        old = stored(kube, "open-webui")
        gw.row(old)["blocked"] = True
        res = run(edited(open_webui={"disabled": True}))
        assert res.returncode == 0, res.stderr
        assert "open-webui: disabled in config: kept blocked" in res.stdout and gw.row(old)["blocked"] is True

    def test_disabled_in_config_blocks_an_active_key(self, world):
        gw, kube, run = world
        run()
        res = run(edited(tabby={"disabled": True}))
        assert "tabby: blocked (disabled in config)" in res.stdout
        assert gw.row(stored(kube, "tabby"))["blocked"] is True
        res = run(edited(tabby={"disabled": True}))
        assert "tabby: disabled in config: kept blocked" in res.stdout

    def test_disabled_key_is_never_minted(self, world):
        gw, kube, run = world
        res = run(edited(tabby={"disabled": True}))
        assert "tabby: disabled in config: not minted" in res.stdout
        assert gw.by_alias("tabby") == [] and stored(kube, "tabby") is None


class TestOneReconcilerAtATime:
    def test_a_held_lease_makes_the_run_wait_then_fail(self, world):
        gw, kube, run = world
        lease = kube.leases[(GW_NS, "litellm-keys")]
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        lease["spec"] = {"holderIdentity": "litellm-keys-heal-1", "renewTime": now, "leaseDurationSeconds": 900}
        res = run(wait="3")
        assert res.returncode == 1 and "held by litellm-keys-heal-1" in res.stderr
        assert gw.calls == [] and stored(kube, "tabby") is None

    def test_an_expired_lease_is_taken_and_released(self, world):
        _, kube, run = world
        lease = kube.leases[(GW_NS, "litellm-keys")]
        lease["spec"] = {
            "holderIdentity": "crashed",
            "renewTime": "2020-01-01T00:00:00.000000Z",
            "leaseDurationSeconds": 900,
        }
        res = run()
        assert res.returncode == 0, res.stderr
        assert "holderIdentity" not in kube.leases[(GW_NS, "litellm-keys")]["spec"]


class TestOnly404IsGone:
    @pytest.mark.parametrize("status", [401, 403, 500, 503])
    def test_other_info_errors_fail_loudly_and_change_nothing(self, world, status):
        gw, kube, run = world
        run()
        before = dict(kube.secrets)
        kube.patches.clear()
        gw.fail[("GET", "/key/info")] = (status, {"error": {"message": "boom", "code": str(status)}})
        gw.calls.clear()
        res = run()
        assert res.returncode == 1
        assert f"/key/info for 'open-webui' failed ({status})" in res.stderr
        assert f"/key/info for 'tabby' failed ({status})" in res.stderr
        assert calls(gw, "/key/generate") == calls(gw, "/key/delete") == calls(gw, "/key/update") == []
        assert kube.secrets == before and not kube.patches

    def test_failed_delete_keeps_the_secret(self, world):
        gw, kube, run = world
        run()
        old = stored(kube, "tabby")
        del gw.rows[token_of(old)]
        gw.handle(
            "POST",
            "/key/generate",
            f"Bearer {MASTER}",
            {"key_alias": "tabby", "models": ["coder-fim"], "metadata": {"managed_by": "llm-platform"}},
        )
        gw.fail[("POST", "/key/delete")] = (500, {"error": {"message": "Not connected to DB!", "code": "500"}})
        gw.calls.clear()
        kube.patches.clear()
        res = run()
        assert res.returncode == 1 and "/key/delete for 'tabby' failed (500) (virtual keys need" in res.stderr
        assert stored(kube, "tabby") == old and calls(gw, "/key/generate") == [] and not kube.patches


class TestConsumersConverge:
    def test_new_key_rolls_its_consumers_only(self, world):
        gw, kube, run = world
        run()
        kube.patches.clear()
        del gw.rows[token_of(stored(kube, "tabby"))]
        res = run()
        assert "rolled experience/tabby" in res.stdout
        ((ns, name, ctype, body),) = kube.patches
        assert (ns, name, ctype) == (NS, "tabby", "application/strategic-merge-patch+json")
        annotations = body["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {"llm-platform/key-hash": hashlib.sha256(stored(kube, "tabby").encode()).hexdigest()[:12]}

    def test_kept_keys_roll_nothing(self, world):
        _, kube, run = world
        run()
        kube.patches.clear()
        run(edited(tabby={"rpm_limit": 120}))
        assert kube.patches == []

    def test_a_failed_roll_is_retried_by_the_next_run(self, world):
        _, kube, run = world
        kube.fail[("PATCH", "deployments")] = 403
        res = run()
        assert res.returncode == 1 and "rolling Deployment experience/open-webui failed (403)" in res.stderr
        del kube.fail[("PATCH", "deployments")]
        res = run()
        assert res.returncode == 0 and "open-webui: kept; rolled experience/open-webui" in res.stdout
        assert kube.stamp(NS, "open-webui") == hashlib.sha256(stored(kube, "open-webui").encode()).hexdigest()[:12]

    def test_a_consumer_created_after_the_key_is_stamped(self, world):
        _, kube, run = world
        kube.deployments.clear()  # first `up`: the front-ends come after the Job
        res = run()
        assert res.returncode == 0 and "rolled nothing" in res.stdout
        kube.deployments[(NS, "tabby")] = {}
        res = run()
        assert "tabby: kept; rolled experience/tabby" in res.stdout

    def test_forbidden_patch_fails_loudly(self, world):
        _, kube, run = world
        kube.fail[("PATCH", "deployments")] = 403
        res = run()
        assert res.returncode == 1 and "rolling Deployment experience/open-webui failed (403)" in res.stderr
