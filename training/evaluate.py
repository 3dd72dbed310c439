"""Held-out evaluation: CHANGER against classical baselines on the same inputs, as a markdown table.

The split: item ``i`` of the evaluation set is studio item ``SeedSequence([EVAL_SEED, i])`` (training
refuses that seed), rendered at the model's resolution in the self-reconstruction protocol with H²
(so there is a region to complete), without colour or reference jitter. Metrics are averaged per
image: PSNR and SSIM over the full frame, and inside ``M^ip`` (images whose ``M^ip`` is empty are
left out of those two columns). LPIPS is reported only with user-supplied weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch

from changer.core.model import ChangerNet
from changer.training.baselines import classical_inpaint, naive_paste
from changer.training.batch import EVAL_SEED, Batch, make_batch
from changer.training.loop import EVAL_AUGMENT
from changer.training.metrics import psnr, ssim

Method = Callable[[Batch], torch.Tensor]


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


def eval_batches(samples: int, size: int, batch_size: int = 4) -> Iterator[Batch]:
    """The held-out split, ``samples`` items in batches."""
    for start in range(0, samples, batch_size):
        yield make_batch(EVAL_SEED, start, min(batch_size, samples - start), size, EVAL_AUGMENT)


def changer_method(model: ChangerNet, tau: float, device: torch.device) -> Method:
    @torch.no_grad()
    def run(batch: Batch) -> torch.Tensor:
        b = batch.to(device)
        return model(b.inputs.x, b.inputs.head, b.inputs.body, tau).y.float().cpu()

    return run


def baseline_methods() -> dict[str, Method]:
    return {
        "naive paste (mean/std colour, hole green)": lambda b: naive_paste(b.inputs, b.source_head),
        "Telea inpaint + Reinhard Lab": lambda b: classical_inpaint(b.inputs, b.source_head, "telea"),
        "NS inpaint + Reinhard Lab": lambda b: classical_inpaint(b.inputs, b.source_head, "ns"),
    }


def evaluate(methods: dict[str, Method], samples: int, size: int,
             lpips: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
             batch_size: int = 4) -> dict[str, Scores]:
    """Every method on the same held-out batches."""
    scores = {name: Scores() for name in methods}
    for batch in eval_batches(samples, size, batch_size):
        hole = batch.inputs.inpaint
        has_hole = hole.flatten(1).sum(1) > 0.5
        for name, method in methods.items():
            y = method(batch).clamp(0, 1)
            s = scores[name]
            s.add("psnr", psnr(y, batch.target))
            s.add("ssim", ssim(y, batch.target))
            s.add("psnr_ip", psnr(y, batch.target, hole), has_hole)
            s.add("ssim_ip", ssim(y, batch.target, hole), has_hole)
            if lpips is not None:
                s.add("lpips", lpips(y, batch.target))
    return scores


COLUMNS = (("psnr", "PSNR ↑"), ("ssim", "SSIM ↑"), ("psnr_ip", "PSNR M^ip ↑"), ("ssim_ip", "SSIM M^ip ↑"),
           ("lpips", "LPIPS ↓"))


def markdown_table(scores: dict[str, Scores], with_lpips: bool) -> str:
    """One row per method; PSNR in dB."""
    cols = [c for c in COLUMNS if with_lpips or c[0] != "lpips"]
    lines = ["| method | " + " | ".join(title for _, title in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for name, s in scores.items():
        cells = []
        for key, _ in cols:
            v = s.mean(key)
            cells.append("–" if v is None else (f"{v:.2f}" if key.startswith("psnr") else f"{v:.4f}"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
