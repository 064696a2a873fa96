"""``--metrics`` during training: values logged, JSON records, cache reuse, best checkpoint, DDP."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
import torch

from tests.conftest import QUIET, subprocess_env

TINY = ["--model", "cgan", "--model.generator_channels", "8", "--model.discriminator_channels", "8"]
METRICS = ["--metrics", "fd_digits,cis,conditional_accuracy", "--metrics.every_n_steps", "2",
           "--metrics.num_samples", "40", "--metrics.real_split", "test"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))


def test_metrics_are_logged_recorded_and_drive_the_best_checkpoint(fit, tmp_path):
    cli = fit(*TINY, *METRICS, "--trainer.max_steps", "4", "--trainer.log_every_n_steps", "1")
    run = tmp_path / "runs/cgan/digits/version_0"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]  # the end-of-training evaluation is not repeated at step 4
    for record in records:
        assert record["num_samples"] == 40 and record["real_split"] == "test" and record["real_count"] == 179
        assert 0 <= record["conditional_accuracy"] <= 1 and record["cis"] >= 1 and record["fd_digits"] > 0
    assert [r["cache_hit"] for r in records] == [False, True]
    with open(run / "metrics.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("val/fd_digits")]
    assert len(rows) == 2 and all(float(row["val/metrics_seconds"]) > 0 for row in rows)
    assert list((run / "checkpoints").glob("best-fd_digits-step_*.ckpt"))
    assert cli.trainer.callback_metrics["val/fd_digits"] == pytest.approx(records[-1]["fd_digits"])


def test_metrics_under_two_process_ddp_are_written_once_and_equal_the_checkpoints_value(tmp_path):
    """Two ranks, one record, and its values are those of the saved model: every rank samples its share
    with rank 0's batch-norm statistics, so one process regenerating the same samples from
    ``last.ckpt`` (benchmarks.multinode.single_process_values) gets the same numbers."""
    from benchmarks.multinode import single_process_values

    command = [sys.executable, "-m", "zoo.fit", *TINY, *METRICS, "--trainer.max_steps", "2",
               "--trainer.devices", "2", "--trainer.accelerator", "cpu", "--trainer.strategy", "ddp",
               "--runs_dir", str(tmp_path / "runs"), *QUIET,
               "--trainer.callbacks+=tests.helpers.SaveRankWeights", f"--trainer.callbacks.directory={tmp_path / 'dump'}"]
    env = subprocess_env() | {"ZOO_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    run = tmp_path / "runs/cgan/digits/version_0"
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1  # one evaluation (step 2), one writer (rank 0)
    record = json.loads(lines[0])
    assert record["num_samples"] == 40 and record["real_count"] == 179
    assert len(list((tmp_path / "cache/real_stats").glob("digits-test-*.pt"))) == 1
    rank0, rank1 = (torch.load(tmp_path / f"dump/rank{r}.pt", weights_only=True)["generator"] for r in (0, 1))
    assert all(torch.equal(v, rank1[k]) for k, v in rank0.items()), "running statistics taken from rank 0"
    names = ["fd_digits", "cis", "conditional_accuracy"]
    single = single_process_values(run, names, 40, batch_size=100, seed=12345, kid_subset_size=40, real_split="test")
    for name in names:
        assert record[name] == pytest.approx(single[name], rel=1e-6), name
