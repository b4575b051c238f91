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
