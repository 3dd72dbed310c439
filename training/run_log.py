"""Training logs: a CSV always, TensorBoard event files too when ``tensorboard`` is installed."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

log = logging.getLogger(__name__)


class RunLog:
    """Append rows of named scalars to ``<folder>/<name>.csv`` (columns fixed by the first row) and TB."""

    def __init__(self, folder: Path, name: str = "log", tensorboard: bool = True) -> None:
        self.path = folder / f"{name}.csv"
        self.columns: list[str] | None = None
        if self.path.is_file():
            with self.path.open(encoding="utf-8") as f:
                self.columns = next(csv.reader(f), None)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter  # optional dependency
            except ImportError:
                log.info("tensorboard is not installed: logging to %s only", self.path)
            else:
                self.writer = SummaryWriter(str(folder / "tensorboard" / name))

    def write(self, step: int, values: dict[str, float]) -> None:
        row = {"step": step, **values}
        if self.columns is None:
            self.columns = list(row)
            with self.path.open("w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow(self.columns)
        with self.path.open("a", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow([_fmt(row.get(c, "")) for c in self.columns])
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(name, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _fmt(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
