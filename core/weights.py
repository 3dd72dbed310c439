"""Where model weights are looked for, and the on-disk format of a weights file pair.

Shipped weights live in the package (``changer/core/weights/``); a studio adds its own through
``$CHANGER_WEIGHTS`` (a file or a folder). Weights are always ``<name>.safetensors`` with a JSON
card ``<name>.json`` beside it: nothing is ever unpickled.

The card holds the architecture config, format and architecture versions, a description of the
training data, metrics, and ``tensors_sha256``: SHA-256 over the tensors in sorted name order,
each contributing ``name``, ``dtype`` (e.g. ``float32``) and ``shape`` (comma-separated) as UTF-8
strings each followed by a NUL byte, then its raw little-endian bytes in C order. Hashing tensors
rather than the file keeps the hash independent of the safetensors header layout.
Building and loading the network from a pair is :mod:`changer.core.model.weights_io`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .errors import WeightsError

SHIPPED_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_ENV = "CHANGER_WEIGHTS"

CARD_FORMAT = "changer-weights"
CARD_FORMAT_VERSION = 1
SHA256_SCHEME = "sorted-name-dtype-shape-bytes-v1"
CARD_KEYS = (
    "format",
    "format_version",
    "architecture",
    "architecture_version",
    "config",
    "training_data",
    "metrics",
    "sha256_scheme",
    "tensors_sha256",
)


def weights_search_path() -> list[Path]:
    """Folders and files searched for weights, in priority order."""
    paths = [Path(p) for p in os.environ.get(WEIGHTS_ENV, "").split(os.pathsep) if p]
    return [*paths, SHIPPED_WEIGHTS_DIR]


def find_weights() -> list[Path]:
    """Every ``.safetensors`` file on the search path, in priority order."""
    found: list[Path] = []
    for entry in weights_search_path():
        if entry.is_file() and entry.suffix == ".safetensors":
            found.append(entry)
        elif entry.is_dir():
            found.extend(sorted(entry.glob("*.safetensors")))
    return found


def card_path(weights_path: Path) -> Path:
    """The JSON card that belongs to a ``.safetensors`` file."""
    return weights_path.with_suffix(".json")


def tensors_sha256(tensors: Mapping[str, torch.Tensor]) -> str:
    """Hex SHA-256 of a name → tensor mapping, by the scheme in this module's docstring."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        dtype = str(t.dtype).removeprefix("torch.")
        shape = ",".join(str(s) for s in t.shape)
        for field in (name, dtype, shape):
            digest.update(field.encode("utf-8") + b"\0")
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def read_card(weights_path: Path) -> dict[str, Any]:
    """The JSON card beside ``weights_path``, checked for format and required keys."""
    path = card_path(weights_path)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"{path}: missing; every weights file needs its JSON card beside it") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: not a readable JSON weights card ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise WeightsError(f"{path}: not a CHANGER weights card (expected \"format\": \"{CARD_FORMAT}\")")
    if card.get("format_version") != CARD_FORMAT_VERSION:
        raise WeightsError(
            f"{path}: card format version {card.get('format_version')!r}, "
            f"this CHANGER reads version {CARD_FORMAT_VERSION}"
        )
    missing = [k for k in CARD_KEYS if k not in card]
    if missing:
        raise WeightsError(f"{path}: card lacks {', '.join(missing)}")
    if card["sha256_scheme"] != SHA256_SCHEME:
        raise WeightsError(f"{path}: unknown sha256_scheme {card['sha256_scheme']!r}, expected {SHA256_SCHEME!r}")
    return card
