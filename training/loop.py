"""The training loop: seeded, resumable bit-for-bit, DDP-ready, logged, evaluated as it goes.

One step = generator step (all terms of :class:`~.losses.GeneratorLoss`) then discriminator step
(Eq. 9), each with gradient-norm clipping; bf16 autocast on CUDA only (CPU runs in float32 so that a
resumed run equals an uninterrupted one bitwise). Batch ``k`` of rank ``r`` holds the studio items
``(k·world + r)·B … +B−1``, so the step alone fixes the data position.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from changer.core.model import ChangerNet, build_model
from changer.core.model.weights_io import init_from, save_weights
from changer.training import checkpoint as ckpt
from changer.training.batch import EVAL_SEED, AugmentConfig, Batch, collate, make_batch
from changer.training.config import TrainConfig
from changer.training.discriminator import PatchDiscriminator
from changer.training.distributed import World, all_mean, any_rank, barrier, init_world
from changer.training.folder_dataset import FolderDataset
from changer.training.losses import GeneratorLoss, discriminator_loss
from changer.training.metrics import psnr, ssim
from changer.training.perceptual import perceptual_loss
from changer.training.run_log import RunLog
from changer.training.sample_grid import write_grid
from changer.training.tau_target import tau_target

log = logging.getLogger(__name__)

#: The held-out protocol (self-reconstruction with H², no photometric or reference jitter).
EVAL_AUGMENT = AugmentConfig(h2=True, colour_jitter=0.0, reference_jitter=False, source_jitter=0.0,
                             cross_skin=0.0, small_faces=0.0)


class StepBatches(Dataset):
    """Batch ``k`` of one rank: a pure function of the config, the rank and ``k``."""

    def __init__(self, cfg: TrainConfig, world: World) -> None:
        self.cfg, self.world = cfg, world
        d = cfg.data
        self.folder = FolderDataset(d.folder, d.size, d.seed, d.augment) if d.source == "folder" else None

    def __len__(self) -> int:
        return self.cfg.loop.steps

    def __getitem__(self, step: int) -> Batch:
        d = self.cfg.data
        start = (step * self.world.size + self.world.rank) * d.batch_size
        if self.folder is not None:
            return collate([self.folder.item(start + i) for i in range(d.batch_size)])
        return make_batch(d.seed, start, d.batch_size, d.size, d.augment)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """Generator, discriminator, their optimisers and losses; one :meth:`train_step` at a time."""

    def __init__(self, cfg: TrainConfig, device: torch.device, world: World = World(),
                 vgg19: str | None = None) -> None:
        self.cfg, self.device, self.world = cfg, device, world
        seed_everything(cfg.loop.seed)
        self.generator: ChangerNet = build_model(cfg.model.config)
        if cfg.model.init_weights:
            init_from(self.generator, cfg.model.init_weights)
            log.info("generator initialised from %s", cfg.model.init_weights)
        self.discriminator = PatchDiscriminator()
        self.generator.to(device)
        self.discriminator.to(device)
        self.g_train: nn.Module = self.generator
        self.d_train: nn.Module = self.discriminator
        if world.size > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.g_train = DistributedDataParallel(self.generator, device_ids=ids)
            self.d_train = DistributedDataParallel(self.discriminator, device_ids=ids)
        o = cfg.optim
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=o.lr_g, betas=o.betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=o.lr_d, betas=o.betas)
        self.loss = GeneratorLoss(perceptual_loss(vgg19), cfg.loss).to(device)
        self.step = 0
        self.amp = cfg.loop.amp and device.type == "cuda"

    @property
    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt_g": self.opt_g, "opt_d": self.opt_d}

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def lr_factor(self, step: int) -> float:
        """1 until ``lr_decay_start·steps``, then linear down to 0.1 at the last step."""
        steps, start = self.cfg.loop.steps, self.cfg.optim.lr_decay_start * self.cfg.loop.steps
        if step < start or steps <= start:
            return 1.0
        return 1.0 - 0.9 * (step - start) / (steps - start)

    def step_tau(self, step: int) -> float:
        """τ of training step ``step``: uniform in ``loop.tau_range``, a pure function of (seed, step).

        A τ fixed in training lets the network ignore FPAT's groups; drawn per step, every grouping
        an artist may pick is one the network has learnt to complete from. Same τ on every rank.
        """
        low, high = self.cfg.loop.tau_range
        return low + (high - low) * float(np.random.default_rng([self.cfg.loop.seed, step, 7]).random())

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One generator and (once ``adv_start`` is reached) one discriminator update."""
        o = self.cfg.optim
        factor = self.lr_factor(self.step)
        for opt, lr in ((self.opt_g, o.lr_g), (self.opt_d, o.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor
        adversarial = self.step >= o.adv_start and self.cfg.loss.adv > 0
        b = batch.to(self.device)
        tau = self.step_tau(self.step)
        if self.cfg.loop.tau_target:
            patch = self.generator.blender.mask_patch
            b = b._replace(target=tau_target(b.target, b.mask_gt, b.inputs.inpaint, b.source_head, tau, patch))
        with self._autocast():
            out = self.g_train(b.inputs.x, b.inputs.head, b.inputs.body, tau)
            fake_logits = None
            if adversarial:
                self.discriminator.requires_grad_(False)
                fake_logits = self.discriminator(out.y)
            terms = self.loss(out, b, fake_logits)
        self.opt_g.zero_grad(set_to_none=True)
        terms["total"].backward()
        grad_g = nn.utils.clip_grad_norm_(self.generator.parameters(), o.grad_clip)
        self.opt_g.step()
        values = {f"loss/{k}": float(all_mean(v.detach().float(), self.world)) for k, v in terms.items()}
        values["grad_norm/g"] = float(grad_g)
        if adversarial:
            self.discriminator.requires_grad_(True)
            with self._autocast():
                d_loss = discriminator_loss(self.d_train(b.target), self.d_train(out.y.detach()))
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            nn.utils.clip_grad_norm_(self.discriminator.parameters(), o.grad_clip)
            self.opt_d.step()
            values["loss/d"] = float(all_mean(d_loss.detach().float(), self.world))
        values["lr/g"] = o.lr_g * factor
        self.step += 1
        return values

    def save(self, folder: Path, extra: dict[str, Any]) -> Path:
        return ckpt.save_checkpoint(folder, self.step, self.modules, self.optimizers, extra)

    def resume(self, folder: Path) -> None:
        tensors, meta = ckpt.read_checkpoint(folder)
        saved = meta.get("config", {})
        changed = sorted(k for k in self.cfg.to_dict() if saved.get(k) != self.cfg.to_dict()[k])
        if changed:
            log.warning("resuming %s with a config that differs from the checkpoint's in %s: the run is no "
                        "longer the one that was checkpointed", folder, ", ".join(changed))
        self.step = ckpt.restore(tensors, meta, self.modules, self.optimizers)
        log.info("resumed from %s at step %d", folder, self.step)

    @torch.no_grad()
    def evaluate(self, batch: Batch) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
        """Held-out metrics (PSNR/SSIM full and inside M^ip) and the outputs (Y, M) for the grid."""
        self.generator.eval()
        b = batch.to(self.device)
        out = self.generator(b.inputs.x, b.inputs.head, b.inputs.body, self.cfg.loop.tau)
        self.generator.train()
        y = out.y.float()
        metrics = {
            "eval/psnr": float(psnr(y, b.target).mean()),
            "eval/ssim": float(ssim(y, b.target).mean()),
            "eval/psnr_ip": float(psnr(y, b.target, b.inputs.inpaint).mean()),
            "eval/ssim_ip": float(ssim(y, b.target, b.inputs.inpaint).mean()),
        }
        return metrics, y, out.mask.float()


def _training_data(cfg: TrainConfig) -> str:
    d = cfg.data
    if d.source == "folder":
        return f"folder dataset {d.folder} at {d.size}x{d.size}, H2 {'on' if d.augment.h2 else 'off'}"
    return (f"procedural green-screen studio (changer.training.studio), self-reconstruction, {d.size}x{d.size}, "
            f"items SeedSequence([{d.seed}, i]) for i < {cfg.loop.steps * d.batch_size} x world size; "
            f"H2 {'on' if d.augment.h2 else 'off'} (hair p={d.augment.hair_probability})")


def train(cfg: TrainConfig, out_dir: Path, resume: Path | None = None, vgg19: str | None = None,
          device: torch.device | None = None) -> Path | None:
    """Run (or continue) a training; returns the exported weights path on rank 0 (None elsewhere)."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    world = init_world(device)
    if device.type == "cuda" and world.size > 1:
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if cfg.loop.threads > 0:
        torch.set_num_threads(cfg.loop.threads)
    trainer = Trainer(cfg, device, world, vgg19)
    if resume is not None:
        trainer.resume(resume)
    ckpt_dir = out_dir / "checkpoints"
    run_log = eval_log = None
    if world.main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n", encoding="utf-8")
        run_log, eval_log = RunLog(out_dir, "log"), RunLog(out_dir, "eval")
    eval_batch = make_batch(EVAL_SEED, 0, cfg.loop.eval_samples, cfg.data.size, EVAL_AUGMENT)
    loader = DataLoader(StepBatches(cfg, world), batch_size=None, sampler=range(trainer.step, cfg.loop.steps),
                        num_workers=cfg.data.workers, worker_init_fn=_worker_init,
                        prefetch_factor=2 if cfg.data.workers else None,
                        generator=torch.Generator().manual_seed(cfg.loop.seed))  # leaves the global RNG alone
    wall_before = _previous_wall(resume)
    started = time.monotonic()
    deadline = started + 60.0 * cfg.loop.max_minutes if cfg.loop.max_minutes > 0 else None
    metrics: dict[str, float] = {}
    bar = tqdm(total=cfg.loop.steps, initial=trainer.step, disable=not world.main, desc=cfg.name, dynamic_ncols=True)
    last_tick, last_step = time.monotonic(), trainer.step
    for batch in loader:
        values = trainer.train_step(batch)
        bar.update(1)
        step = trainer.step
        if world.main and (step % cfg.loop.log_every == 0 or step == cfg.loop.steps):
            now = time.monotonic()
            values["speed/steps_per_s"] = (step - last_step) / max(now - last_tick, 1e-9)
            values["time/wall_s"] = wall_before + now - started
            last_tick, last_step = now, step
            bar.set_postfix(loss=f"{values['loss/total']:.4f}")
            run_log.write(step, values)
        stop = deadline is not None and any_rank(time.monotonic() > deadline, world, device)
        if world.main and (step % cfg.loop.eval_every == 0 or step == cfg.loop.steps or stop):
            metrics, y, m = trainer.evaluate(eval_batch)
            eval_log.write(step, metrics)
            write_grid(out_dir / "samples" / f"step-{step:07d}.png", eval_batch.inputs.x, y.cpu(), eval_batch.target,
                       m.cpu())
            log.info("step %d: %s", step, ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        if step % cfg.loop.checkpoint_every == 0 or step == cfg.loop.steps or stop:
            if world.main:
                trainer.save(ckpt_dir, {"config": cfg.to_dict(), "wall_s": wall_before + time.monotonic() - started})
                ckpt.prune(ckpt_dir, cfg.loop.keep_checkpoints)
            barrier(world)
        if stop:
            log.warning("stopping at step %d: max_minutes=%s reached", step, cfg.loop.max_minutes)
            break
    bar.close()
    if not world.main:
        return None
    run_log.close()
    eval_log.close()
    wall = wall_before + time.monotonic() - started
    return export_weights(trainer.generator, cfg, out_dir, steps=trainer.step, wall_s=wall, metrics=metrics,
                          perceptual="vgg19" if vgg19 else "laplacian-pyramid fallback", world_size=world.size,
                          device=str(device))


def export_weights(generator: ChangerNet, cfg: TrainConfig, out_dir: Path, *, steps: int, wall_s: float,
                   metrics: dict[str, float], perceptual: str, world_size: int, device: str) -> Path:
    """Write ``<out_dir>/weights/changer-<config>.safetensors`` and its card (config, data, steps, time)."""
    extra = {"train_config": cfg.to_dict(), "steps": steps, "wall_s": round(wall_s, 1), "perceptual": perceptual,
             "world_size": world_size, "device": device}
    return save_weights(generator, out_dir / "weights" / f"changer-{cfg.model.config}.safetensors",
                        training_data=_training_data(cfg), metrics=metrics, extra=extra)


def _previous_wall(resume: Path | None) -> float:
    if resume is None:
        return 0.0
    _, meta = ckpt.read_checkpoint(resume)
    return float(meta.get("wall_s", 0.0))
