"""``benchmarks.overhead``: its plain loop really trains (the same step as zoo.fit), and the comparison runs."""

from __future__ import annotations

import math

import pytest
import torch

from benchmarks.overhead import fresh_module_and_loader, main, plain_loop

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_plain_loop_trains_the_toy_gan_onto_its_ring(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    module, loader, precision = fresh_module_and_loader("gan", "32-true")
    times = plain_loop(module, loader, iterations=600, warmup=0, precision=precision)
    assert len(times) == 600 and module._trainer.global_step == 601  # one G step per iteration
    radius = module.sample(1000).norm(dim=1).mean().item()
    assert radius == pytest.approx(1.0, abs=0.15)  # the data's ring: 1.0 (an untrained G: about 0.1)


def test_interleaved_comparison_reports_both_loops(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (result,) = main(["--models", "gan", "--rounds", "1", "--iterations", "4", "--warmup", "1"])
    assert result["lightning_ms"] > 0 and result["plain_ms"] > 0
    assert math.isclose(result["ratio"], result["lightning_ms"] / result["plain_ms"], rel_tol=1e-2)
