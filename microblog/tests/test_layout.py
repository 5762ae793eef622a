"""The package graph is a design (docs/architecture.md, "Layout"): each top-level package imports
only the packages below it. Tests, migrations, bench and scripts aside; imports inside functions
count too."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FOUNDATIONS = {"keyset", "ops", "pagecache", "redis_clients"}
KINDS = {"usertasks", "blog"} | FOUNDATIONS
ALLOWED = {
    "keyset": set(),
    "redis_clients": set(),
    "serverpatches": set(),
    "devtools": set(),
    "ops": {"redis_clients"},
    "pagecache": {"redis_clients"},
    "usertasks": {"ops", "keyset", "redis_clients"},
    "blog": {"usertasks"} | FOUNDATIONS,
    "accounts": KINDS,
    "exports": KINDS,
    "imports": KINDS,
    "private_messages": KINDS,
}
OURS = set(ALLOWED) | {"microblog", "testkit"}


def imports_of(package: str) -> dict[str, set[str]]:
    """Which of our packages each module of ``package`` imports (file -> packages)."""
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "migrations" in parts:
            continue
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            targets |= {name.split(".")[0] for name in names} & OURS
        found[str(path.relative_to(ROOT))] = targets - {package}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_the_layout_allows(package):
    wrong = {
        module: sorted(targets - ALLOWED[package])
        for module, targets in imports_of(package).items()
        if targets - ALLOWED[package]
    }
    assert wrong == {}


def test_every_top_level_package_is_in_the_layout():
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"bench", "scripts"}
    }
    assert packages == OURS
