"""The dependency rule (the domain imports only the standard library and itself; packages and
modules import one way) and the house rules for production code."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "domain"
FORBIDDEN = {"litestar", "celery", "kombu", "redis", "httpx", "openai", "msgspec", "PIL", "boto3"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_only_the_standard_library() -> None:
    files = sorted(DOMAIN.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        roots = imported_roots(path)
        assert not roots & FORBIDDEN, f"{path.name} imports {roots & FORBIDDEN}"
        outside = {r for r in roots if r not in sys.stdlib_module_names and r != "domain"}
        outside.discard("__future__")
        assert not outside, f"{path.name} imports non-stdlib {outside}"


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import redis\nfrom litestar import get\n")
    assert imported_roots(bad) & FORBIDDEN == {"redis", "litestar"}


# --- no import cycles ---------------------------------------------------------------------
# The graph: one node per module under src/ and worker/; an edge for every import of another of
# them that the source spells out — at module level, inside functions and under TYPE_CHECKING
# alike (a deferred import still couples the two files; hiding a cycle inside a function is
# exactly what this test exists to stop). `from package import name` counts as an import of
# `package.name` when that is a module, else of `package`.

ROOT = Path(__file__).resolve().parents[2]


def module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for base, prefix in ((ROOT / "src", ""), (ROOT, "worker")):
        tree = base / prefix if prefix else base
        for path in sorted(tree.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts:
                modules[".".join(parts)] = path
    return modules


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in modules:  # `import a.b.c` of a package
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            child = next(edges, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_under_src_or_worker_is_part_of_an_import_cycle() -> None:
    modules = module_files()
    assert {"domain.ports", "entrypoints.settings", "worker.tasks"} <= set(modules)
    assert cycles(import_graph(modules)) == []


def test_the_cycle_check_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from pkg.c import g\n")
    (tmp_path / "pkg" / "c.py").write_text("from . import a\n")
    (tmp_path / "pkg" / "d.py").write_text("import pkg.a\n")
    modules = {
        name: tmp_path / "pkg" / f"{name.rpartition('.')[2]}.py"
        for name in ("pkg.a", "pkg.b", "pkg.c", "pkg.d")
    }
    modules["pkg"] = tmp_path / "pkg" / "__init__.py"
    assert cycles(import_graph(modules)) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_cycle_between_the_packages() -> None:
    """domain ← adapters ← entrypoints ← worker: each package imports only those to its left."""
    modules = module_files()
    packages: dict[str, set[str]] = {}
    for name, targets in import_graph(modules).items():
        top = name.split(".")[0]
        packages.setdefault(top, set()).update(t.split(".")[0] for t in targets)
    for top, targets in packages.items():
        targets.discard(top)
    assert {"domain", "adapters", "entrypoints", "worker"} <= set(packages)
    assert cycles(packages) == []
    order = ["domain", "adapters", "entrypoints", "worker"]
    for top in order:
        allowed = set(order[: order.index(top)])
        assert packages[top] <= allowed, f"{top} imports {packages[top] - allowed}"


def test_the_package_check_finds_a_cycle_between_packages() -> None:
    assert cycles({"adapters": {"domain"}, "domain": {"entrypoints"}, "entrypoints": {"adapters"}})


# --- house rules for production code (src/ and worker/) ------------------------------------

MAX_LINES = 300


# The stand-in the operators change replaces (its Lua moves into lua/*.lua); drop it from here
# when that lands.
def production_files() -> list[Path]:
    files = sorted(module_files().values())
    assert len(files) >= 50
    return files


def broken_rules(path: Path) -> list[str]:
    """What in this file breaks a house rule: an `assert` (stripped under -O, and no way to
    narrow a type in production), a module over MAX_LINES, `__getattr__` forwarding (hides what
    a wrapper offers), Lua in a Python string (Lua lives in adapters/lua/), a fault switch (test
    hooks live in the tests)."""
    source = path.read_text()
    tree = ast.parse(source, filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    broken = []
    if len(source.splitlines()) > MAX_LINES:
        broken.append(f"over {MAX_LINES} lines")
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            broken.append(f"assert on line {node.lineno}")
        elif (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "__getattr__"
        ):
            broken.append(f"__getattr__ on line {node.lineno}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and re.search(r"redis\.p?call\(", node.value)
        ):
            broken.append(f"Lua in a string on line {node.lineno}")
        if isinstance(node, ast.Name | ast.Attribute | ast.ClassDef | ast.Constant) and (
            id(node) not in docstrings  # prose may name a fault
        ):
            spelled = getattr(node, "id", None) or getattr(node, "attr", None)
            spelled = spelled or getattr(node, "name", None) or getattr(node, "value", None)
            if isinstance(spelled, str) and FAULT_SWITCH.search(spelled):
                broken.append(f"fault switch {spelled!r} on line {node.lineno}")
    return broken


FAULT_SWITCH = re.compile(r"IMAGEGATE_FAULT|(?<![a-z])fault|crash_?before", re.IGNORECASE)


def test_production_code_keeps_the_house_rules() -> None:
    root = ROOT / "src"
    broken = {}
    for path in production_files():
        relative = str(path.relative_to(root if path.is_relative_to(root) else ROOT))
        found = broken_rules(path)
        if found:
            broken[relative] = found
    assert broken == {}


def test_the_house_rules_catch_each_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""A docstring may say redis.call(\'GET\') in passing."""\n'
        "class Forwarder:\n"
        "    def __getattr__(self, name):\n"
        "        return name\n"
        "SCRIPT = \"return redis.call('GET', KEYS[1])\"\n"
        "FAULT = 'IMAGEGATE_FAULT'\n"
        "class CrashBeforeEnqueue: ...\n"
        "def f(x):\n"
        "    assert x is not None\n"
        "    return 'default'\n" + "\n" * MAX_LINES
    )
    broken = broken_rules(bad)
    assert f"over {MAX_LINES} lines" in broken
    assert "__getattr__ on line 3" in broken
    assert "Lua in a string on line 5" in broken
    assert "assert on line 9" in broken
    assert any("IMAGEGATE_FAULT" in b for b in broken)
    assert any("CrashBeforeEnqueue" in b for b in broken)
    assert not any("default" in b or "line 1" in b for b in broken)


