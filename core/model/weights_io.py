"""Save and load CHANGER weights: ``<name>.safetensors`` + ``<name>.json`` (see :mod:`changer.core.weights`).

Loading rebuilds the network from the card's config and refuses anything that does not match it
exactly (missing, unexpected or reshaped tensors, a changed hash, a truncated or foreign file),
with a message naming the file. Only safetensors and JSON are parsed; nothing is ever unpickled.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes

from ..errors import ChangerError, WeightsError
from ..io.atomic import atomic_path
from ..weights import (
    CARD_FORMAT,
    CARD_FORMAT_VERSION,
    SHA256_SCHEME,
    card_path,
    read_card,
    tensors_sha256,
)
from .changer_net import ChangerNet
from .config import ARCHITECTURE, ARCHITECTURE_VERSION, ChangerConfig

log = logging.getLogger(__name__)

_LIST_LIMIT = 8


def save_weights(
    model: ChangerNet,
    path: Union[str, Path],
    *,
    training_data: str,
    metrics: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``path`` (``.safetensors`` added if missing) and its JSON card; returns the weights path.

    Each file is written to a temporary name in the same folder and renamed into place
    (:func:`~changer.core.io.atomic.atomic_path`), so a crash never leaves a half-written file under
    the final name; a card left stale by a crash between the two renames is caught by the hash.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    card = {
        "format": CARD_FORMAT,
        "format_version": CARD_FORMAT_VERSION,
        "architecture": ARCHITECTURE,
        "architecture_version": ARCHITECTURE_VERSION,
        "config": model.config.to_dict(),
        "training_data": training_data,
        "metrics": dict(metrics or {}),
        "extra": dict(extra or {}),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch_version": torch.__version__,
        "sha256_scheme": SHA256_SCHEME,
        "tensors_sha256": tensors_sha256(tensors),
    }
    try:
        card_text = json.dumps(card, indent=2, sort_keys=True, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{card_path(path)}: metrics/extra must be plain JSON values ({exc})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(safetensors_bytes(tensors, metadata={"format": "pt", "architecture": ARCHITECTURE}))
    with atomic_path(card_path(path)) as tmp:
        tmp.write_text(card_text, encoding="utf-8")
    log.info("saved %s weights (%d tensors) to %s", model.config.name, len(tensors), path)
    return path


def load_weights(path: Union[str, Path], device: Union[str, torch.device] = "cpu") -> ChangerNet:
    """Build the network described by the card beside ``path`` and load its tensors, checked."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file")
    if path.suffix != ".safetensors":
        raise WeightsError(f"{path}: expected a .safetensors file")
    card = read_card(path)
    if card["architecture"] != ARCHITECTURE or card["architecture_version"] != ARCHITECTURE_VERSION:
        raise WeightsError(
            f"{card_path(path)}: architecture {card['architecture']!r} v{card['architecture_version']}, "
            f"this CHANGER builds {ARCHITECTURE!r} v{ARCHITECTURE_VERSION}"
        )
    try:
        config = ChangerConfig.from_dict(card["config"])
    except (ChangerError, TypeError) as exc:
        raise WeightsError(f"{card_path(path)}: invalid model config: {exc}") from None
    model = ChangerNet(config)
    tensors = _read_tensors(path, model.state_dict())
    if tensors_sha256(tensors) != card["tensors_sha256"]:
        raise WeightsError(
            f"{path}: tensor hash does not match its card {card_path(path).name} (file changed or corrupted)"
        )
    model.load_state_dict(tensors, strict=True)
    log.info("loaded %s weights from %s", config.name, path)
    return model.to(device).eval()


def _read_tensors(path: Path, expected: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """All tensors of ``path`` after checking names, shapes and dtypes against ``expected``."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            names = set(handle.keys())
            missing = sorted(set(expected) - names)
            unexpected = sorted(names - set(expected))
            mismatched = []
            for name in sorted(names & set(expected)):
                shape = list(handle.get_slice(name).get_shape())
                if shape != list(expected[name].shape):
                    mismatched.append(f"{name} {shape} (expected {list(expected[name].shape)})")
            if missing or unexpected or mismatched:
                raise WeightsError(
                    f"{path}: tensors do not match the config in {card_path(path).name}: "
                    + "; ".join(
                        f"{label}: {_short_list(items)}"
                        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mismatched))
                        if items
                    )
                )
            tensors = {name: handle.get_tensor(name) for name in sorted(names)}
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path}: not a complete .safetensors file (truncated or another format): {exc}") from None
    wrong_dtype = [f"{k} {v.dtype}" for k, v in tensors.items() if v.dtype != expected[k].dtype]
    if wrong_dtype:
        raise WeightsError(f"{path}: tensors with an unexpected dtype: {_short_list(wrong_dtype)}")
    return tensors


def _short_list(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_LIMIT])
    return shown + (f" and {len(items) - _LIST_LIMIT} more" if len(items) > _LIST_LIMIT else "")
