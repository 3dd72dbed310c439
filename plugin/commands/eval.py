"""`changer eval`: CHANGER against classical baselines on the held-out studio split, as markdown tables.

Two suites (both by default): self-reconstruction (:mod:`changer.training.evaluate`) and cross-skin
(:mod:`changer.training.cross_skin_eval`). ``--json`` writes the same figures, one record per method.
"""

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
from changer.training.cross_skin_eval import CROSS_COLUMNS, CrossMethod, coverage_line, evaluate_cross
from changer.training.evaluate import (
    COLUMNS,
    Scores,
    baseline_methods,
    changer_method,
    changer_methods,
    changer_probe,
    evaluate,
    markdown_table,
    records,
    write_json,
)
from changer.training.lpips import LPIPS

SUITES = ("self", "cross")
SELF_SPLIT = "held-out studio, self-reconstruction with H2"
CROSS_SPLIT = "held-out studio, cross-skin pairs (the exact ideal) with H2"


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
    parser.add_argument("--tau", type=float, default=0.5,
                        help="FPAT τ of the ablation rows and of the cross-skin rows (default 0.5)")
    parser.add_argument("--taus", type=_taus, default=[0.1, 0.3, 0.5, 0.7, 0.9],
                        help="τ sweep (default 0.1,0.3,0.5,0.7,0.9)")
    parser.add_argument("--lpips", help="LPIPS VGG weights (.safetensors); without it LPIPS is not computed")
    parser.add_argument("--no-baselines", action="store_true", help="CHANGER rows only")
    parser.add_argument("--suite", choices=(*SUITES, "both"), default="both",
                        help="self-reconstruction, cross-skin, or both (default both)")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the figures as JSON, one record per suite and method (stable keys)")
    parser.add_argument("--record", action="store_true",
                        help="write the tables' numbers into the --weights card's metrics (tensors unchanged)")
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
    if args.record and weights.is_dir():
        raise ParamError("--record needs --weights FILE.safetensors, not a checkpoint folder")
    model = _load(weights, device)
    models = [(_label(weights), model)] + [(_label(p), _load(p, device)) for p in args.ablation]
    size = args.size or model.config.resolution
    baselines = {} if args.no_baselines else baseline_methods()
    suites = SUITES if args.suite == "both" else (args.suite,)
    lpips = LPIPS(args.lpips) if args.lpips else None
    results: dict[str, dict[str, Scores]] = {}
    with torch.inference_mode():
        if "self" in suites:
            methods = changer_methods(models, args.taus, args.tau, device) | baselines
            results["self"] = evaluate(methods, args.samples, size, lpips)
            columns = [c for c in COLUMNS if lpips is not None or c.key != "lpips"]
            print(f"{SELF_SPLIT}: {args.samples} items at {size}x{size}, weights {weights}")
            print(markdown_table(results["self"], columns))
            if lpips is None:
                print("LPIPS: not computed (no weights)")
        if "cross" in suites:
            cross = {f"{label} τ={args.tau:g}": CrossMethod(changer_method(m, args.tau, device),
                                                            changer_probe(m, device)) for label, m in models}
            cross |= {name: CrossMethod(method) for name, method in baselines.items()}
            results["cross"] = evaluate_cross(cross, args.samples, size)
            print(f"\n{CROSS_SPLIT}: {args.samples} items at {size}x{size}, weights {weights}")
            print(markdown_table(results["cross"], CROSS_COLUMNS))
            print(coverage_line(next(iter(results["cross"].values())), args.samples))
    if args.json is not None:
        write_json(args.json, {"weights": str(weights), "samples": args.samples, "size": size,
                               "records": _records(results, list(baselines))})
        print(f"wrote {args.json}")
    if args.record:
        record_metrics(weights, model, results, args.samples, size)
    return 0


def _records(results: dict[str, dict[str, Scores]], baselines: list[str]) -> list[dict]:
    """The JSON records of every suite that ran."""
    out = []
    if "self" in results:
        out += records("self_reconstruction", results["self"], baselines, [c.key for c in COLUMNS])
    if "cross" in results:
        out += records("cross_skin", results["cross"], baselines, [c.key for c in CROSS_COLUMNS])
    return out


def _load(path: Path, device: torch.device) -> ChangerNet:
    """Weights from a .safetensors file or the generator of a training checkpoint folder."""
    if path.is_dir():
        return generator_from_checkpoint(path).to(device)
    return load_weights(path, device)


def _label(path: Path) -> str:
    return f"CHANGER {path.parent.parent.name}/{path.name}" if path.is_dir() else f"CHANGER {path.stem}"


def record_metrics(weights: Path, model: ChangerNet, results: dict[str, dict[str, Scores]], samples: int,
                   size: int) -> None:
    """Re-save ``weights`` with the evaluation in its card (same tensors, so the same hash)."""
    card = read_card(weights)
    metrics = dict(card["metrics"])
    for suite, key, split, columns in (("self", "eval", SELF_SPLIT, COLUMNS),
                                       ("cross", "eval_cross", CROSS_SPLIT, CROSS_COLUMNS)):
        if suite in results:
            metrics[key] = {
                "split": f"{split}, {samples} items at {size}x{size}",
                "rows": {name: {c.key: v for c in columns if (v := s.mean(c.key)) is not None}
                         for name, s in results[suite].items()},
            }
    save_weights(model.cpu(), weights, training_data=card["training_data"], metrics=metrics, extra=card.get("extra"))
    print(f"recorded the tables in {weights.with_suffix('.json')}")
