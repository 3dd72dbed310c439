"""`changer eval`: CHANGER against classical baselines on the held-out studio split, as a markdown table."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from changer.core.device import pick_device
from changer.core.errors import ParamError, WeightsError
from changer.core.model import ChangerNet
from changer.core.model.weights_io import load_weights, save_weights
from changer.core.weights import find_weights, read_card
from changer.training.checkpoint import generator_from_checkpoint
from changer.training.evaluate import Scores, baseline_methods, changer_methods, evaluate, markdown_table
from changer.training.lpips import LPIPS


def _taus(text: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path,
                        help="CHANGER weights or a training checkpoint folder "
                             "(default: the shipped/first found weights)")
    parser.add_argument("--ablation", type=Path, action="append", default=[],
                        help="more weights or checkpoint folders to compare at --tau (e.g. a run without H²); "
                             "repeatable")
    parser.add_argument("--samples", type=int, default=64, help="held-out items (default 64)")
    parser.add_argument("--size", type=int, help="square size (default: the model's training resolution)")
    parser.add_argument("--tau", type=float, default=0.5, help="FPAT τ of the ablation rows (default 0.5)")
    parser.add_argument("--taus", type=_taus, default=[0.1, 0.3, 0.5, 0.7, 0.9],
                        help="τ sweep (default 0.1,0.3,0.5,0.7,0.9)")
    parser.add_argument("--lpips", help="LPIPS VGG weights (.safetensors); without it LPIPS is not computed")
    parser.add_argument("--no-baselines", action="store_true", help="CHANGER rows only")
    parser.add_argument("--record", action="store_true",
                        help="write the table's numbers into the --weights card's metrics (tensors unchanged)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")


def run(args: argparse.Namespace) -> int:
    if args.samples < 1:
        raise ParamError(f"--samples {args.samples}: expected at least 1")
    device = pick_device(args.device)
    weights = args.weights
    if weights is None:
        found = find_weights()
        if not found:
            raise WeightsError("no weights found: pass --weights PATH")
        weights = found[0]
    model = _load(weights, device)
    models = [(_label(weights), model)] + [(_label(p), _load(p, device)) for p in args.ablation]
    size = args.size or model.config.resolution
    methods = changer_methods(models, args.taus, args.tau, device)
    if not args.no_baselines:
        methods |= baseline_methods()
    lpips = LPIPS(args.lpips) if args.lpips else None
    with torch.inference_mode():
        scores = evaluate(methods, args.samples, size, lpips)
    print(f"held-out studio split: {args.samples} items at {size}x{size} "
          f"(self-reconstruction with H², weights {weights})")
    print(markdown_table(scores, with_lpips=lpips is not None))
    if lpips is None:
        print("LPIPS: not computed (no weights)")
    if args.record:
        if weights.is_dir():
            raise ParamError("--record needs --weights FILE.safetensors, not a checkpoint folder")
        record_metrics(weights, model, scores, args.samples, size)
    return 0


def _load(path: Path, device: torch.device) -> ChangerNet:
    """Weights from a .safetensors file or the generator of a training checkpoint folder."""
    if path.is_dir():
        return generator_from_checkpoint(path).to(device)
    return load_weights(path, device)


def _label(path: Path) -> str:
    return f"CHANGER {path.parent.parent.name}/{path.name}" if path.is_dir() else f"CHANGER {path.stem}"


def record_metrics(weights: Path, model: ChangerNet, scores: dict[str, Scores], samples: int, size: int) -> None:
    """Re-save ``weights`` with the evaluation in its card (same tensors, so the same hash)."""
    card = read_card(weights)
    metrics = dict(card["metrics"])
    keys = ("psnr", "ssim", "psnr_ip", "ssim_ip", "lpips")
    metrics["eval"] = {
        "split": f"held-out studio, {samples} items at {size}x{size}, self-reconstruction with H2",
        "rows": {name: {k: s.mean(k) for k in keys if s.mean(k) is not None} for name, s in scores.items()},
    }
    save_weights(model.cpu(), weights, training_data=card["training_data"], metrics=metrics, extra=card.get("extra"))
    print(f"recorded the table in {weights.with_suffix('.json')}")
