"""The package's import graph: no cycles (function-level imports count too) and no study importing another."""

from __future__ import annotations

import ast
from pathlib import Path

import dl_drawbacks

ROOT = Path(dl_drawbacks.__file__).resolve().parent
PACKAGE = "dl_drawbacks"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def with_packages(module: str, targets: set[str], modules: set[str]) -> set[str]:
    """``targets`` plus the packages importing each one runs first (``a.b.c`` runs ``a/__init__`` and
    ``a/b/__init__``), except the packages ``module`` itself sits in: Python has started those before it."""
    parts = module.split(".")
    own = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    out = set(targets)
    for target in targets:
        pieces = target.split(".")
        out.update(p for p in (".".join(pieces[:i]) for i in range(1, len(pieces))) if p in modules and p not in own)
    return out - {module}


def import_graph(sources: dict[str, str] | None = None) -> dict[str, set[str]]:
    """module -> the package modules it imports anywhere in its body (TYPE_CHECKING blocks excluded), and the
    packages whose ``__init__`` those imports run. ``sources``: {module: code} instead of the package's files
    (a module whose name has no dots below it is a package ``__init__``)."""
    if sources is None:
        sources = {name: path.read_text() for name, path in _modules().items()}
        packages = {name for name, path in _modules().items() if path.name == "__init__.py"}
    else:
        packages = {n for n in sources if any(m.startswith(f"{n}.") for m in sources)}
    modules = set(sources)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, code in sources.items():
        tree = ast.parse(code)
        type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                     and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING") for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(node, name, name in packages)
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return {name: with_packages(name, targets, modules) for name, targets in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_a_function_level_cycle_through_a_package_init_is_found():
    """``spec/load`` planning inside a function, and ``plan`` importing ``spec.models``: importing ``spec.models``
    runs ``spec/__init__``, which imports ``spec.load`` — the cycle the old graph missed."""
    planted = {
        "pkg": "",
        "pkg.spec": "from .load import load_spec\n",
        "pkg.spec.models": "X = 1\n",
        "pkg.spec.load": "def load_spec():\n    from ..plan import plan\n",
        "pkg.plan": "from .spec.models import X\n",
    }
    cycle = find_cycle(import_graph(planted))
    assert cycle is not None and {"pkg.spec", "pkg.spec.load", "pkg.plan"} <= set(cycle)
    planted["pkg.spec.load"] = "def load_spec():\n    return None\n"
    assert find_cycle(import_graph(planted)) is None


def test_no_import_cycles_in_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_no_study_imports_another_study():
    for module, targets in import_graph().items():
        if module.startswith(f"{PACKAGE}.studies.") and module.count(".") >= 3:
            own = ".".join(module.split(".")[:3])
            others = {t for t in targets if t.startswith(f"{PACKAGE}.studies.") and t.count(".") >= 2
                      and not t.startswith(own) and t != f"{PACKAGE}.studies.base"}
            assert not others, f"{module} imports {others}"


def test_core_code_never_names_a_study():
    kinds = {p.name for p in (ROOT / "studies").iterdir() if (p / "kind.py").exists()}
    for name, path in _modules().items():
        if name.startswith(f"{PACKAGE}.studies"):
            continue
        text = path.read_text()
        for kind in kinds:
            assert f"studies.{kind}" not in text, f"{name} imports the {kind} study"
        assert "hasattr(kind" not in text, f"{name} probes a study kind with hasattr"


def private_imports(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> list[str]:
    """``from m import _x`` where ``m`` is another module of the package (a private name used across modules).
    Importing a private *module* (``from .pkg import _mod``) is a module of the package, not a name in one."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        source = _resolve(node, module, is_package)
        if not source.startswith(PACKAGE) or source == module:
            continue
        found += [f"{module} imports {source}.{a.name}" for a in node.names
                  if a.name.startswith("_") and not a.name.startswith("__") and f"{source}.{a.name}" not in modules]
    return found


def test_the_private_name_finder_finds_a_planted_one():
    tree = ast.parse("from .sample_stats import _split\nfrom ..plan import get_path\nfrom . import _private_mod")
    modules = {"dl_drawbacks.studies.bias.sample_stats", "dl_drawbacks.studies.bias._private_mod"}
    assert private_imports(tree, "dl_drawbacks.studies.bias.audit", False, modules) == [
        "dl_drawbacks.studies.bias.audit imports dl_drawbacks.studies.bias.sample_stats._split"]


def test_no_module_imports_a_private_name_of_another():
    modules = _modules()
    found = [line for name, path in sorted(modules.items())
             for line in private_imports(ast.parse(path.read_text()), name, path.name == "__init__.py", set(modules))]
    assert found == []


def test_the_spec_layer_imports_no_tracking_module():
    """W&B settings are a spec model (``spec.tracking``); the tracking package reads them, never the reverse."""
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith(f"{PACKAGE}.spec"):
            assert not {t for t in targets if t.startswith(f"{PACKAGE}.tracking")}, module
