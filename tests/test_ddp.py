"""Two-process CPU DDP (gloo): training completes and the ranks stay identical."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo
from tests.conftest import REPO, subprocess_env
from tests.one_file_model import CLASS_PATH, write_one_file_model

pytestmark = pytest.mark.ddp


SMALL = ("--model.generator_channels", "8", "--model.discriminator_channels", "8")
METRICS = ("--metrics", "fd_digits,cis,conditional_accuracy", "--metrics.every_n_steps", "2",
           "--metrics.num_samples", "40", "--metrics.real_split", "test")

#: Every run of this file's tests, trained in one two-process launch (tests/ddp_runs.py).
RUNS: dict[str, tuple[str, ...]] = {
    # weights move (identically on both ranks), the checkpoint is written
    "cgan": ("--model", "cgan", "--trainer.max_steps", "6", *SMALL),
    # R1's double backward through D's DDP wrapper still all-reduces D's gradients
    "dcgan_r1": ("--model", "dcgan", "--trainer.max_steps", "3", "--model.r1_interval", "1", *SMALL),
    # four networks, two Ds under one optimizer, R1 through each D's own wrapper
    "cyclegan_r1": ("--model", "cyclegan", "--trainer.max_steps", "3", "--model.num_blocks", "1",
                    "--model.r1_weight", "1.0", *SMALL),
    # R1 of D(x, y) with respect to y only
    "pix2pix_r1": ("--model", "pix2pix", "--trainer.max_steps", "3", "--model.r1_weight", "1.0", *SMALL),
    # 6 steps of 2 x 8 images with 0.032-kimg phases: 4x4, then the 8x8 fade starts at step 3 and ends at
    # step 5 (the optimizer states are reset twice); the blocks not in use need find_unused_parameters
    "progan": ("--model", "progan", "--trainer.max_steps", "6", "--data.batch_size", "8",
               "--model.stabilize_kimg", "0.032", "--model.fade_kimg", "0.032", "--model.fmap_base", "64",
               "--model.fmap_max", "16", "--model.latent_dim", "16"),
    # --metrics under DDP: one record, written by rank 0, equal to the saved model's values
    "cgan_metrics": ("--model", "cgan", "--trainer.max_steps", "2", *SMALL, *METRICS),
    # the other variants at their defaults
    **{name: ("--model", name, "--trainer.fast_dev_run", "2") for name in ("acgan", "gan", "infogan", "sgan")},
    # spectral norm in both networks, conditional BN, self-attention, n_critic 2, the EMA
    "biggan": ("--model", "biggan", "--trainer.max_steps", "2", "--model.generator_width", "8",
               "--model.discriminator_width", "8", "--data.batch_size", "8"),
    # the one-file model of docs/architecture.md, from a folder on PYTHONPATH (tests/test_one_file_model.py)
    "mygan": ("--model", CLASS_PATH, "--trainer.max_steps", "3", "--model.channels", "8", "--model.r1_weight", "1"),
}
assert {flags[1] for flags in RUNS.values()} - {CLASS_PATH} == set(zoo.list_models()), "every registered model runs under DDP"


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory) -> Path:
    """The folder of all :data:`RUNS`, trained by one ``torchrun --nproc-per-node 2`` launch."""
    root = tmp_path_factory.mktemp("ddp")
    spec = root / "runs.json"
    spec.write_text(json.dumps(RUNS))
    plugins = write_one_file_model(root / "plugins").parent
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "tests.ddp_runs", str(spec)]
    env = subprocess_env() | {"ZOO_CACHE_DIR": str(root / "cache")}  # the metrics run's real statistics
    env["PYTHONPATH"] = str(plugins) + os.pathsep + env["PYTHONPATH"]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=root, timeout=600)
    assert out.returncode == 0, out.stderr[-6000:]
    return root


def load_ranks(ddp_runs: Path, key: str) -> tuple[dict, dict]:
    rank0 = torch.load(ddp_runs / key / "dump/rank0.pt", weights_only=True)
    rank1 = torch.load(ddp_runs / key / "dump/rank1.pt", weights_only=True)
    assert rank0["world_size"] == rank1["world_size"] == 2
    assert rank0["strategy"] == "GANDDPStrategy"
    assert bool(rank0["find_unused_parameters"]) == (key == "progan")  # only ProGAN's idle blocks need the search
    return rank0, rank1


def assert_identical(rank0: dict, rank1: dict, networks: tuple[str, ...], exact_buffers: bool = False) -> None:
    """Every parameter equal across the ranks. Batch-norm running statistics are per rank between
    synchronised forwards (DDP re-broadcasts rank 0's only at a wrapped forward; each rank's last local
    batch still moves its own copy by ``momentum * (local mean - shared mean)``), so unless
    ``exact_buffers`` they are only required to be finite and to have counted the same batches."""
    for net in networks:
        for key, value in rank0[net].items():
            other = rank1[net][key]
            if exact_buffers or "num_batches" in key or "running_" not in key:
                assert torch.equal(value, other), f"{net}.{key} differs between ranks"
            else:
                assert value.shape == other.shape and torch.isfinite(value).all() and torch.isfinite(other).all(), \
                    f"{net}.{key}"


def test_cgan_trains_under_two_process_ddp_and_ranks_hold_identical_weights(ddp_runs):
    rank0, rank1 = load_ranks(ddp_runs, "cgan")
    assert rank0["global_step"] == rank1["global_step"] == 6
    assert_identical(rank0, rank1, ("generator", "discriminator"))
    # the weights did move away from the (shared) initialisation
    init = zoo.create_model("cgan", generator_channels=8, discriminator_channels=8).generator.state_dict()
    assert any(not torch.equal(v, init[k]) for k, v in rank0["generator"].items() if v.is_floating_point())
    assert (ddp_runs / "cgan/runs/cgan/digits/version_0/checkpoints/last.ckpt").is_file()


def test_dcgan_r1_penalty_keeps_the_ranks_identical(ddp_runs):
    rank0, rank1 = load_ranks(ddp_runs, "dcgan_r1")
    assert rank0["global_step"] == rank1["global_step"] == 3
    assert_identical(rank0, rank1, ("generator", "discriminator"))


@pytest.mark.parametrize("key", ["cyclegan_r1", "pix2pix_r1"])
def test_r1_of_the_image_to_image_discriminators_keeps_every_network_identical(ddp_runs, key):
    rank0, rank1 = load_ranks(ddp_runs, key)
    assert rank0["global_step"] == rank1["global_step"] == 3
    networks = tuple(n for n in rank0 if n.startswith(("generator", "discriminator")))
    assert len(networks) == (4 if key.startswith("cyclegan") else 2)
    assert_identical(rank0, rank1, networks, exact_buffers=key.startswith("cyclegan"))  # instance norm: no statistics


def test_progan_grows_across_a_phase_change_with_identical_ranks(ddp_runs):
    """Images seen count both ranks, and every weight stays identical across a phase change."""
    rank0, rank1 = load_ranks(ddp_runs, "progan")
    assert rank0["global_step"] == rank1["global_step"] == 6
    assert_identical(rank0, rank1, ("generator", "discriminator"), exact_buffers=True)
    ckpt = torch.load(ddp_runs / "progan/runs/progan/digits/version_0/checkpoints/last.ckpt", weights_only=True)
    assert ckpt["zoo"]["progan"]["images_seen"] == 6 * 2 * 8 and ckpt["zoo"]["progan"]["resolution"] == 16


def test_metrics_under_ddp_are_written_once_and_equal_the_checkpoints_value(ddp_runs):
    """Two ranks, one record, and its values are those of the saved model: every rank samples its share
    with rank 0's batch-norm statistics, so one process regenerating the same samples from
    ``last.ckpt`` (benchmarks.multinode.single_process_values) gets the same numbers."""
    from benchmarks.multinode import single_process_values

    run = ddp_runs / "cgan_metrics/runs/cgan/digits/version_0"
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1  # one evaluation (step 2), one writer (rank 0)
    record = json.loads(lines[0])
    assert record["num_samples"] == 40 and record["real_count"] == 179
    assert len(list((ddp_runs / "cache/real_stats").glob("digits-test-*.pt"))) == 1
    rank0, rank1 = load_ranks(ddp_runs, "cgan_metrics")
    assert all(torch.equal(v, rank1["generator"][k]) for k, v in rank0["generator"].items()), \
        "running statistics taken from rank 0"
    names = ["fd_digits", "cis", "conditional_accuracy"]
    single = single_process_values(run, names, 40, batch_size=100, seed=12345, kid_subset_size=40, real_split="test")
    for name in names:
        assert record[name] == pytest.approx(single[name], rel=1e-6), name


@pytest.mark.parametrize("name", ["acgan", "gan", "infogan", "sgan", "mygan", "biggan"])
def test_the_other_models_fast_dev_run_under_ddp_with_identical_ranks(ddp_runs, name):
    rank0, rank1 = load_ranks(ddp_runs, name)
    assert rank0["global_step"] == rank1["global_step"] > 0
    networks = tuple(k for k, v in rank0.items() if isinstance(v, dict))
    assert "generator" in networks and "discriminator" in networks
    assert_identical(rank0, rank1, networks)


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
