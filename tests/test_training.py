"""The training loop: config checks, a short run whose loss drops, exact resume, a 2-process DDP step."""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from changer.core.compose import gray
from changer.core.errors import ParamError
from changer.core.model import CONFIGS, ChangerConfig
from changer.core.model.weights_io import load_weights
from changer.plugin.commands import train as train_cmd
from changer.training.batch import AugmentConfig, make_item
from changer.training.checkpoint import CheckpointError, checkpoints, read_checkpoint
from changer.training.config import config_from_dict, load_config
from changer.training.loop import Trainer, train
from changer.training.skin_pairs import MIN_TONE_GAP, skin_pair
from changer.training.studio import sample_seed

TINY_KWARGS = dict(name="tiny", resolution=64, enc_widths=(8, 16, 32), enc_blocks=(0, 0, 1), dec_blocks=(0, 0, 0),
                   cond_widths=(8, 16), colorizer_depth=1, colorizer_heads=2, colorizer_kv_pool=1, fpat_dim=16,
                   fpat_depth=1, fpat_heads=2, patch_size=2, mlp_ratio=2.0, norm_groups=4)


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(CONFIGS, "tiny", ChangerConfig(**TINY_KWARGS))
    return "tiny"


def _cfg(steps: int, **loop) -> dict:
    return {
        "name": "test",
        "model": {"config": "tiny"},
        "data": {"size": 64, "batch_size": 2, "workers": 0, "seed": 3},
        "optim": {"lr_g": 1e-3, "lr_d": 1e-3},
        "loop": {"steps": steps, "log_every": 1, "eval_every": 1000, "eval_samples": 2, "checkpoint_every": 1000,
                 "threads": 1, **loop},
    }


def test_config_refuses_unknown_keys_and_wrong_types(tiny: str) -> None:
    with pytest.raises(ParamError, match="unknown key"):
        config_from_dict({"loop": {"stpes": 3}})
    with pytest.raises(ParamError, match="expected int"):
        config_from_dict({"loop": {"steps": 2.5}})
    with pytest.raises(ParamError, match="reserved"):
        config_from_dict({"data": {"seed": 2_147_483_647}})
    with pytest.raises(ParamError, match="multiple"):
        config_from_dict({"data": {"size": 100}})


def test_shipped_configs_parse() -> None:
    for path in sorted(Path(__file__).resolve().parents[1].glob("training/configs/*.toml")):
        assert load_config(path).model.config in CONFIGS


def test_short_run_loss_drops(tiny: str, tmp_path: Path) -> None:
    cfg = config_from_dict(_cfg(30) | {"loss": {"adv": 0.0}})
    weights = train(cfg, tmp_path / "run", device=torch.device("cpu"))
    with (tmp_path / "run" / "log.csv").open() as f:
        losses = [float(row["loss/total"]) for row in csv.DictReader(f)]
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5
    model = load_weights(weights)
    assert model.config.name == "tiny"
    assert (tmp_path / "run" / "eval.csv").is_file()
    assert list((tmp_path / "run" / "samples").glob("*.png"))


def test_resume_is_exact(tiny: str, tmp_path: Path) -> None:
    cfg = config_from_dict(_cfg(4, checkpoint_every=2, keep_checkpoints=5))
    train(cfg, tmp_path / "full", device=torch.device("cpu"))
    saved = checkpoints(tmp_path / "full" / "checkpoints")
    assert [p.name for p in saved] == ["step-0000002", "step-0000004"]
    train(cfg, tmp_path / "resumed", resume=saved[0], device=torch.device("cpu"))
    full, _ = read_checkpoint(tmp_path / "full")
    resumed, meta = read_checkpoint(tmp_path / "resumed")
    assert meta["step"] == 4
    assert full.keys() == resumed.keys()
    for name in full:
        assert torch.equal(full[name], resumed[name]), name


def test_resume_refuses_a_foreign_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError):
        read_checkpoint(tmp_path)


