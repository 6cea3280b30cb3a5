"""The local control plane: kine (SQLite) + kube-apiserver + kube-controller-manager + kube-scheduler + kwok.

    python -m e2e.cluster up --stack-file Pulumi.dev.yaml --dir /tmp/llm-cluster   # prints the kubeconfig path
    python -m e2e.cluster status --dir /tmp/llm-cluster                            # JSON: ports, pids, versions
    python -m e2e.cluster down --dir /tmp/llm-cluster

`up` starts the components in the background (logs in DIR/logs), or reuses the ones already running for DIR,
then makes the cluster match the stack: GKE-shaped fake nodes for its pools (e2e/nodes.py), GKE's
StorageClasses and the CRDs the program declares (e2e/assets.py). The binaries come from
scripts/engine/build_cluster_tools.sh (built once into the cache), or LLM_PLATFORM_CLUSTER_BIN.
"""

import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from e2e import assets, procs
from e2e.nodes import FAKE_LABEL, KWOK_ANNOTATION, stack_nodes
from e2e.pki import ensure_pki
from models import ConfigError, config_from_pulumi_values, parse_config, read_stack_file
from models.platform import PlatformConfig

REPO = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = REPO / "scripts" / "engine" / "build_cluster_tools.sh"
CONTEXT = "llm-platform-local"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.64.0.0/14"  # GKE's default pod range size; kwok hands out pod IPs from it
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"
FIELD_MANAGER = "llm-platform-e2e"
COMPONENTS = ["kine", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]


def tools_bin() -> Path:
    """The bin dir holding the control-plane binaries: built (or reused) by the build script."""
    if os.environ.get("LLM_PLATFORM_CLUSTER_BIN"):
        return Path(os.environ["LLM_PLATFORM_CLUSTER_BIN"])
    res = subprocess.run(["bash", str(BUILD_SCRIPT)], check=False, stdout=subprocess.PIPE, text=True)
    if res.returncode or not res.stdout.strip():
        raise RuntimeError(f"{BUILD_SCRIPT.relative_to(REPO)} failed (exit {res.returncode}); see its output above")
    return Path(res.stdout.strip().splitlines()[-1])


def load_stack(stack_file: Path) -> PlatformConfig:
    return parse_config(config_from_pulumi_values(read_stack_file(stack_file)))


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, pki: Path, client: str, port: int) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": CONTEXT,
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": f"https://127.0.0.1:{port}", "certificate-authority-data": _b64(pki / "ca.crt")},
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": client}}],
        "users": [
            {
                "name": client,
                "user": {
                    "client-certificate-data": _b64(pki / f"{client}.crt"),
                    "client-key-data": _b64(pki / f"{client}.key"),
                },
            }
        ],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path


