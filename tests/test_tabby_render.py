"""Tabby's key substitution run for real: the init container's exact `sh -c` script against the rendered template.

The script runs under every POSIX shell on this machine (dash is Debian's /bin/sh; busybox sh, the init image's
shell, when it is installed), and the result is parsed with the stdlib TOML reader. Also: the TOML writer itself.
"""

import math
import os
import shutil
import stat
import subprocess
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.manifests import tomlw
from offline.plan import pod_spec

FAKE_KEY = "sk-Fake_key-0123456789abcdefXYZ"
SHELLS = [s for s in (["dash"], ["bash", "--posix"], ["busybox", "sh"]) if shutil.which(s[0])]


def rendered(dev_plan):
    (init,) = pod_spec(dev_plan.one("Deployment", "tabby", "experience"))["initContainers"]
    template = dev_plan.one("ConfigMap", "tabby-config-template", "experience")["data"]["config.toml"]
    return init, template


def run_init(init, template, tmp_path, key, shell):
    """Run the container's command with its env, its two paths moved under tmp_path."""
    assert init["command"][:2] == ["sh", "-c"]
    (tmp_path / "template").mkdir(exist_ok=True)
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "template" / "config.toml").write_text(template)
    env = {e["name"]: e.get("value") for e in init["env"]}
    env = {
        "TEMPLATE": str(tmp_path / env["TEMPLATE"].lstrip("/")),
        "CONFIG": str(tmp_path / env["CONFIG"].lstrip("/")),
        "PATH": os.environ["PATH"],
    }
    if key is not None:
        env["LITELLM_VKEY"] = key
    res = subprocess.run([*shell, "-c", init["command"][2]], env=env, capture_output=True, text=True, timeout=30)
    return res, tmp_path / "data" / "config.toml"


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
class TestTabbyKeySubstitution:
    def test_key_lands_in_valid_toml(self, dev_plan, tmp_path, shell):
        init, template = rendered(dev_plan)
        res, out = run_init(init, template, tmp_path, FAKE_KEY, shell)
        assert res.returncode == 0, res.stderr
        conf = tomllib.loads(out.read_text())
        http = conf["model"]["completion"]["http"]
        assert http["api_key"] == FAKE_KEY and http["kind"] == "vllm/completion"
        assert http["model_name"] == "coder-fim"
        assert "__LITELLM_VKEY__" not in out.read_text()
        assert stat.S_IMODE(out.stat().st_mode) == 0o600, "the key file is owner-only"
        assert FAKE_KEY not in res.stdout + res.stderr, "the key is never printed"
        assert not (tmp_path / "data" / "config.toml.tmp").exists()

    def test_rerun_replaces_config(self, dev_plan, tmp_path, shell):
        init, template = rendered(dev_plan)
        run_init(init, template, tmp_path, FAKE_KEY, shell)  # a pod restart after the key was re-minted
        res, out = run_init(init, template, tmp_path, "sk-rotated", shell)
        assert res.returncode == 0, res.stderr
        assert tomllib.loads(out.read_text())["model"]["completion"]["http"]["api_key"] == "sk-rotated"

    @pytest.mark.parametrize("key", [None, "", 'sk-a"b', "sk-a/b", "sk-a&b", "sk-a\\b", "sk-a b", "sk-ab\n"])
    def test_refuses_missing_or_unsafe_key(self, dev_plan, tmp_path, shell, key):
        init, template = rendered(dev_plan)
        res, out = run_init(init, template, tmp_path, key, shell)
        assert res.returncode != 0 and not out.exists()
        assert "not a LiteLLM key" in res.stderr


def test_a_posix_shell_is_available():
    assert SHELLS, "need a POSIX shell to run the init script"


SCALARS = st.one_of(
    st.text(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans(), st.floats(allow_nan=False)
)
KEYS = st.text(min_size=1, max_size=12)
TABLES = st.recursive(
    st.dictionaries(KEYS, SCALARS, max_size=4),
    lambda inner: st.dictionaries(KEYS, st.one_of(SCALARS, inner), max_size=4),
    max_leaves=12,
)


class TestTomlWriter:
    def test_nested_tables(self):
        text = tomlw.dumps({"a": 1, "model": {"completion": {"http": {"kind": "x", "on": True}}}})
        assert text == 'a = 1\n\n[model.completion.http]\nkind = "x"\non = true\n'

    def test_escapes(self):
        value = 'q"uote \\ back\nnew\ttab \x01 ünï'
        assert tomllib.loads(tomlw.dumps({"s": value, "we ird.key": 1})) == {"s": value, "we ird.key": 1}

    def test_none_dropped_and_lists_refused(self):
        assert tomlw.dumps({"a": None, "b": 2}) == "b = 2\n"
        with pytest.raises(TypeError):
            tomlw.dumps({"a": [1, 2]})

    @settings(max_examples=200, deadline=None)
    @given(doc=TABLES)
    def test_round_trips_through_tomllib(self, doc):
        back = tomllib.loads(tomlw.dumps(doc))
        assert _same(back, doc)


def _same(a, b) -> bool:
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, float):
        return a == b or (math.isinf(a) and math.isinf(b) and (a > 0) == (b > 0))
    return a == b and type(a) is type(b)
