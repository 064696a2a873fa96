"""Two-process CPU DDP (gloo): training completes and the ranks stay identical."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import zoo
from tests.conftest import QUIET, subprocess_env

pytestmark = pytest.mark.ddp


def run_ddp(tmp_path, *args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "zoo.fit", *args,
        "--trainer.devices", "2", "--trainer.accelerator", "cpu", "--trainer.strategy", "ddp",
        "--runs_dir", str(tmp_path / "runs"), *QUIET,
        "--trainer.callbacks+=tests.helpers.SaveRankWeights", f"--trainer.callbacks.directory={tmp_path / 'dump'}",
    ]
    out = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    return out


SMALL = ("--model.generator_channels", "8", "--model.discriminator_channels", "8")


def load_ranks(tmp_path) -> tuple[dict, dict]:
    rank0 = torch.load(tmp_path / "dump/rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "dump/rank1.pt", weights_only=True)
    assert rank0["world_size"] == rank1["world_size"] == 2
    assert rank0["strategy"] == "GANDDPStrategy" and not rank0["find_unused_parameters"]
    return rank0, rank1


def test_cyclegan_four_networks_stay_identical_across_ranks(tmp_path):
    run_ddp(tmp_path, "--model", "cyclegan", "--trainer.max_steps", "3", "--model.num_blocks", "1", *SMALL)
    rank0, rank1 = load_ranks(tmp_path)
    assert rank0["global_step"] == rank1["global_step"] == 3
    for net in ("generator", "generator_ba", "discriminator_a", "discriminator_b"):
        for key, value in rank0[net].items():
            assert torch.equal(value, rank1[net][key]), f"{net}.{key} differs between ranks"


def test_cgan_trains_under_two_process_ddp_and_ranks_hold_identical_weights(tmp_path):
    out = run_ddp(tmp_path, "--model", "cgan", "--trainer.max_steps", "6", *SMALL)
    rank0, rank1 = load_ranks(tmp_path)
    assert rank0["global_step"] == rank1["global_step"] == 6
    for net in ("generator", "discriminator"):
        for key, value in rank0[net].items():
            if "running_" in key or "num_batches" in key:
                # Batch-norm statistics are per rank between synchronised forwards (DDP re-broadcasts
                # rank 0's at each one), so they may differ by the last local update only.
                assert torch.allclose(value.float(), rank1[net][key].float(), atol=1e-2), f"{net}.{key}"
            else:
                assert torch.equal(value, rank1[net][key]), f"{net}.{key} differs between ranks"
    # the weights did move away from the (shared) initialisation
    init = zoo.create_model("cgan", generator_channels=8, discriminator_channels=8).generator.state_dict()
    assert any(not torch.equal(v, init[k]) for k, v in rank0["generator"].items() if v.is_floating_point())
    assert out.stdout.strip().splitlines()[-1].startswith("run directory:")
    assert (tmp_path / "runs/cgan/digits/version_0/checkpoints/last.ckpt").is_file()


def test_dcgan_r1_penalty_keeps_the_ranks_identical(tmp_path):
    """R1's double backward through D's DDP wrapper still all-reduces D's gradients."""
    run_ddp(tmp_path, "--model", "dcgan", "--trainer.max_steps", "3", "--model.r1_interval", "1", *SMALL)
    rank0, rank1 = load_ranks(tmp_path)
    assert rank0["global_step"] == rank1["global_step"] == 3
    for key, value in rank0["discriminator"].items():
        if "running_" not in key and "num_batches" not in key:  # see the cgan test for batch-norm statistics
            assert torch.equal(value, rank1["discriminator"][key]), f"discriminator.{key} differs between ranks"


@pytest.mark.parametrize("name, extra", [("cyclegan", ("--model.num_blocks", "1")), ("pix2pix", ())])
def test_r1_of_the_image_to_image_discriminators_keeps_the_ranks_identical(tmp_path, name, extra):
    """R1 through each D's own DDP wrapper (CycleGAN: two Ds, one optimizer; pix2pix: D(x, y) with the
    gradient taken with respect to y only) still all-reduces D's gradients."""
    run_ddp(tmp_path, "--model", name, "--trainer.max_steps", "3", "--model.r1_weight", "1.0", *extra, *SMALL)
    rank0, rank1 = load_ranks(tmp_path)
    assert rank0["global_step"] == rank1["global_step"] == 3
    for net in (n for n in rank0 if n.startswith("discriminator")):
        for key, value in rank0[net].items():
            if "running_" not in key and "num_batches" not in key:  # see the cgan test for batch-norm statistics
                assert torch.equal(value, rank1[net][key]), f"{net}.{key} differs between ranks"


def test_progan_grows_across_a_phase_change_with_identical_ranks(tmp_path):
    """6 steps of 2 x 8 images with 0.032-kimg phases: 4x4, then the 8x8 fade starts at step 3 and ends
    at step 5 (the optimizer states are reset twice). Images seen count both ranks; the blocks not in use
    make DDP look for unused parameters, and every weight stays identical across the ranks."""
    run_ddp(tmp_path, "--model", "progan", "--trainer.max_steps", "6", "--data.batch_size", "8",
            "--model.stabilize_kimg", "0.032", "--model.fade_kimg", "0.032", "--model.fmap_base", "64",
            "--model.fmap_max", "16", "--model.latent_dim", "16")
    rank0 = torch.load(tmp_path / "dump/rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "dump/rank1.pt", weights_only=True)
    assert rank0["global_step"] == rank1["global_step"] == 6 and rank0["find_unused_parameters"]
    for net in ("generator", "discriminator"):
        for key, value in rank0[net].items():
            assert torch.equal(value, rank1[net][key]), f"{net}.{key} differs between ranks"
    ckpt = torch.load(tmp_path / "runs/progan/digits/version_0/checkpoints/last.ckpt", weights_only=True)
    assert ckpt["zoo"]["progan"]["images_seen"] == 6 * 2 * 8 and ckpt["zoo"]["progan"]["resolution"] == 16


@pytest.mark.parametrize("name", [n for n in zoo.list_models() if n != "progan"])  # progan: its own test above
def test_every_model_fast_dev_run_under_ddp(tmp_path, name):
    run_ddp(tmp_path, "--model", name, "--trainer.fast_dev_run", "2")
    assert (tmp_path / "dump/rank1.pt").is_file()


def test_plain_ddp_strategy_is_refused_with_a_clear_message(tmp_path):
    """Trainer(strategy=DDPStrategy()) from Python: a clear error, not DDP's unused-parameter crash."""
    script = """
import lightning.pytorch as pl
from lightning.pytorch.strategies import DDPStrategy
from datamodules import DigitsDataModule
import zoo
model = zoo.create_model("cgan", generator_channels=8, discriminator_channels=8)
trainer = pl.Trainer(strategy=DDPStrategy(), devices=1, accelerator="cpu", max_steps=2, logger=False,
                     enable_checkpointing=False, enable_progress_bar=False)
trainer.fit(model, datamodule=DigitsDataModule())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=subprocess_env(),
                         cwd=tmp_path, timeout=300)
    assert out.returncode != 0
    assert "Use strategy='gan_ddp'" in out.stderr and "find_unused_parameters" in out.stderr