class Cluster:
    def __init__(self, root: Path, bin_dir: Path | None = None):
        self.root = root.resolve()
        self.pki = self.root / "pki"
        self.logs = self.root / "logs"
        self.state_file = self.root / "cluster.json"
        self.kubeconfig = self.root / "kubeconfig"
        self._bin = bin_dir

    @property
    def bin(self) -> Path:
        if self._bin is None:
            self._bin = tools_bin()
        return self._bin

    def exe(self, name: str) -> str:
        path = self.bin / name
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"{path} is missing; run bash {BUILD_SCRIPT.relative_to(REPO)}")
        return str(path)

    # --- state -------------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return procs.load_state(self.state_file)

    def running(self) -> bool:
        st = self.state()
        pids = st.get("pids", {})
        if set(pids) != set(COMPONENTS):
            return False
        if not all(procs.is_ours(pid, name) for name, pid in pids.items()):
            return False
        try:
            code, _ = procs.https_get(f"https://127.0.0.1:{st['ports']['apiserver']}/readyz", self.pki)
        except OSError:
            return False
        return code == 200

    @contextmanager
    def locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    # --- kubectl -----------------------------------------------------------------------------------------------
    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run(
            [self.exe("kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            check=False,
            capture_output=True,
            text=True,
        )
        if check and res.returncode:
            raise RuntimeError(f"kubectl {' '.join(args[:3])} failed: {res.stderr.strip() or res.stdout.strip()}")
        return res

    def apply(self, objs: list[dict[str, Any]]) -> None:
        if objs:
            doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": objs})
            self.kubectl(
                "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-", stdin=doc
            )

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.stop()
        ensure_pki(self.pki)
        (self.root / "kine").mkdir(parents=True, exist_ok=True)
        ports = {k: procs.free_port() for k in ("kine", "apiserver", "controller-manager", "scheduler", "kwok")}
        kcfg = {c: write_kubeconfig(self.root / f"{c}.kubeconfig", self.pki, c, ports["apiserver"])
                for c in ("controller-manager", "scheduler", "kwok")}  # fmt: skip
        write_kubeconfig(self.kubeconfig, self.pki, "admin", ports["apiserver"])
        pids: dict[str, int] = {}
        children: dict[str, subprocess.Popen] = {}
        state = {"ports": ports, "pids": pids, "bin": str(self.bin), "kubeconfig": str(self.kubeconfig)}

        def launch(name: str, argv: list[str]) -> subprocess.Popen:
            children[name] = procs.start(name, argv, self.logs)
            pids[name] = children[name].pid
            self.state_file.write_text(json.dumps(state, indent=2))  # so `down` finds a half-started cluster
            return children[name]

        db = self.root / "kine" / "state.db"
        proc = launch("kine", [
            self.exe("kine"), "--listen-address", f"127.0.0.1:{ports['kine']}", "--metrics-bind-address=0",
            "--endpoint", f"sqlite://{db}?_journal=WAL&cache=shared&_busy_timeout=30000&_txlock=immediate",
        ])  # fmt: skip
        procs.wait_for("kine", lambda: procs.tcp_open(ports["kine"]), 60, proc, self.logs / "kine.log")

        p = self.pki
        proc = launch("kube-apiserver", [
            self.exe("kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{ports['kine']}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={ports['apiserver']}",
            f"--cert-dir={self.root / 'apiserver-certs'}",
            f"--tls-cert-file={p / 'apiserver.crt'}", f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            f"--kubelet-client-certificate={p / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={p / 'apiserver-kubelet-client.key'}",
            f"--service-account-issuer={SA_ISSUER}", f"--api-audiences={SA_ISSUER}",
            f"--service-account-key-file={p / 'sa.pub'}", f"--service-account-signing-key-file={p / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            # PodSecurity and NodeRestriction as on GKE (the other default plugins stay on).
            "--enable-admission-plugins=NodeRestriction,PodSecurity",
            "--allow-privileged=true",  # as GKE: privileged pods are refused by PodSecurity, not by the server
            "--profiling=false", "--v=1",
        ])  # fmt: skip
        api = f"https://127.0.0.1:{ports['apiserver']}"
        procs.wait_for(
            "kube-apiserver",
            lambda: procs.https_get(f"{api}/readyz", self.pki)[0] == 200,
            180, proc, self.logs / "kube-apiserver.log",
        )  # fmt: skip

        k = kcfg["controller-manager"]
        launch("kube-controller-manager", [
            self.exe("kube-controller-manager"),
            f"--kubeconfig={k}", f"--authentication-kubeconfig={k}", f"--authorization-kubeconfig={k}",
            "--bind-address=127.0.0.1", f"--secure-port={ports['controller-manager']}",
            f"--cert-dir={self.root / 'kcm-certs'}", "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={p / 'sa.key'}", f"--root-ca-file={p / 'ca.crt'}",
            f"--cluster-signing-cert-file={p / 'ca.crt'}", f"--cluster-signing-key-file={p / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allocate-node-cidrs=false",
            "--controllers=*", "--profiling=false", "--v=1",
        ])  # fmt: skip
        k = kcfg["scheduler"]
        launch("kube-scheduler", [
            self.exe("kube-scheduler"),
            f"--kubeconfig={k}", f"--authentication-kubeconfig={k}", f"--authorization-kubeconfig={k}",
            "--bind-address=127.0.0.1", f"--secure-port={ports['scheduler']}", "--leader-elect=false",
            "--v=1",
        ])  # fmt: skip
        stages = self.root / "kwok.yaml"
        stages.write_text(yaml.safe_dump_all(assets.kwok_stages(), sort_keys=False))
        launch("kwok", [
            self.exe("kwok"), f"--kubeconfig={kcfg['kwok']}", f"--config={stages}",
            "--manage-all-nodes=false", f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
            "--node-lease-duration-seconds=40", f"--cidr={POD_CIDR}", "--node-ip=10.128.0.2",
            f"--server-address=127.0.0.1:{ports['kwok']}",
        ])  # fmt: skip
        for name, port in (("kube-controller-manager", "controller-manager"), ("kube-scheduler", "scheduler")):
            procs.wait_for(
                name,
                lambda port=port: procs.https_get(f"https://127.0.0.1:{ports[port]}/healthz")[0] == 200,
                120, children[name], self.logs / f"{name}.log",
            )  # fmt: skip
        versions = dict(
            line.split("=", 1) for line in (self.bin / "cluster-versions.txt").read_text().split() if "=" in line
        )
        state["versions"] = versions
        self.state_file.write_text(json.dumps(state, indent=2))

    def stop(self) -> None:
        st = self.state()
        for name in reversed(COMPONENTS):
            pid = st.get("pids", {}).get(name)
            if pid:
                procs.stop(pid, name)
        if self.state_file.exists():
            st["pids"] = {}
            self.state_file.write_text(json.dumps(st, indent=2))

    # --- what the stack needs ----------------------------------------------------------------------------------
    def sync(self, cfg: PlatformConfig) -> None:
        """StorageClasses, CRDs and exactly the stack's fake nodes (nodes of another stack are removed)."""
        self.apply(assets.storage_classes())
        crds = assets.crds()
        self.apply(crds)
        nodes = stack_nodes(cfg)
        want = {n["metadata"]["name"] for n in nodes}
        have = self.kubectl("get", "nodes", "-l", f"{FAKE_LABEL}=true", "-o", "name").stdout.split()
        stale = [n for n in have if n.removeprefix("node/") not in want]
        if stale:
            self.kubectl("delete", "--wait=false", *stale)
        self.apply(nodes)
        for node in nodes:  # a Node's status is a subresource: set the GKE-shaped capacity explicitly
            self.kubectl(
                "patch", "node", node["metadata"]["name"], "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": node["status"]}),
            )  # fmt: skip
        for crd in crds:
            self.kubectl("wait", "--for=condition=Established", "--timeout=120s", f"crd/{crd['metadata']['name']}")
        self.kubectl("wait", "--for=condition=Ready", "--timeout=180s", "node", "-l", f"{FAKE_LABEL}=true")
        procs.wait_for(
            "default ServiceAccount (kube-controller-manager)",
            lambda: self.kubectl("get", "serviceaccount", "default", "-n", "default", check=False).returncode == 0,
            120, log=self.logs / "kube-controller-manager.log",
        )  # fmt: skip
        st = self.state()
        st["nodes"] = sorted(want)
        self.state_file.write_text(json.dumps(st, indent=2))

    def up(self, cfg: PlatformConfig) -> Path:
        with self.locked():
            reused = self.running()
            if not reused:
                try:
                    self.start()
                except BaseException:
                    self.stop()  # leave no half-started component behind
                    raise
            self.sync(cfg)
            st = self.state()
            st["reused"] = reused
            self.state_file.write_text(json.dumps(st, indent=2))
        return self.kubeconfig

    def down(self) -> None:
        with self.locked():
            self.stop()

    def reset(self) -> None:
        """Stop and drop the store: the next `up` starts an empty cluster. What an earlier (killed) run kept, a
        database password or salt its fresh state cannot carry, would otherwise stop the next run's first `up`."""
        with self.locked():
            self.stop()
            shutil.rmtree(self.root / "kine", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start (or reuse) the cluster for DIR and fit it to the stack")
    up.add_argument("--stack-file", required=True)
    up.add_argument("--dir", required=True)
    for name in ("down", "reset", "status"):
        sub.add_parser(name).add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    cluster = Cluster(Path(args.dir))
    try:
        if args.cmd == "up":
            cfg = load_stack(Path(args.stack_file))
            started = time.monotonic()
            path = cluster.up(cfg)
            print(f"cluster ready in {time.monotonic() - started:.1f}s (logs: {cluster.logs})", file=sys.stderr)
            print(path)
        elif args.cmd == "down":
            cluster.down()
        elif args.cmd == "reset":
            cluster.reset()
        else:
            st = cluster.state()
            st["running"] = cluster.running()
            print(json.dumps(st, indent=2))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
