"""Which code folder may import which, read from the source with ``ast`` (nothing is imported).

core is the engine and depends on nothing else of ours; training builds on core alone; the node and its
hosts (plugin/ outside plugin/commands/) never pull in the review panel or the training code; the panel
(ui/) uses core and the node but not training. Only the shell (plugin/commands/) may use everything,
and nothing else imports it. Imports under ``if TYPE_CHECKING:`` and inside functions count too: a
lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"core": "changer.core", "plugin": "changer.plugin", "ui": "changer.ui", "training": "changer.training"}
SHELL = "changer.plugin.commands"


@dataclass(frozen=True)
class Rule:
    """Modules under ``scope`` (minus ``exempt``) may import from ``changer`` only what ``allowed`` names."""

    name: str
    scope: str
    allowed: tuple[str, ...]
    exempt: str | None = None
    forbidden: tuple[str, ...] = ()


RULES = (
    Rule("core imports nothing of plugin, ui or training", "changer.core", ("changer.core",)),
    Rule("training imports only core and itself", "changer.training", ("changer.core", "changer.training")),
    Rule("the node (plugin outside the shell) imports neither ui nor training", "changer.plugin",
         ("changer.core", "changer.plugin"), exempt=SHELL, forbidden=(SHELL,)),
    Rule("ui imports core and plugin, not training", "changer.ui", ("changer.core", "changer.plugin", "changer.ui"),
         forbidden=(SHELL,)),
)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def module_name(path: Path) -> str:
    """``plugin/hosts/batch.py`` -> ``changer.plugin.hosts.batch`` (a package's ``__init__`` is the package)."""
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    parts = [FOLDERS[folder], *rest]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(code: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in ``code`` of ``module``; ``from a import b`` yields ``a`` and ``a.b``
    (``b`` may be a submodule), relative imports resolved against the module's package."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            yield node.lineno, source
            yield from ((node.lineno, f"{source}.{alias.name}") for alias in node.names if alias.name != "*")


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def source_files() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def violations(rule: Rule) -> list[str]:
    found = []
    for path in source_files():
        module = module_name(path)
        if not _within(module, rule.scope) or (rule.exempt and _within(module, rule.exempt)):
            continue
        for line, imported in imported_modules(path):
            if not _within(imported, "changer"):
                continue
            allowed = any(_within(imported, a) for a in rule.allowed)
            if not allowed or any(_within(imported, f) for f in rule.forbidden):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    return sorted(set(found))


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_import_rule(rule: Rule) -> None:
    bad = violations(rule)
    assert not bad, f"{rule.name}:\n" + "\n".join(bad)


def test_the_reader_sees_relative_lazy_and_type_only_imports() -> None:
    """The checker itself: relative imports, imports inside functions and under TYPE_CHECKING are all found."""
    assert "changer.plugin.terminate" in {name for _, name in imported_modules(ROOT / "plugin" / "hosts" / "batch.py")}
    assert module_name(ROOT / "plugin" / "commands" / "__init__.py") == SHELL
    code = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from changer.ui import app\n"
            "def f():\n    from .. import training\n")
    names = {name for _, name in imports_in(code, "changer.plugin.hosts.fake")}
    assert {"changer.ui", "changer.ui.app", "changer.plugin", "changer.plugin.training"} <= names
