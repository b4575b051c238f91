"""The documentation keeps up with the code: every setting is in docs/configuration.md, every doc the README links exists."""

from __future__ import annotations

import re
from pathlib import Path

from shared_model.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_with_its_default() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    rows = {match.group(1): match.group(2) for match in re.finditer(r"^\| `(REFINERY_[A-Z0-9_]+)`[^|]*\| ([^|]*) \|", text, re.M)}
    missing = [f"REFINERY_{name.upper()}" for name in Settings.model_fields if f"REFINERY_{name.upper()}" not in rows]
    assert not missing, f"docs/configuration.md lacks {missing}"
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
        variable = f"REFINERY_{name.upper()}"
        documented = rows[variable].strip().strip("`")
        message = f"{variable}: docs/configuration.md says {documented!r}, the code {default!r}"
        if default in ("", [], None):
            assert documented in ("empty", "[]"), message
        else:
            assert documented.lower() == str(default).lower(), message


def test_readme_links_point_at_files_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert links
    for link in links:
        if "://" not in link:
            assert (ROOT / link).exists(), f"README.md links to {link}, which does not exist"


def test_scripts_named_in_the_readme_exist_and_are_executable() -> None:
    for script in ("start", "stop", "test", ".ci/run"):
        path = ROOT / script
        assert path.is_file() and path.stat().st_mode & 0o111, f"{script} is missing or not executable"
    for script in ("start.bat", "stop.bat"):
        assert b"\r\n" in (ROOT / script).read_bytes(), f"{script} needs Windows line endings"
