"""``--metrics`` during training: values logged, JSON records, cache reuse, best checkpoint (DDP: tests/test_ddp.py)."""

from __future__ import annotations

import csv
import json

import pytest

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
