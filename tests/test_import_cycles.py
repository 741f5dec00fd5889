"""No import cycles among the project's modules, counting imports made only for type checking.

A cycle behind ``if TYPE_CHECKING:`` still couples two modules both ways: neither can be read,
moved or tested without the other. Imports inside functions are left out: they are deliberate
late imports, made when the function runs.

Read with ``ast``, nothing imported: a module that imports another also runs the packages
above it (their ``__init__``), so those count as imported too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The packages the wheel ships (pyproject.toml, [tool.hatch.build.targets.wheel]).
PACKAGES = ("planhat_common", "planhat_sandbox", "tap_planhat", "target_planhat")


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of :data:`PACKAGES`."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _module_level(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported or type-checked: not those inside functions."""
    imports: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))
    return imports


def _targets(name: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names ``node`` (in module ``name``) imports: a module, or names from one."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports (and the packages above them)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in _module_level(ast.parse(path.read_text(), str(path))):
            for target in _targets(name, path, node):
                parts = target.split(".")
                for end in range(1, len(parts) + 1):
                    imported = ".".join(parts[:end])
                    # A module's own packages are already running when it is imported.
                    if imported in modules and not name.startswith(imported + "."):
                        edges.add(imported)
        edges.discard(name)
        graph[name] = edges
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or not."""
    seen: set[str] = set()
    pending = list(graph[start])
    while pending:
        node = pending.pop()
        if node not in seen:
            seen.add(node)
            pending.extend(graph[node])
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that import each other (directly or not), sorted."""
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {
        tuple(sorted({node} | {other for other in reach[node] if node in reach[other]}))
        for node in graph
        if node in reach[node]
    }
    return sorted(list(group) for group in groups)


def test_the_graph_sees_type_checking_imports_and_packages() -> None:
    # Positive controls: a TYPE_CHECKING-only import and a package's __init__ are edges.
    graph = _graph()
    assert "planhat_common.settings" in graph["planhat_common.client"]  # TYPE_CHECKING only
    assert "tap_planhat.paging" in graph["tap_planhat.streams"]  # the package of its imports
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package: str) -> None:
    cycles = [c for c in _cycles(_graph()) if any(m.split(".")[0] == package for m in c)]
    assert cycles == [], f"modules importing each other, directly or not: {cycles}"
