"""The dependency rule: the domain imports only the standard library and itself."""

from __future__ import annotations

import ast
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
