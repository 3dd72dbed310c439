"""The four code folders install as one package, `changer`, and nothing else leaks into site-packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
CODE_FOLDERS = {"core": "changer.core", "plugin": "changer.plugin", "ui": "changer.ui", "training": "changer.training"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_code_package_is_listed_in_pyproject() -> None:
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    on_disk = set()
    for folder, name in CODE_FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            on_disk.add(".".join((name, *rel)))
    assert on_disk == listed, (f"packages on disk but not in pyproject: {on_disk - listed}; "
                               f"listed but missing: {listed - on_disk}")


def test_package_dir_maps_the_four_folders() -> None:
    assert _pyproject()["tool"]["setuptools"]["package-dir"] == {v: k for k, v in CODE_FOLDERS.items()}


def _run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_installed_namespace(tmp_path: Path) -> None:
    ok = _run_python("import changer.core, changer.plugin, changer.ui, changer.training; print('ok')", tmp_path)
    assert ok.returncode == 0, ok.stderr
    for top in ("core", "plugin", "ui", "training"):
        bad = _run_python(f"import {top}", tmp_path)
        assert bad.returncode != 0 and "ModuleNotFoundError" in bad.stderr, f"`import {top}` must fail after install"


@pytest.mark.slow
def test_regular_install_layout(tmp_path: Path) -> None:
    """`pip install .` (not editable) puts only `changer/` into site-packages, with the shipped files."""
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    tops = {p.name for p in target.iterdir() if not p.name.endswith((".dist-info", ".egg-info")) and p.name != "bin"}
    assert tops == {"changer"}, f"unexpected top-level entries in site-packages: {sorted(tops)}"
    for folder in CODE_FOLDERS:
        assert (target / "changer" / folder / "__init__.py").is_file()
    env_check = subprocess.run(
        [sys.executable, "-I", "-c",
         "import sys; sys.path.insert(0, sys.argv[1]); import changer.core.errors; "
         "print(changer.core.errors.__file__)",
         str(target)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert env_check.returncode == 0, env_check.stderr
    assert str(target) in env_check.stdout
