"""`changer train`: train CHANGER from a TOML config (see training/README.md), single process or torchrun."""

from __future__ import annotations

import argparse
from pathlib import Path

from changer.core.device import pick_device
from changer.training.config import load_config
from changer.training.loop import train


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path,
                        help="training config (TOML), e.g. training/configs/small-stage1.toml")
    parser.add_argument("--out", type=Path,
                        help="run folder for checkpoints, logs, samples and weights (default: runs/<name>)")
    parser.add_argument("--resume", type=Path,
                        help="continue exactly from a checkpoint folder (or the newest one in a run folder)")
    parser.add_argument("--vgg19", help="VGG19 weights (.safetensors, torchvision 'features.*' names) for L_per; "
                                        "without it a weight-free fallback is used")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    out = args.out or Path("runs") / cfg.name
    weights = train(cfg, out, resume=args.resume, vgg19=args.vgg19, device=pick_device(args.device))
    if weights is not None:
        print(f"weights: {weights}")
    return 0
