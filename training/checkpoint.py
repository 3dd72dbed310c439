"""Training state on disk without pickle: tensors in safetensors, everything else in JSON.

A checkpoint is a folder ``step-0001234/`` holding ``state.safetensors`` (generator, discriminator,
both Adam states, torch RNG states) and ``state.json`` (step, resolved config, optimiser hyper-
parameters, Python and NumPy RNG states as lists, elapsed wall time). Resuming never unpickles,
so a checkpoint from elsewhere cannot run code. Data needs no saved state: item ``i`` is a pure
function of the split seed and ``i`` (see :mod:`.batch`), so the step fixes the data position.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from changer.core.errors import ChangerError
from changer.core.io import atomic_path
from changer.core.model import CONFIGS, ChangerNet, build_model

STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"
FORMAT = "changer-train-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ChangerError):
    """A checkpoint folder that cannot be resumed from (missing, truncated, or another run's)."""


def _optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for pid, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.state.{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{key}"] = value
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()} for g in state["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def _load_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                    meta: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + ".state."):
            pid, key = name[len(prefix) + 7 :].split(".", 1)
            state.setdefault(int(pid), {})[key] = value
    for name, value in meta["scalars"].items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Torch (CPU and CUDA) RNG states as tensors; Python and NumPy states as JSON lists."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors |= {f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())}
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    scalars = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
    }
    return tensors, scalars


def set_rng_state(tensors: dict[str, torch.Tensor], scalars: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    version, internal, gauss = scalars["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = scalars["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


def save_checkpoint(folder: Path, step: int, modules: dict[str, torch.nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer], extra: dict[str, Any]) -> Path:
    """Write ``folder/step-XXXXXXX`` atomically (a temporary folder renamed into place); returns it."""
    target = folder / f"step-{step:07d}"
    tmp = folder / f".step-{step:07d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tensors, rng_json = rng_state()
    meta: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, "step": step, "rng": rng_json,
                            "optimizers": {}, **extra}
    for name, module in modules.items():
        tensors |= {f"{name}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    for name, optimizer in optimizers.items():
        opt_tensors, meta["optimizers"][name] = _optimizer_tensors(name, optimizer)
        tensors |= opt_tensors
    save_file(tensors, str(tmp / STATE_TENSORS))
    with atomic_path(tmp / STATE_JSON) as part:
        part.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def read_checkpoint(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and JSON of one checkpoint folder (or of the newest one inside a run folder)."""
    folder = latest_checkpoint(folder) if not (folder / STATE_JSON).is_file() else folder
    try:
        meta = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
        tensors = load_file(str(folder / STATE_TENSORS))
    except (OSError, ValueError, SafetensorError) as exc:
        raise CheckpointError(f"{folder}: not a readable training checkpoint: {exc}") from None
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{folder}: not a {FORMAT} v{FORMAT_VERSION} checkpoint")
    return tensors, meta


def restore(tensors: dict[str, torch.Tensor], meta: dict[str, Any], modules: dict[str, torch.nn.Module],
            optimizers: dict[str, torch.optim.Optimizer]) -> int:
    """Load modules, optimisers and RNG states; returns the step to continue from."""
    for name, module in modules.items():
        restore_module(module, name, tensors)
    for name, optimizer in optimizers.items():
        _load_optimizer(name, optimizer, tensors, meta["optimizers"][name])
    set_rng_state(tensors, meta["rng"])
    return int(meta["step"])


def generator_from_checkpoint(folder: Path) -> ChangerNet:
    """The generator of a checkpoint (for evaluating or exporting an intermediate step)."""
    tensors, meta = read_checkpoint(folder)
    model = build_model(CONFIGS[meta["config"]["model"]["config"]])
    restore_module(model, "generator", tensors)
    return model.eval()


def restore_module(module: torch.nn.Module, name: str, tensors: dict[str, torch.Tensor]) -> None:
    prefix = name + "."
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint does not match this run's {name}: {exc}") from None


def checkpoints(folder: Path) -> list[Path]:
    """Checkpoint folders under ``folder``, oldest first."""
    return sorted(p for p in folder.glob("step-*") if (p / STATE_JSON).is_file())


def latest_checkpoint(folder: Path) -> Path:
    found = checkpoints(folder) or checkpoints(folder / "checkpoints")
    if not found:
        raise CheckpointError(f"{folder}: no checkpoint found (expected step-XXXXXXX/{STATE_JSON})")
    return found[-1]


def prune(folder: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints."""
    for old in checkpoints(folder)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
