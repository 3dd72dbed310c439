"""Held-out evaluation: CHANGER against classical baselines on the same inputs, as a markdown table.

The split: item ``i`` of the evaluation set is studio item ``SeedSequence([EVAL_SEED, i])`` (training
refuses that seed), rendered at the model's resolution in the self-reconstruction protocol with H²
(so there is a region to complete), without colour or reference jitter. Metrics are averaged per
image: PSNR and SSIM over the full frame, and inside ``M^ip`` (images whose ``M^ip`` is empty are
left out of those two columns). LPIPS is reported only with user-supplied weights.

The cross-skin suite (:mod:`changer.training.cross_skin_eval`) shares the methods, the per-image
:class:`Scores` and the table and JSON writers defined here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch

from changer.core.io.atomic import atomic_path
from changer.core.model import ChangerNet
from changer.core.model.fpat import body_share
from changer.training.baselines import classical_inpaint, naive_paste, node_classical
from changer.training.batch import EVAL_SEED, Batch, make_batch
from changer.training.loop import EVAL_AUGMENT
from changer.training.metrics import psnr, ssim

log = logging.getLogger(__name__)

#: A method under test: a batch → Y (N,3,H,W).
Method = Callable[[Batch], torch.Tensor]
#: A τ-driven method: (batch, τ) → (Y (N,3,H,W), share of body pixels per FPAT patch (N,L)).
TauProbe = Callable[[Batch, float], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class Scores:
    """Running per-image sums of one method's metrics."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, per_image: torch.Tensor, keep: torch.Tensor | None = None) -> None:
        chosen = per_image if keep is None else per_image[keep]
        self.values.setdefault(name, []).extend(float(v) for v in chosen)

    def mean(self, name: str) -> float | None:
        vals = self.values.get(name, [])
        return sum(vals) / len(vals) if vals else None

    def count(self, name: str) -> int:
        """How many images gave this figure (a region can be empty in some)."""
        return len(self.values.get(name, []))


def eval_batches(samples: int, size: int, batch_size: int = 4) -> Iterator[Batch]:
    """The held-out split, ``samples`` items in batches."""
    for start in range(0, samples, batch_size):
        yield make_batch(EVAL_SEED, start, min(batch_size, samples - start), size, EVAL_AUGMENT)


def changer_probe(model: ChangerNet, device: torch.device) -> TauProbe:
    """The model at any τ, with the FPAT patch shares its binarised M gives (what τ is compared with)."""
    @torch.no_grad()
    def run(batch: Batch, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
        b = batch.to(device)
        out = model(b.inputs.x, b.inputs.head, b.inputs.body, tau)
        return out.y.float().cpu(), body_share(out.mask.float(), model.token_patch).cpu()

    return run


def changer_method(model: ChangerNet, tau: float, device: torch.device) -> Method:
    """The model at one τ: a table row."""
    probe = changer_probe(model, device)
    return lambda batch: probe(batch, tau)[0]


def baseline_methods() -> dict[str, Method]:
    return {
        "naive paste (mean/std colour, hole green)": lambda b: naive_paste(b.inputs, b.source_head),
        "Telea inpaint + Reinhard Lab": lambda b: classical_inpaint(b.inputs, b.source_head, "telea"),
        "NS inpaint + Reinhard Lab": lambda b: classical_inpaint(b.inputs, b.source_head, "ns"),
        "classical (node: grade match + push-pull fill)": lambda b: node_classical(b.inputs, b.source_head),
    }


def evaluate(methods: dict[str, Method], samples: int, size: int,
             lpips: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
             batch_size: int = 4) -> dict[str, Scores]:
    """Every method on the same held-out batches."""
    scores = {name: Scores() for name in methods}
    for batch in eval_batches(samples, size, batch_size):
        for name, method in methods.items():
            y = method(batch).clamp(0, 1)
            s = scores[name]
            s.add("psnr", psnr(y, batch.target))
            s.add("ssim", ssim(y, batch.target))
            add_hole_scores(s, y, batch)
            if lpips is not None:
                s.add("lpips", lpips(y, batch.target))
    return scores


def add_hole_scores(s: Scores, y: torch.Tensor, batch: Batch) -> None:
    """PSNR and SSIM inside ``M^ip``, for the images that have a hole to fill."""
    hole = batch.inputs.inpaint
    has_hole = hole.flatten(1).sum(1) > 0.5
    s.add("psnr_ip", psnr(y, batch.target, hole), has_hole)
    s.add("ssim_ip", ssim(y, batch.target, hole), has_hole)


class Column(NamedTuple):
    """One table column: the :class:`Scores` key (also the JSON key), its title and its decimals."""

    key: str
    title: str
    digits: int = 4


COLUMNS = (Column("psnr", "PSNR ↑", 2), Column("ssim", "SSIM ↑"), Column("psnr_ip", "PSNR M^ip ↑", 2),
           Column("ssim_ip", "SSIM M^ip ↑"), Column("lpips", "LPIPS ↓"))


def markdown_table(scores: Mapping[str, Scores], columns: Sequence[Column]) -> str:
    """One row per method, one column per figure (– where a method has none)."""
    lines = ["| method | " + " | ".join(c.title for c in columns) + " |", "|---|" + "---:|" * len(columns)]
    for name, s in scores.items():
        cells = ["–" if (v := s.mean(c.key)) is None else f"{v:.{c.digits}f}" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def records(suite: str, scores: Mapping[str, Scores], baselines: Sequence[str],
            keys: Sequence[str]) -> list[dict[str, Any]]:
    """One JSON record per method: suite, method, kind, and under stable keys every figure the method
    measures (null where no image had the region), with ``counts``: how many images each averages."""
    out = []
    for name, s in scores.items():
        measured = [k for k in keys if k in s.values]
        out.append({"suite": suite, "method": name, "kind": "baseline" if name in baselines else "changer",
                    **{k: s.mean(k) for k in measured}, "counts": {k: s.count(k) for k in measured}})
    return out


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """``document`` as JSON at ``path``, atomically (a killed run never leaves half a file)."""
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    log.info("wrote %s", path)


def changer_methods(models: Sequence[tuple[str, ChangerNet]], taus: Sequence[float], main_tau: float,
                    device: torch.device) -> dict[str, Method]:
    """CHANGER rows: the τ sweep of the first model, and every other model (ablations) at ``main_tau``."""
    methods: dict[str, Method] = {}
    first_label, first = models[0]
    for tau in taus:
        methods[f"{first_label} τ={tau:g}"] = changer_method(first, tau, device)
    for label, model in models[1:]:
        methods[f"{label} τ={main_tau:g}"] = changer_method(model, main_tau, device)
    return methods
