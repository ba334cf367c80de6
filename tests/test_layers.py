"""The import contracts hold on the code, and a deliberate violation breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter with the project's contracts on the package under `src`."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=src,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_code_keeps_its_contracts() -> None:
    done = _lint(ROOT / "src")
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_import_against_the_layers_breaks_the_build(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "cityops", copy / "cityops", ignore=_no_assets)
    # org sits below auth: the org tree must never reach up into accounts.
    (copy / "cityops" / "org" / "upward.py").write_text(
        '"""A deliberate violation, for the test."""\n\nfrom cityops.auth import roles  # noqa\n',
        encoding="utf-8",
    )
    done = _lint(copy)
    assert done.returncode != 0
    assert "cityops.org.upward -> cityops.auth.roles" in done.stdout


def test_a_portal_page_reading_a_repository_breaks_the_build(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "cityops", copy / "cityops", ignore=_no_assets)
    (copy / "cityops" / "portal" / "shortcut.py").write_text(
        '"""A deliberate violation."""\n\nfrom cityops.cases.repository import CaseRepository  # noqa\n',
        encoding="utf-8",
    )
    done = _lint(copy)
    assert done.returncode != 0
    assert "The portal never imports repositories" in done.stdout
    assert "BROKEN" in done.stdout


def _no_assets(folder: str, names: list[str]) -> set[str]:
    """Leave the bundled web assets and caches out of the copy: only Python matters here."""
    return {n for n in names if n in ("static", "__pycache__", "templates")}


def test_the_case_module_has_no_import_circle() -> None:
    import grimp

    graph = grimp.build_graph("cityops")
    circles = [
        (module, imported)
        for module in graph.modules
        if module.startswith("cityops.cases")
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert circles == []
