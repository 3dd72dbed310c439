"""The docs stay true to the code: the params page is generated, the README stays short, every relative
link resolves, and the CLI table names every `changer` subcommand with its flags."""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from changer.plugin.params import markdown_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CLI_PAGE = DOCS / "cli.md"
README_MAX_LINES = 200
#: Where the `changer` command table (``COMMANDS``: name -> (module, help)) lives, newest first.
COMMAND_TABLE_MODULES = ("changer.plugin.commands.main", "changer.plugin.commands", "changer.plugin.cli")

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
#: A CLI row that takes every flag of another command, e.g. "[every changer render flag]".
INHERITS = re.compile(r"every `?changer (\w+)`? flags?")


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code (links are not links there)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8")))}


def test_params_page_is_the_generated_table() -> None:
    page = DOCS / "params.md"
    assert page.read_text(encoding="utf-8") == markdown_table(), (
        "docs/params.md differs from plugin/params.py's param list: regenerate it with "
        "`changer params --markdown > docs/params.md`")


def test_readme_is_short() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines; keep it at most {README_MAX_LINES} (what it is, a picture, quick start, "
        "the jobs, limits) and move the rest into docs/")


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # http:, https:, mailto: ...
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target} (no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest})")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.name})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: " + "; ".join(broken)


def test_readme_links_every_docs_page() -> None:
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in LINK.findall(_prose(README.read_text("utf-8")))}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"README.md's docs index does not link: {', '.join(missing)}"


def _command_table() -> dict[str, Any]:
    """The `changer` CLI's ``COMMANDS`` table, wherever the CLI lives now."""
    for name in COMMAND_TABLE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # this location does not exist (any more); try the next
            raise
        commands = getattr(module, "COMMANDS", None)
        if commands:
            return dict(commands)
    raise AssertionError(f"no `changer` command table (COMMANDS) found in any of {COMMAND_TABLE_MODULES}")


COMMANDS = _command_table()


def _cli_table() -> list[str]:
    """The lines of docs/cli.md's command table, from its header to its last `changer` row."""
    lines = CLI_PAGE.read_text(encoding="utf-8").splitlines()
    header = next((i for i, line in enumerate(lines) if re.match(r"^\|\s*command\s*\|", line)), None)
    assert header is not None, "docs/cli.md has no command table (a header row starting `| command |`)"
    rows = [i for i, line in enumerate(lines) if i > header and line.startswith("| `changer ")]
    assert rows, "docs/cli.md's command table has no `changer ...` rows"
    return lines[header:rows[-1] + 1]


def _row(command: str) -> str:
    rows = [line for line in _cli_table() if re.match(rf"^\| `changer {re.escape(command)}[ `]", line)]
    assert rows, f"docs/cli.md's command table has no row for `changer {command}`"
    return rows[0]


def test_cli_table_has_no_blank_line_inside() -> None:
    table = _cli_table()
    stray = [line for line in table if not line.startswith("|")]
    assert not stray, (f"docs/cli.md's command table is broken by {len(stray)} line(s) that are not table rows "
                       "(a blank line ends a Markdown table): " + repr(stray[:3]))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_table_names_every_command_and_its_flags(command: str) -> None:
    row = _row(command)
    entry = COMMANDS[command]
    if not (isinstance(entry, tuple) and entry and isinstance(entry[0], str)):
        return  # the table no longer names modules: the row's presence is all we can check
    flags = _long_flags(_module(entry[0]))
    inherited = INHERITS.search(row)
    if inherited and inherited.group(1) in COMMANDS:
        flags -= _long_flags(_module(COMMANDS[inherited.group(1)][0]))
    missing = sorted(f for f in flags if not re.search(rf"{re.escape(f)}(?![\w-])", row))
    assert not missing, f"docs/cli.md's row for `changer {command}` does not name {', '.join(missing)}"


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # e.g. PySide6 missing for `changer review`
        pytest.skip(f"cannot import {name}: {exc}")


def _long_flags(module: ModuleType) -> set[str]:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return {s for action in parser._actions for s in action.option_strings if s.startswith("--") and s != "--help"}
