"""Mocks that record every resource's inputs and fill the computed outputs the program reads."""

import hashlib
import json
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from models.cluster import ROLE_LABEL

ROOT = Path(__file__).resolve().parent.parent
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's wire marker for a secret value
MASK = "<secret>"


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass
class PlanCapture:
    resources: list[Resource] = field(default_factory=list)
    generated_secrets: set[str] = field(default_factory=set)
    outputs: dict[str, Any] = field(default_factory=dict)
    # pulumi name -> resource options that matter for state: {"protect": bool, "retain_on_delete": bool}, plus
    # "ignore_changes": [property paths] where set, and
    # "await_timeouts": {"create": ..., "update": ...} where custom timeouts are set (how long `pulumi up` waits)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    # pulumi name of a kubernetes resource -> the name of the provider resource that applies it
    providers: dict[str, str] = field(default_factory=dict)
    # pulumi name -> the pulumi names of its explicit dependencies (the order `pulumi up` keeps)
    depends_on: dict[str, list[str]] = field(default_factory=dict)

    def record_options(self, args: "pulumi.ResourceTransformationArgs") -> None:
        opts = args.opts
        self.options[args.name] = {"protect": bool(opts.protect), "retain_on_delete": bool(opts.retain_on_delete)}
        if opts.ignore_changes:
            self.options[args.name]["ignore_changes"] = list(opts.ignore_changes)
        if opts.custom_timeouts is not None:
            t = opts.custom_timeouts
            self.options[args.name]["await_timeouts"] = {"create": t.create, "update": t.update}
        deps = opts.depends_on if isinstance(opts.depends_on, list) else []
        if named := [d._name for d in deps if isinstance(d, pulumi.Resource)]:
            self.depends_on[args.name] = named


def _fake(name: str, length: int) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


class PlatformMocks(pulumi.runtime.Mocks):
    # What a looked-up cluster reports as its Workload Identity pool; None = Workload Identity off.
    existing_workload_pool: str | None = "mock-project.svc.id.goog"
    # ... and what the preflight reads (models/gke_preflight.py): a Standard cluster with PD CSI and GMP on.
    existing_autopilot: bool = False
    existing_pd_csi: bool = True
    existing_managed_prometheus: bool = True
    # The zones of its CPU pool (it also lists a GPU pool in us-central1-a); None: the lookup lists no pools.
    existing_cpu_zones: tuple[str, ...] | None = None

    def __init__(self, capture: PlanCapture):
        self.capture = capture

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        self.capture.resources.append(Resource(args.typ, args.name, dict(args.inputs)))
        if args.provider and args.typ.startswith("kubernetes:"):  # "urn::id": the provider resource's name
            self.capture.providers[args.name] = args.provider.split("::")[-2]
        state = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = _fake(args.name, int(args.inputs.get("length", 16)))
            self.capture.generated_secrets.add(state["result"])
        elif args.typ == "gcp:serviceaccount/account:Account":  # computed by GCP from the id and project
            project = args.inputs.get("project") or "mock-project"
            state.update(
                project=project,
                email=f"{args.inputs['accountId']}@{project}.iam.gserviceaccount.com",
                name=f"projects/{project}/serviceAccounts/{args.inputs['accountId']}@{project}.iam.gserviceaccount.com",
            )
        elif args.typ == "gcp:container/cluster:Cluster":
            state.update(endpoint="10.0.0.1", masterAuth={"clusterCaCertificate": "LS0tbW9jaw=="})
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        if args.token == "gcp:container/getCluster:getCluster":
            return {
                "name": args.args.get("name"),
                "location": args.args.get("location"),
                "endpoint": "10.0.0.1",
                "masterAuths": [{"clusterCaCertificate": "LS0tbW9jaw=="}],
                "workloadIdentityConfigs": [{"workloadPool": self.existing_workload_pool or ""}],
                "enableAutopilot": self.existing_autopilot,
                "addonsConfigs": [{"gcePersistentDiskCsiDriverConfigs": [{"enabled": self.existing_pd_csi}]}],
                "monitoringConfigs": [{"managedPrometheuses": [{"enabled": self.existing_managed_prometheus}]}],
                **({} if self.existing_cpu_zones is None else {"nodePools": self._node_pools()}),
            }, []
        return {}, []

    def _node_pools(self) -> list[dict[str, Any]]:
        gpu = {"guestAccelerators": [{"type": "nvidia-l4", "count": 1}], "labels": {ROLE_LABEL: "chat"}}
        return [
            {"name": "default-pool", "nodeLocations": list(self.existing_cpu_zones or ()), "nodeConfigs": [{}]},
            {"name": "gpu-chat", "nodeLocations": ["us-central1-a"], "nodeConfigs": [gpu]},
        ]


def _jsonable(value: Any) -> Any:
    """What JSON can carry: YAML's dates, bytes and sets become strings, a non-scalar key its text."""
    if isinstance(value, dict):
        return {
            k if isinstance(k, (str, int, float, bool, type(None))) else str(k): _jsonable(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def pulumi_config_values(stack_config: dict[str, Any]) -> dict[str, str]:
    """Stack-file values as the CLI hands them to a program: objects JSON-encoded (keys as text)."""
    return {str(k): v if isinstance(v, str) else json.dumps(_jsonable(v)) for k, v in stack_config.items()}


def _no_stack_trace() -> "source_pb2.StackTrace":
    return source_pb2.StackTrace()


# Each resource otherwise walks the Python stack for a source position that only the engine's diagnostics use;
# a mocked run has no engine, and the walk is a tenth of a dev render.
pulumi_resource._get_stack_trace = _no_stack_trace


def install_mocks(stack: str = "test") -> PlanCapture:
    """Point the Pulumi runtime at fresh mocks; what is declared from now on lands in the returned capture."""
    capture = PlanCapture()
    pulumi.runtime.settings.ROOT.set(None)  # a fresh root stack per run, so exports never leak between runs
    pulumi.runtime.set_mocks(PlatformMocks(capture), project="llm-platform", stack=stack, preview=False)
    return capture


def run_program(stack_config: dict[str, Any], stack: str = "dev", program: Path = ROOT / "__main__.py") -> PlanCapture:
    """Run the program once under mocks and return what it declared. Raises what the program raises."""
    capture = install_mocks(stack)
    pulumi.runtime.set_all_config(pulumi_config_values(stack_config))
    os.environ.pop("PULUMI_CONFIG", None)
    pulumi.runtime.register_stack_transformation(capture.record_options)

    def main() -> None:
        runpy.run_path(str(program), run_name="__main__")

    _sync_await(run_pulumi_func(main))
    root = pulumi.runtime.settings.get_root_resource()
    for key, value in getattr(root, "outputs", {}).items():
        out = pulumi.Output.from_input(value)
        secret = _sync_await(out.is_secret())
        capture.outputs[key] = MASK if secret else _sync_await(out.future())
    return capture


def mask(value: Any) -> Any:
    """Keep a secret's shape (map keys, list length) and hide every leaf."""
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return MASK


def unwrap(value: Any) -> Any:
    """Plain data for writing: integral floats back to ints, secret markers masked."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return mask(value.get("value"))
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
