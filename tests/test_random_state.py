"""``zoo.random_state``: every global random stream captured and restored exactly, loadable with weights_only."""

from __future__ import annotations

import random

import numpy as np
import torch

from zoo.random_state import capture_rng_state, restore_rng_state


def _draw() -> tuple:
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)], np.random.randn()


def test_restoring_replays_every_stream(tmp_path):
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    _draw()
    state = capture_rng_state()
    first = _draw()
    torch.save({"rng": state}, tmp_path / "state.pt")
    loaded = torch.load(tmp_path / "state.pt", weights_only=True)["rng"]  # tensors and plain values only
    _draw()
    restore_rng_state(loaded)
    assert _draw() == first