def test_train_command_runs(tiny: str, tmp_path: Path) -> None:
    (tmp_path / "cfg.toml").write_text(textwrap.dedent("""
        name = "cli"
        [model]
        config = "tiny"
        [data]
        size = 64
        batch_size = 1
        workers = 0
        [loop]
        steps = 2
        eval_samples = 1
    """))
    parser = argparse.ArgumentParser()
    train_cmd.add_arguments(parser)
    args = parser.parse_args(["--config", str(tmp_path / "cfg.toml"), "--out", str(tmp_path / "out"),
                              "--device", "cpu"])
    assert train_cmd.run(args) == 0
    assert (tmp_path / "out" / "weights" / "changer-tiny.safetensors").is_file()


DDP_SCRIPT = """
import sys, torch
from safetensors.torch import save_file
from changer.core.model import CONFIGS, ChangerConfig
from changer.training.config import config_from_dict
from changer.training.distributed import init_world
from changer.training.loop import StepBatches, Trainer

torch.set_num_threads(1)
CONFIGS["tiny"] = ChangerConfig(**{kwargs})
cfg = config_from_dict({cfg})
world = init_world(torch.device("cpu"))
assert world.size == 2
trainer = Trainer(cfg, torch.device("cpu"), world)
data = StepBatches(cfg, world)
first = data[0]
for k in range(2):
    trainer.train_step(data[k])
out = sys.argv[1]
state = {{k: v.contiguous() for k, v in trainer.generator.state_dict().items()}}
save_file(state, f"{{out}}/rank{{world.rank}}.safetensors")
save_file({{"x": first.inputs.x.contiguous()}}, f"{{out}}/batch{{world.rank}}.safetensors")
"""


def test_two_process_ddp_step(tmp_path: Path) -> None:
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT.format(kwargs=repr(TINY_KWARGS), cfg=repr(_cfg(2))))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script),
           str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    x0, x1 = load_file(str(tmp_path / "batch0.safetensors"))["x"], load_file(str(tmp_path / "batch1.safetensors"))["x"]
    assert not torch.equal(x0, x1)


def test_tau_is_drawn_per_step_inside_its_range_and_is_a_function_of_the_step(tiny: str) -> None:
    cfg = config_from_dict(_cfg(1, tau_range=[0.2, 0.4]))
    trainer = Trainer(cfg, torch.device("cpu"))
    taus = [trainer.step_tau(step) for step in range(50)]
    assert all(0.2 <= t <= 0.4 for t in taus) and len(set(taus)) == 50
    assert taus == [Trainer(cfg, torch.device("cpu")).step_tau(step) for step in range(50)]
    with pytest.raises(ParamError, match="tau_range"):
        config_from_dict({"loop": {"tau_range": [0.6, 0.4]}})


def test_cross_skin_items_need_the_reference_and_self_items_get_their_own_source_jitter() -> None:
    """The grey source head never carries the truth's lightness: in a cross-skin item its skin is
    another tone under another light; in a self-reconstruction item it has its own colour jitter."""
    pair = skin_pair(sample_seed(0, 3), 64)
    assert abs(pair.truth.identity.skin_tone - pair.source.identity.skin_tone) >= MIN_TONE_GAP
    assert pair.double.identity.skin == pair.truth.identity.skin and pair.double.identity != pair.truth.identity
    assert torch.equal(pair.source.mask("head"), pair.truth.mask("head")), "one identity and pose"
    cross = make_item(0, 3, 64, AugmentConfig(cross_skin=1.0, reference_jitter=False))
    own = make_item(0, 3, 64, AugmentConfig(cross_skin=0.0, reference_jitter=False))
    shared = make_item(0, 3, 64, AugmentConfig(cross_skin=0.0, source_jitter=0.0, reference_jitter=False))
    for item in (cross, own):
        head = item.source_head > 0.99
        luma_gap = (gray(item.source[None]) - gray(item.target[None]))[0, 0][head[0]].abs().mean()
        assert float(luma_gap) > 0.01
    assert torch.equal(shared.source, shared.target)
