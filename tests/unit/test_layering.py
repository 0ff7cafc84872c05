"""The package's import structure: layers, import cycles and who may use which library.

Every module of ``metalscope/`` is parsed (``ast``, nothing is imported). An import counts
wherever it is written, at module level or inside a function, since a function-level import
runs too. Imports under ``if TYPE_CHECKING:`` are left out: they never run, and naming a
type from another layer in an annotation creates no dependency at run time.

The architecture, read from the top: the commands (``metalscope.cli``, which nothing else
imports); the application, the server and ``metalscope.wiring``, which opens every service
from the settings; the HTTP layer calls operations; operations use the services container
and the ports (storage, the Ironic client, coordination, the PXE filter, auth); everything
else is the domain and shared plumbing (settings, errors, state machine, rules, processing
hooks, plugin groups), which imports nothing above it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "metalscope"

#: Layers from the top; a module belongs to the first layer one of whose prefixes it has
#: (a prefix is a module or a package). A module may import its own layer and those below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cli", ("metalscope.cli",)),
    ("entry points", ("metalscope.server", "metalscope.app", "metalscope.wiring",
                      "metalscope.conductor", "metalscope.process_roles",
                      "metalscope.simulator", "metalscope.testing")),
    ("api", ("metalscope.api",)),
    ("operations", ("metalscope.operations", "metalscope.background", "metalscope.follower")),
    ("services", ("metalscope.services",)),
    ("ports", ("metalscope.storage", "metalscope.ironic_client", "metalscope.coordination",
               "metalscope.pxe_filter", "metalscope.auth", "metalscope.redfish")),
    ("domain", ("metalscope",)),
)

#: Third-party packages only some product modules may import: package → allowed prefixes.
RESTRICTED_LIBRARIES: dict[str, tuple[str, ...]] = {
    "fastapi": ("metalscope.api", "metalscope.app"),
    "starlette": ("metalscope.api", "metalscope.app"),
    "sqlalchemy": ("metalscope.storage",),
    "alembic": ("metalscope.storage",),
    "oslo_config": ("metalscope.settings",),
    "prometheus_client": ("metalscope.metrics",),
    "jinja2": ("metalscope.ui",),
    "sushy": ("metalscope.redfish",),
}

#: The test helpers ship in the package but are not part of the product; only the demo
#: command may use them, inside its command function.
TESTING = "metalscope.testing"
NOT_PRODUCT = ("metalscope.testing", "metalscope.simulator")
TESTING_ALLOWED = ("metalscope.cli.demo",)

#: Imports that break a rule today, each with why it is still there: (module, imported).
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str
    target: str
    line: int

    def __str__(self) -> str:
        path = module_path(self.module).relative_to(PACKAGE.parent)
        return f"{path}:{self.line}: {self.module} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_path(name: str) -> Path:
    base = PACKAGE.parent.joinpath(*name.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` except the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from runtime_nodes(other)
            continue
        yield child
        yield from runtime_nodes(child)


def resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if MODULES[module].name == "__init__.py" else \
        module.split(".")[:-1]
    package = package[:len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def imports_of(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    found = []
    for node in runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = resolve(module, node)
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.append(Import(module, name if name in MODULES else base, node.lineno))
    return list(dict.fromkeys(found))


IMPORTS = {module: imports_of(module) for module in MODULES}


def own_module(target: str) -> str | None:
    """The metalscope module an import loads (``a.b.name`` → ``a.b``), if any."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer_of(module: str) -> int:
    return next(i for i, (_, prefixes) in enumerate(LAYERS) if within(module, prefixes))


def known(imp: Import) -> bool:
    return any(imp.module == m and within(imp.target, (t,)) for m, t in KNOWN_VIOLATIONS)


def report(problems: list[str]) -> str:
    return "\n".join(problems)


def test_every_module_parses_and_has_a_layer() -> None:
    assert len(MODULES) > 100
    for module in MODULES:
        layer_of(module)