def test_the_http_edge_never_sees_a_redis_exception() -> None:
    """The adapters translate store outages into domain errors; the edge maps only those."""
    for path in sorted((ROOT / "src" / "entrypoints" / "http").rglob("*.py")):
        assert "redis" not in imported_roots(path), f"{path.name} imports redis"


# The app builds the container on startup and the dependency providers hand out its fields;
# a handler, guard or middleware gets what it uses injected, never the whole container.
CONTAINER_READERS = {"app.py", "deps.py"}


def test_only_the_app_and_its_providers_read_the_container_from_state() -> None:
    http = ROOT / "src" / "entrypoints" / "http"
    readers = {
        path.name
        for path in http.glob("*.py")
        if re.search(r"state\.container|state\[\W*container", path.read_text())
    }
    assert readers <= CONTAINER_READERS, readers - CONTAINER_READERS


def _error_subclasses_outside_the_error_module(files: list[Path]) -> list[str]:
    """Classes outside domain/errors.py that subclass one of its errors: every error with a
    stable code lives in that one module (the status table and DESIGN's list follow it)."""
    module = DOMAIN / "errors.py"
    tree = ast.parse(module.read_text())
    errors = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    found = []
    for path in files:
        if path == module:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(b, "attr", None) or getattr(b, "id", None) for b in node.bases}
                if bases & errors:
                    found.append(f"{path.name}:{node.name}")
    return found


def test_every_domain_error_is_declared_in_the_error_module(tmp_path: Path) -> None:
    assert _error_subclasses_outside_the_error_module(production_files()) == []
    stray = tmp_path / "stray.py"
    stray.write_text("from domain import errors\n\nclass Nope(errors.InvalidRequest):\n    pass\n")
    assert _error_subclasses_outside_the_error_module([stray]) == ["stray.py:Nope"]
