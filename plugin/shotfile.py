"""Shot settings as TOML: the same keys as the node's params, read as data, written atomically.

A shot file is a flat table of param names (see :mod:`changer.plugin.params`); values have their
param's type (``tau = 0.4``, ``output = "green"``, ``screen_color = [0.1, 0.6, 0.2]``). An "auto"
RGB param is written by leaving it out (TOML has no null). Unknown keys and bad values are errors
naming the file and the key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from changer.core.errors import ParamError, shown
from changer.core.io import atomic_path

from .params import ParamValues, get_param

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the package requires tomli there
    import tomli as tomllib


def read_shot(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The typed values of a shot file (only the keys it sets), each validated against its param."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamError(f"shot file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParamError(f"shot file {path}: cannot read it ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParamError(f"shot file {path}: not valid TOML ({exc})") from None
    values: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, dict):
            raise ParamError(f"shot file {path}: [{shown(name)}] tables are not used; write params as top-level keys")
        try:
            values[name] = get_param(name).validate(value)
        except ParamError as exc:
            raise ParamError(f"shot file {path}: {exc}") from None
    return values


def write_shot(path: str | os.PathLike[str], values: ParamValues | Mapping[str, Any],
               only_changed: bool = False) -> Path:
    """Write ``values`` as a shot file (atomically); ``None`` (auto) values are left out."""
    path = Path(path)
    plain = values.to_dict(only_changed) if isinstance(values, ParamValues) else dict(values)
    table = {k: list(v) if isinstance(v, tuple) else v for k, v in plain.items() if v is not None}
    with atomic_path(path) as tmp:
        tmp.write_text(tomli_w.dumps(table), encoding="utf-8")
    return path
