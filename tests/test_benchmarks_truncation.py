"""benchmarks.truncation: the threshold parser, the sweep's figures and the CLI's files, on a small untrained BigGAN
(the measured curve of the shipped weights is in docs/models/biggan.md)."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

import zoo
from benchmarks import truncation
from zoo.models import BigGAN, CGAN

TINY = dict(generator_width=8, discriminator_width=8, latent_dim=16)


def test_thresholds_parse_numbers_and_none_and_refuse_the_rest():
    assert truncation.parse_thresholds("0.5, 1,none") == [0.5, 1.0, None]
    with pytest.raises(argparse.ArgumentTypeError, match="threshold 'wide' is neither a number nor 'none'"):
        truncation.parse_thresholds("0.5,wide")
    with pytest.raises(argparse.ArgumentTypeError, match="must be > 0, got 0.0"):
        truncation.parse_thresholds("0")


def test_smaller_thresholds_give_less_varied_samples():
    torch.manual_seed(0)
    model = BigGAN(**TINY).eval()
    judge, real, labels, name = truncation.judge_and_real(model, None)
    assert name == "digits" and real.shape[1:] == (1, 32, 32) and len(labels) == len(real)
    rows = truncation.sweep(model, judge, real, labels, [0.05, None], samples=60)
    assert [r["truncation"] for r in rows] == [0.05, None]
    narrow, plain = rows
    assert narrow["diversity"] < 0.5 * plain["diversity"]  # z within ±0.05: nearly one image per class
    assert all(r["fd"] > 0 and 1 <= r["is"] <= 10 and 0 <= r["conditional_accuracy"] <= 1 for r in rows)


def test_cli_prints_the_table_and_writes_the_plot_and_grid(tmp_path, monkeypatch, capsys):
    torch.manual_seed(0)
    monkeypatch.setattr(zoo, "load", lambda name, weights=None: BigGAN(**TINY).eval())
    rows = truncation.main(["--model", "biggan", "--thresholds", "0.5,none", "--samples", "20",
                            "--plot", str(tmp_path / "curve.png"), "--grid", str(tmp_path / "grid.png")])
    out = capsys.readouterr().out
    assert "| 0.5 |" in out and "| none |" in out and len(rows) == 2
    record = json.loads(out.strip().splitlines()[-1])
    assert record["judge"] == "digits" and record["rows"][1]["truncation"] is None
    assert (tmp_path / "curve.png").stat().st_size > 0 and (tmp_path / "grid.png").stat().st_size > 0


def test_a_model_without_truncation_is_refused_by_name(monkeypatch, capsys):
    monkeypatch.setattr(zoo, "load", lambda name, weights=None: CGAN().eval())
    with pytest.raises(SystemExit):
        truncation.main(["--model", "cgan"])
    assert "CGAN has no class-conditional truncated sampling (its sample() takes labels)" in capsys.readouterr().err
