"""The apps depend on each other in one direction only (docs/architecture.md, "Layers").

Every module of every app is parsed with `ast`, imports inside functions included (they
are how circles hide), and string imports (`import_module("apps.x")`,
`apps.get_model("x.Model")`) too. Leaves are left out of the graph: admin modules
(`admin.py`, `admin_*.py`, the `admin/` package), management commands and `tasks.py`
(thin Celery wrappers) may import anything, since nothing but Django's loaders and other
leaves imports them. Everything else (models, services, selectors, permissions, forms,
views, apps.py, ...) makes the graph, which must have no circle and must point down the
layers. apps/core imports nothing of the other apps, in any module: its admin plumbing
(admin_actions, admin_forms, ...) is imported by every app, so it is no leaf.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"

# Lowest first; an app may import only apps listed before it. Keep in step with
# docs/architecture.md.
LAYERS = [
    "core",
    "outbox",
    "notifications",
    "audit",
    "organization",
    "appeals",
    "tasks",
    "followups",
    "authorization",
    "casefile",
    "supervision",
    "simulation",
]

STRING_IMPORTERS = {"import_module", "import_string", "__import__"}


@dataclass(frozen=True)
class Import:
    source: str  # "apps/appeals/services.py:86"
    module: str  # the importing module, "apps.appeals.services"
    target: str  # the imported module (or package), "apps.authorization.adaptations"

    @property
    def source_app(self) -> str:
        return self.module.split(".")[1]

    @property
    def target_app(self) -> str:
        return self.target.split(".")[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_leaf(path: Path) -> bool:
    parts = path.relative_to(APPS).parts
    if parts[0] == "core":
        return False
    return (
        "management" in parts
        or parts[-1] in {"admin.py", "tasks.py"}
        or (len(parts) == 2 and parts[1].startswith("admin_"))  # apps/<app>/admin_desk.py
        or (len(parts) > 2 and parts[1] == "admin")  # apps/<app>/admin/...
    )


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports_in(source: str, *, module: str, is_package: bool = False, filename: str = "<src>") -> list[Import]:
    """Every import in the source, at any depth (functions, methods, conditionals)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (
                _resolve_relative(module, is_package, node.level, node.module) if node.level else node.module or ""
            )
            # `from apps import tasks` imports the package apps.tasks; `from apps.tasks
            # import services` may import a module: name both, the app is the same.
            targets = [f"{base}.{alias.name}" if base == "apps" else base for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            value = node.args[0].value
            if not isinstance(value, str):
                continue
            if name in STRING_IMPORTERS:
                targets = [value]
            elif name == "get_model":  # apps.get_model("tasks.Task") / get_model("tasks", "Task")
                targets = [f"apps.{value.split('.')[0]}"]
        for target in targets:
            if target.startswith("apps."):
                found.append(Import(f"{filename}:{node.lineno}", module, target))
    return found


def all_imports(*, with_leaves: bool = False) -> list[Import]:
    found = []
    for path in sorted(APPS.glob("*/**/*.py")):
        if "migrations" in path.parts or (is_leaf(path) and not with_leaves):
            continue
        found += imports_in(
            path.read_text(encoding="utf-8"),
            module=module_name(path),
            is_package=path.name == "__init__.py",
            filename=str(path.relative_to(ROOT)),
        )
    return found


def app_graph(imports: list[Import]) -> dict[str, dict[str, list[Import]]]:
    graph: dict[str, dict[str, list[Import]]] = defaultdict(lambda: defaultdict(list))
    for imp in imports:
        if imp.source_app != imp.target_app:
            graph[imp.source_app][imp.target_app].append(imp)
    return graph


def find_cycle(graph) -> list[str] | None:
    """One circle of the graph as [a, b, ..., a], or None."""
    state: dict[str, str] = {}  # "visiting" | "done"
    stack: list[str] = []

    def visit(node):
        state[node] = "visiting"
        stack.append(node)
        for succ in sorted(graph.get(node, {})):
            if state.get(succ) == "visiting":
                return [*stack[stack.index(succ) :], succ]
            if succ not in state:
                cycle = visit(succ)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def describe(graph, cycle: list[str]) -> str:
    steps = []
    for a, b in zip(cycle, cycle[1:], strict=False):
        first = graph[a][b][0]
        steps.append(f"  {a} -> {b}: {first.source} imports {first.target}")
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


# --- The checks themselves -------------------------------------------------------------------


def test_the_scanner_sees_imports_inside_functions_relative_and_string_imports():
    # Guard against a test that passes because it sees nothing.
    source = '''
import apps.tasks.models
from apps import notifications
from . import selectors


def later():
    from apps.followups.services import visit_schedule
    import_module("apps.supervision.timeline")
    apps.get_model("authorization.Instruction")


class X:
    def method(self):
        if True:
            from ..core.exceptions import DomainError
'''
    found = imports_in(source, module="apps.appeals.services", filename="x.py")
    assert sorted({(i.target_app, i.source.split(":")[1]) for i in found}) == [
        ("appeals", "4"),
        ("authorization", "10"),
        ("core", "16"),
        ("followups", "8"),
        ("notifications", "3"),
        ("supervision", "9"),
        ("tasks", "2"),
    ]
    assert is_leaf(APPS / "tasks" / "admin.py") and is_leaf(APPS / "authorization" / "admin" / "common.py")
    assert is_leaf(APPS / "tasks" / "management" / "commands" / "load_demo_appeals.py")
    assert is_leaf(APPS / "tasks" / "admin_desk.py") and not is_leaf(APPS / "core" / "admin_actions.py")
    assert not is_leaf(APPS / "tasks" / "services.py") and not is_leaf(APPS / "appeals" / "forms.py")


def test_the_graph_is_read_from_the_real_code():
    graph = app_graph(all_imports())
    assert "appeals" in graph["tasks"]  # work orders import their appeals
    assert "tasks" in graph["followups"]
    assert set(graph) - {"core"} <= set(LAYERS)


def test_the_apps_import_each_other_without_a_circle():
    graph = app_graph(all_imports())
    cycle = find_cycle(graph)
    assert cycle is None, "Circle of imports between apps:\n" + describe(graph, cycle)


def test_every_app_is_placed_in_a_layer():
    apps = {p.name for p in APPS.iterdir() if (p / "apps.py").exists()}
    assert apps == set(LAYERS), "Place new apps in LAYERS here and in docs/architecture.md"


@pytest.mark.parametrize("app", LAYERS)
def test_each_app_imports_only_the_layers_below_it(app):
    graph = app_graph(all_imports())
    below = set(LAYERS[: LAYERS.index(app)])
    upward = [imp for target, imps in graph.get(app, {}).items() if target not in below for imp in imps]
    assert not upward, "Imports up the layers (callers orchestrate instead):\n" + "\n".join(
        f"  {imp.source} imports {imp.target}" for imp in upward
    )


def test_no_module_but_a_leaf_imports_another_apps_leaf():
    leaves = {module_name(p) for p in APPS.glob("*/**/*.py") if is_leaf(p)}
    offending = [
        imp
        for imp in all_imports()
        if imp.source_app != imp.target_app and any(imp.target == m or imp.target.startswith(m + ".") for m in leaves)
    ]
    assert not offending, "\n".join(f"{imp.source} imports {imp.target}" for imp in offending)


def test_core_imports_only_django_the_standard_library_third_parties_and_itself():
    # Leaves included: core's admin plumbing and commands are core too.
    core = [imp for imp in all_imports(with_leaves=True) if imp.source_app == "core" and imp.target_app != "core"]
    assert not core, "apps/core imports a domain app:\n" + "\n".join(f"  {i.source} imports {i.target}" for i in core)
