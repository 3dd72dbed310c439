"""The runnable examples in entry-point docstrings are run here, so they cannot rot."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["changer.core.checks", "changer.core.io.sequence", "changer.core.color.lab", "changer.core.grade"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