def test_no_layer_imports_upward() -> None:
    problems = []
    for imports in IMPORTS.values():
        for imp in imports:
            target = own_module(imp.target)
            if target is None or known(imp):
                continue
            mine, theirs = layer_of(imp.module), layer_of(target)
            if theirs < mine:
                problems.append(f"{imp}: the {LAYERS[mine][0]} layer imports from the "
                                f"{LAYERS[theirs][0]} layer above it")
    assert not problems, report(problems)


@pytest.mark.parametrize("library", sorted(RESTRICTED_LIBRARIES))
def test_restricted_libraries(library: str) -> None:
    allowed = RESTRICTED_LIBRARIES[library]
    problems = [f"{imp}: only {', '.join(allowed)} may import {library}"
                for imports in IMPORTS.values() for imp in imports
                if within(imp.target, (library,)) and not within(imp.module, allowed)
                and not within(imp.module, NOT_PRODUCT) and not known(imp)]
    assert not problems, report(problems)


def test_product_does_not_use_the_test_helpers() -> None:
    problems = [f"{imp}: the product may not use {TESTING} (allowed in "
                f"{', '.join(TESTING_ALLOWED)})"
                for imports in IMPORTS.values() for imp in imports
                if within(imp.target, (TESTING,)) and not within(imp.module, NOT_PRODUCT)
                and not within(imp.module, TESTING_ALLOWED)]
    assert not problems, report(problems)


def test_the_test_helpers_are_imported_only_when_the_demo_runs() -> None:
    """No module-level import of them: importing the command line loads none of them."""
    problems = []
    for module in TESTING_ALLOWED:
        tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
        module_level = {node.lineno for node in tree.body
                        if isinstance(node, (ast.Import, ast.ImportFrom))}
        problems += [f"{imp}: import {TESTING} inside the command function"
                     for imp in IMPORTS[module]
                     if within(imp.target, (TESTING,)) and imp.line in module_level]
    assert not problems, report(problems)


def test_no_import_cycles() -> None:
    edges: dict[str, dict[str, Import]] = {m: {} for m in MODULES}
    for module, imports in IMPORTS.items():
        for imp in imports:
            target = own_module(imp.target)
            if target is not None and target != module:
                edges[module].setdefault(target, imp)
    cycles = [cycle for cycle in strongly_connected(edges) if len(cycle) > 1]
    problems = []
    for cycle in cycles:
        members = set(cycle)
        problems.append("import cycle:\n" + "\n".join(
            f"  {imp}" for m in sorted(cycle) for t, imp in sorted(edges[m].items())
            if t in members))
    assert not problems, report(problems)


def strongly_connected(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root, targets in edges.items():
        if root in index:
            continue
        work = [(root, iter(targets))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_known_violations_are_still_real() -> None:
    """An entry whose import is gone must be removed from KNOWN_VIOLATIONS."""
    present = {(imp.module, target) for imports in IMPORTS.values() for imp in imports
               for target in [own_module(imp.target) or imp.target]}
    stale = [f"{m} -> {t}" for m, t in KNOWN_VIOLATIONS
             if not any(mod == m and within(tgt, (t,)) for mod, tgt in present)]
    assert not stale, "no longer violated, remove from KNOWN_VIOLATIONS: " + ", ".join(stale)


#: ``release()`` calls (a node lock's takes no argument) outside ``coordination/`` that
#: release something other than a node lock: (module, receiver).
OTHER_RELEASES = {("metalscope.http_transport", "self._slots"),
                  ("metalscope.log_handlers", "self")}


def test_node_locks_are_released_only_by_their_holder() -> None:
    """Outside ``coordination/`` a node lock is held through ``HeldLock``/``HeldNode`` and
    released by leaving its ``async with``; no code calls ``release()`` on one by hand."""
    found = []
    for module, path in MODULES.items():
        if within(module, ("metalscope.coordination",)):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "release" and not node.args
                    and (module, ast.unparse(node.func.value)) not in OTHER_RELEASES):
                found.append(f"{path}:{node.lineno} {ast.unparse(node)}")
    assert not found, report(found)
