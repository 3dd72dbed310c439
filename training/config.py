"""The training configuration: a TOML file parsed as data (``tomllib``) into frozen dataclasses.

Every section and key is checked: unknown keys are refused (a typo must not silently train with a
default). The resolved config is written beside the checkpoints and into the weights card.
See ``training/configs/*.toml`` for the shipped ones and ``training/README.md`` for each key.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from changer.core.errors import ParamError
from changer.core.model import CONFIGS
from changer.training.batch import EVAL_SEED, AugmentConfig
from changer.training.losses import LossWeights

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


MAX_RUN_NAME = 100
#: ``name`` becomes the default run folder ``runs/<name>``: one plain path component, so no name
#: (``../..``, ``/etc``, ``.git``) can place checkpoints outside ``runs/`` or hide them.
RUN_NAME = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9_.-]{{0,{MAX_RUN_NAME - 1}}}")


@dataclass(frozen=True)
class ModelSection:
    config: str = "small"
    init_weights: str = ""  #: optional .safetensors to start from (e.g. a lower-resolution stage)


@dataclass(frozen=True)
class DataSection:
    source: str = "studio"  #: "studio" (procedural) or "folder" (real footage, see folder_dataset.py)
    folder: str = ""  #: root of the folder dataset when source = "folder"
    seed: int = 0
    size: int = 256
    batch_size: int = 4
    workers: int = 1
    augment: AugmentConfig = AugmentConfig()


@dataclass(frozen=True)
class OptimSection:
    lr_g: float = 1e-4
    lr_d: float = 4e-4
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 1.0
    adv_start: int = 0  #: step from which D trains and L_adv counts
    lr_decay_start: float = 1.0  #: fraction of ``steps`` after which both lrs fall linearly to 10 %


@dataclass(frozen=True)
class LoopSection:
    steps: int = 1000
    seed: int = 0
    tau: float = 0.5  #: τ of the held-out evaluation during training
    tau_range: tuple[float, float] = (0.05, 0.95)  #: each step draws its τ uniformly from this range
    tau_target: bool = False  #: the body fill's target follows τ (ours, see tau_target.py); off = the paper's
    log_every: int = 10
    eval_every: int = 200
    eval_samples: int = 8
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    threads: int = 0  #: torch CPU threads (0: torch's default)
    amp: bool = True  #: bf16 autocast, on CUDA only
    max_minutes: float = 0.0  #: stop early (checkpoint + export) after this wall time; 0 = no limit


@dataclass(frozen=True)
class TrainConfig:
    name: str = "run"
    model: ModelSection = ModelSection()
    data: DataSection = DataSection()
    optim: OptimSection = OptimSection()
    loss: LossWeights = LossWeights()
    loop: LoopSection = LoopSection()

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    if not isinstance(data, dict):
        raise ParamError(f"{where}: expected a table, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ParamError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(fields)}")
    values = {}
    for name, value in data.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            values[name] = _build(type(default), value, f"{where}.{name}")
        elif isinstance(default, tuple):
            values[name] = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ParamError(f"{where}.{name}: expected true or false, got {value!r}")
            values[name] = value
        elif isinstance(default, (int, float)):
            wrong = isinstance(value, bool) or not isinstance(value, (int, float))
            if wrong or (isinstance(default, int) and not isinstance(value, int)):
                raise ParamError(f"{where}.{name}: expected {type(default).__name__}, got {value!r}")
            values[name] = type(default)(value)
        elif not isinstance(value, str):
            raise ParamError(f"{where}.{name}: expected a string, got {value!r}")
        else:
            values[name] = value
    return cls(**values)


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Build and check a :class:`TrainConfig` from parsed TOML (or :meth:`TrainConfig.to_dict`)."""
    cfg = _build(TrainConfig, data, "config")
    if not RUN_NAME.fullmatch(cfg.name):
        raise ParamError(
            f"config.name {cfg.name[:MAX_RUN_NAME + 20]!r}: expected one folder name for runs/<name>: letters, digits, "
            f"'-', '_' and '.', not starting with '.', at most {MAX_RUN_NAME} characters"
        )
    if cfg.model.config not in CONFIGS:
        raise ParamError(f"config.model.config: expected one of {sorted(CONFIGS)}, got {cfg.model.config!r}")
    if cfg.data.source not in ("studio", "folder"):
        raise ParamError(f"config.data.source: expected 'studio' or 'folder', got {cfg.data.source!r}")
    if cfg.data.source == "folder" and not cfg.data.folder:
        raise ParamError("config.data.folder: required when source = 'folder'")
    if cfg.data.seed == EVAL_SEED:
        raise ParamError(f"config.data.seed: {EVAL_SEED} is reserved for the held-out evaluation split")
    multiple = CONFIGS[cfg.model.config].size_multiple
    if cfg.data.size % multiple or cfg.data.size < 64:
        raise ParamError(f"config.data.size: {cfg.data.size} must be >= 64 and a multiple of {multiple}")
    for name in ("batch_size", "steps", "log_every", "eval_every", "checkpoint_every"):
        section = cfg.data if name == "batch_size" else cfg.loop
        if getattr(section, name) < 1:
            raise ParamError(f"config: {name} must be >= 1, got {getattr(section, name)}")
    if not 0.0 <= cfg.loop.tau <= 1.0:
        raise ParamError(f"config.loop.tau: expected a value in [0, 1], got {cfg.loop.tau}")
    low_high = cfg.loop.tau_range
    if len(low_high) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in low_high) \
            or not 0.0 <= low_high[0] <= low_high[1] <= 1.0:
        raise ParamError(f"config.loop.tau_range: expected [low, high] with 0 <= low <= high <= 1, "
                         f"got {list(low_high)}")
    return cfg


def load_config(path: str | Path) -> TrainConfig:
    """Read a TOML training config."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParamError(f"{path}: cannot read the training config: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParamError(f"{path}: not valid TOML: {exc}") from None
    try:
        return config_from_dict(data)
    except ParamError as exc:
        raise ParamError(f"{path}: {exc}") from None
