"""The layering rule: shared_model and the launcher import no service's code; a service imports no other service's."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared_model.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a file imports, ``importlib.import_module("x.y")`` calls included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value.split(".")[0])
    return found


def _violations(package_dir: Path, forbidden: set[str]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in package_dir.rglob("*.py")
        if "migrations" not in path.parts
        for name in _imported_modules(path) & forbidden
    )


@pytest.mark.parametrize("package", ["shared_model/shared_model", "launcher/launcher"])
def test_shared_code_imports_no_service(package: str) -> None:
    assert _violations(ROOT / package, set(SERVICE_NAMES)) == []


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_a_service_imports_no_other_service(service: str) -> None:
    assert _violations(ROOT / "services" / service / service, set(SERVICE_NAMES) - {service}) == []


def test_the_check_sees_a_dynamic_import(tmp_path: Path) -> None:
    module = tmp_path / "sneaky.py"
    module.write_text('import importlib\nusers = importlib.import_module("gateway.domain.users")\n')
    assert "gateway" in _imported_modules(module)


def _module_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (anywhere in the file, function bodies included).

    Imports of a package itself (its ``__init__``) are left out: re-exporting submodules there is not a circle; so are
    imports under ``if TYPE_CHECKING:``, which never run (annotations only).
    """
    root = package_dir.name
    modules = {
        ".".join((root, *path.relative_to(package_dir).with_suffix("").parts)).removesuffix(".__init__"): path
        for path in package_dir.rglob("*.py")
        if "migrations" not in path.parts
    }
    packages = {name for name, path in modules.items() if path.name == "__init__.py"}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        base = name.split(".") if name in packages else name.split(".")[:-1]
        targets: set[str] = set()
        tree = ast.parse(path.read_text(), filename=str(path))
        typing_only = {
            id(inner)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
            for stmt in block.body
            for inner in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and id(node) not in typing_only:
                if node.level:
                    parent = base[: len(base) - node.level + 1]
                    stem = ".".join([*parent, *(node.module.split(".") if node.module else [])])
                elif node.module and node.module.split(".")[0] == root:
                    stem = node.module
                else:
                    continue
                candidates = [f"{stem}.{alias.name}" for alias in node.names] + [stem]
                targets.update(c for c in candidates if c in modules and c not in packages)
        graph[name] = targets - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                found.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


PACKAGES = ["shared_model/shared_model", "launcher/launcher", *(f"services/{name}/{name}" for name in SERVICE_NAMES)]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circle_inside_a_package(package: str) -> None:
    assert _cycles(_module_graph(ROOT / package)) == []


def test_the_circle_check_sees_a_circle_through_a_function_level_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import thing\n")
    (package / "b.py").write_text("def thing():\n    from .a import other\n")
    assert _cycles(_module_graph(package)) == [["pkg.a", "pkg.b", "pkg.a"]]
    (package / "b.py").write_text("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .a import other\n")
    assert _cycles(_module_graph(package)) == []  # an annotation-only import never runs
