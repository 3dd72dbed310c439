"""Save and load CHANGER weights: ``<name>.safetensors`` + ``<name>.json`` (see :mod:`changer.core.weights`).

Loading checks the card's config, compares the tensors it implies with the file's header, and only
then builds the network; it refuses anything that does not match exactly (missing, unexpected or
reshaped tensors, a changed hash, a truncated or foreign file), with a message naming the file.
Only safetensors and JSON are parsed; nothing is ever unpickled.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional, Union

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
from .config import ARCHITECTURE, ARCHITECTURE_VERSION, NEW_TENSORS, ChangerConfig

log = logging.getLogger(__name__)

_LIST_LIMIT = 8
#: A tensor's shape and its safetensors dtype code (``F32``...).
TensorSpec = tuple[list[int], str]
_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64"}


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
    """Build the network described by the card beside ``path`` and load its tensors, checked.

    The card's config is checked first, then the tensors it implies are compared with the file's
    header (names, shapes, dtypes; no tensor data read): only a config that matches the file is ever
    built for real, so a bad card costs neither a crash nor the memory of a network it only describes.
    """
    config, tensors = _checked_tensors(Path(path))
    model = ChangerNet(config)
    model.load_state_dict(tensors, strict=True)
    log.info("loaded %s weights from %s", config.name, path)
    return model.to(device).eval()


def init_from(model: ChangerNet, path: Union[str, Path]) -> ChangerNet:
    """Load ``path`` into ``model`` to start a training from it, whatever architecture version wrote it.

    A fine-tune across a version change starts from the old weights: every check of
    :func:`load_weights` but the version one still applies, and the only tensors that may be
    missing are those the later versions added (:data:`NEW_TENSORS`); they keep their initialisation.
    """
    old = read_card(Path(path))["architecture_version"]
    fresh = tuple(p for version, prefixes in NEW_TENSORS.items() if version > old for p in prefixes)
    missing, _ = model.load_state_dict(_checked_tensors(Path(path), fresh)[1], strict=False)
    if missing:
        log.info("%s: %d tensors new since v%d start from their initialisation", path, len(missing), old)
    return model


def _checked_tensors(
    path: Path, fresh: Optional[tuple[str, ...]] = None
) -> tuple[ChangerConfig, dict[str, torch.Tensor]]:
    """The config and tensors of ``path``, checked. ``fresh``: accept any version, and tensor-name
    prefixes (those later versions added) the file may lack; None: this version, every tensor."""
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file")
    if path.suffix != ".safetensors":
        raise WeightsError(f"{path}: expected a .safetensors file")
    card = read_card(path)
    if card["architecture"] != ARCHITECTURE or (card["architecture_version"] != ARCHITECTURE_VERSION
                                                and fresh is None):
        raise WeightsError(
            f"{card_path(path)}: architecture {card['architecture']!r} v{card['architecture_version']}, "
            f"this CHANGER builds {ARCHITECTURE!r} v{ARCHITECTURE_VERSION}"
        )
    try:
        config = ChangerConfig.from_dict(card["config"])
    except ChangerError as exc:
        raise WeightsError(f"{card_path(path)}: invalid model config: {exc}") from None
    expected = expected_tensors(config)
    _check_header(path, {k: v for k, v in expected.items() if not (fresh and k.startswith(fresh))})
    tensors = _read_tensors(path)
    if tensors_sha256(tensors) != card["tensors_sha256"]:
        raise WeightsError(
            f"{path}: tensor hash does not match its card {card_path(path).name} (file changed or corrupted)"
        )
    return config, tensors


def expected_tensors(config: ChangerConfig) -> dict[str, TensorSpec]:
    """Name → (shape, safetensors dtype) of every tensor ``config`` implies, from a network built on the
    meta device: shapes only, no memory, and no second copy of the architecture's arithmetic to drift."""
    with torch.device("meta"):
        state = ChangerNet(config).state_dict()
    return {name: (list(t.shape), _DTYPES.get(t.dtype, str(t.dtype))) for name, t in state.items()}


def read_header(path: Path) -> dict[str, TensorSpec]:
    """Name → (shape, dtype) of every tensor in ``path``, from the safetensors header alone."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            slices = {name: handle.get_slice(name) for name in handle.keys()}  # noqa: SIM118 (a safe_open handle is not a dict)
            return {name: (list(s.get_shape()), s.get_dtype()) for name, s in slices.items()}
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path}: not a complete .safetensors file (truncated or another format): {exc}") from None


def _check_header(path: Path, expected: Mapping[str, TensorSpec]) -> None:
    """Refuse ``path`` unless its header holds exactly the tensors of ``expected``, naming what differs."""
    found = read_header(path)
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    common = sorted(set(found) & set(expected))
    wrong_shape = [f"{n} {found[n][0]} (expected {expected[n][0]})" for n in common if found[n][0] != expected[n][0]]
    wrong_dtype = [f"{n} {found[n][1]} (expected {expected[n][1]})" for n in common if found[n][1] != expected[n][1]]
    if not (missing or unexpected or wrong_shape or wrong_dtype):
        return
    problems = (("missing", missing), ("unexpected", unexpected),
                ("wrong shape", wrong_shape), ("wrong dtype", wrong_dtype))
    raise WeightsError(
        f"{path}: tensors do not match the config in {card_path(path).name} "
        f"(it implies {_count(expected):,} parameters in {len(expected)} tensors, the file holds "
        f"{_count(found):,} in {len(found)}): "
        + "; ".join(f"{label}: {_short_list(items)}" for label, items in problems if items)
    )


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of ``path`` (already checked against the config by :func:`_check_header`)."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            return {name: handle.get_tensor(name) for name in sorted(handle.keys())}
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path}: not a complete .safetensors file (truncated or another format): {exc}") from None


def _count(specs: Mapping[str, TensorSpec]) -> int:
    return sum(math.prod(shape) for shape, _ in specs.values())


def _short_list(items: list[str]) -> str:
    shown = ", ".join(items[:_LIST_LIMIT])
    return shown + (f" and {len(items) - _LIST_LIMIT} more" if len(items) > _LIST_LIMIT else "")
