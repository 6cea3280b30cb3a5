"""models/ imports form a DAG: the parts never import the whole (TYPE_CHECKING imports count too)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(package: str) -> dict[str, set[str]]:
    """module -> the sibling modules it imports (relative or absolute), anywhere in the file."""
    mods = {p.stem for p in (ROOT / package).glob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod in mods:
        tree = ast.parse((ROOT / package / f"{mod}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                name = node.module or ""
                target = name if node.level else name.removeprefix(f"{package}.")
                if node.level or name.startswith(f"{package}."):
                    head = target.split(".")[0]
                    if head in mods:
                        graph[mod].add(head)
                    elif not target:  # `from . import x`
                        graph[mod].update(a.name for a in node.names if a.name in mods)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


class TestNoImportCycle:
    def test_models_is_acyclic(self):
        cycle = _cycle(_imports("models"))
        assert cycle is None, "import cycle in models/: " + " -> ".join(cycle or [])

    def test_the_scan_sees_a_cycle(self):
        assert _cycle({"platform": {"llama_rules"}, "llama_rules": {"platform"}}) == [
            "llama_rules",
            "platform",
            "llama_rules",
        ]

    def test_the_scan_reads_imports(self):
        graph = _imports("models")
        assert "platform_spec" in graph["platform"] and "llama_rules" in graph["platform"]
