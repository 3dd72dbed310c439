"""Which weights a render uses, and one loaded model per device shared by every render in a process.

A host renders many frames (and an interactive host several instances at once); loading the network
per frame would cost more than running it. :class:`ModelCache` keeps one model per device (loading
new weights for a device replaces the old ones) and hands out a lock with it: a model runs one frame
at a time.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from changer.core.device import pick_device
from changer.core.errors import WeightsError
from changer.core.model import ChangerNet
from changer.core.model.weights_io import load_weights
from changer.core.weights import SHIPPED_WEIGHTS_DIR, WEIGHTS_ENV, find_weights

log = logging.getLogger(__name__)

SHIPPED_WEIGHTS_NAME = "changer-small.safetensors"


def resolve_weights(path: str | Path = "") -> Path:
    """The weights file to load: ``path`` when given, else the first found on the search path."""
    if str(path):
        chosen = Path(path).expanduser()
        if not chosen.is_file():
            raise WeightsError(f"weights {chosen}: no such file (param weights)")
        return chosen
    found = find_weights()
    if not found:
        raise WeightsError(
            f"no CHANGER weights found: the shipped weights {SHIPPED_WEIGHTS_DIR / SHIPPED_WEIGHTS_NAME} are missing "
            f"and ${WEIGHTS_ENV} names none; pass --set weights=PATH (a .safetensors with its .json card)"
        )
    return found[0]


@dataclass
class LoadedModel:
    model: ChangerNet
    path: Path
    device: torch.device
    lock: threading.Lock


class ModelCache:
    """One model per device, loaded on first use, each behind its own lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, LoadedModel] = {}

    def get(self, weights: str | Path = "", device: str = "auto") -> LoadedModel:
        """The model for ``device`` with ``weights`` (see :func:`resolve_weights`), loading it if needed."""
        path = resolve_weights(weights).resolve()
        target = pick_device(device)
        with self._lock:
            loaded = self._models.get(str(target))
            if loaded is None or loaded.path != path:
                log.info("loading %s on %s", path, target)
                loaded = LoadedModel(load_weights(path, target), path, target, threading.Lock())
                self._models[str(target)] = loaded
            return loaded

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


#: The process-wide cache that hosts share.
MODELS = ModelCache()
