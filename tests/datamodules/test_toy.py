"""The 2-D ring DataModule (``--data circle``): shapes, statistics, determinism, loaders."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import SequentialSampler

from datamodules import CircleDataModule, create_datamodule, get_datamodule_class
from datamodules.resumable import EpochSampler


def _points(dataset) -> torch.Tensor:
    return torch.stack([dataset[i][0] for i in range(len(dataset))])


def test_registered_as_circle_with_the_datamodule_api():
    assert get_datamodule_class("circle") is CircleDataModule
    dm = create_datamodule("circle")
    assert dm.image_shape == (2,) and dm.dims == (2,)  # known before any data is generated
    assert dm.num_classes is None and dm.class_names == []
    assert dm.batch_size == 128


def test_batches_are_float_points_and_zero_labels():
    dm = CircleDataModule(batch_size=32)
    dm.setup("fit")
    points, labels = next(iter(dm.train_dataloader()))
    assert points.shape == (32, 2) and points.dtype == torch.float32
    assert labels.shape == (32,) and labels.dtype == torch.int64 and not labels.any()
    assert [len(dm.split_dataset(s)) for s in ("train", "val", "test")] == [4096, 512, 512]
    assert isinstance(dm.train_dataloader().sampler, EpochSampler) and dm.train_dataloader().drop_last
    assert isinstance(dm.val_dataloader().sampler, SequentialSampler) and not dm.val_dataloader().drop_last
    assert sum(len(b[0]) for b in dm.test_dataloader()) == 512


@pytest.mark.parametrize("radius, noise", [(1.0, 0.05), (2.5, 0.2)])
def test_points_lie_on_a_noisy_ring_with_uniform_angles(radius, noise):
    dm = CircleDataModule(radius=radius, noise=noise)
    points = _points(dm.split_dataset("train"))
    r = points.norm(dim=1)
    # E|r·u + σε| ≈ r + σ²/(2r) for σ << r; the spread of the distance is ≈ σ.
    assert abs(r.mean().item() - radius) < 0.01 * radius + noise**2
    assert abs(r.std().item() - noise) < 0.15 * noise
    assert points.mean(0).abs().max() < 0.05 * radius  # centred at the origin
    angles = torch.atan2(points[:, 1], points[:, 0])
    sectors = torch.bincount(((angles + math.pi) / (2 * math.pi) * 8).long().clamp(0, 7), minlength=8)
    assert (sectors.float() / len(points) - 1 / 8).abs().max() < 0.025  # uniform angle


def test_splits_are_fixed_distinct_and_reproducible():
    a, b = CircleDataModule(), CircleDataModule()
    for split in ("train", "val", "test"):
        assert torch.equal(_points(a.split_dataset(split)), _points(b.split_dataset(split)))
    assert not torch.equal(_points(a.split_dataset("val")), _points(a.split_dataset("test")))
    assert not torch.equal(_points(a.split_dataset("val")), _points(CircleDataModule(seed=1).split_dataset("val")))
    noiseless = _points(CircleDataModule(noise=0.0, num_train=64).split_dataset("train"))
    assert torch.allclose(noiseless.norm(dim=1), torch.ones(64), atol=1e-6)


def test_sizes_and_bad_arguments():
    dm = CircleDataModule(num_train=256, num_val=10, num_test=0, batch_size=64)
    assert [len(dm.split_dataset(s)) for s in ("train", "val", "test")] == [256, 10, 0]
    assert len(dm.train_dataloader()) == 4
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        dm.split_dataset("dev")
    with pytest.raises(ValueError, match="batch_size 512 is larger than the 256 training points"):
        CircleDataModule(num_train=256, batch_size=512).train_dataloader()
    with pytest.raises(ValueError, match="noise must be >= 0"):
        CircleDataModule(noise=-1.0)
    with pytest.raises(ValueError, match="radius must be > 0"):
        CircleDataModule(radius=0.0)
    with pytest.raises(ValueError, match="persistent_workers=True needs num_workers > 0"):
        CircleDataModule(persistent_workers=True)
