"""2-D toy data: points on a noisy ring, for the teaching GAN (``--data circle``).

Not images: a batch is ``(points float32 (B, 2), labels int64 (B,) all zero)``.
The DataModule keeps the public API of :class:`~datamodules.base.ImageDataModule`
(``image_shape``, ``num_classes``, ``class_names``, ``split_dataset``, the three
loaders) so that ``zoo.fit`` and the models treat it like any other data set;
``image_shape`` is the shape of one sample, ``(2,)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from datamodules.base import SPLITS, InMemoryDataModule
from datamodules.registry import register_datamodule


def ring_points(n: int, radius: float = 1.0, noise: float = 0.05, seed: int = 0) -> Tensor:
    """``n`` points ``radius·(cos θ, sin θ) + noise·ε``, θ ~ U[0, 2π), ε ~ N(0, I); float32 (n, 2)."""
    gen = torch.Generator().manual_seed(seed)
    theta = torch.rand(n, generator=gen, dtype=torch.float64) * (2 * math.pi)
    ring = radius * torch.stack([theta.cos(), theta.sin()], dim=1)
    return (ring + noise * torch.randn(n, 2, generator=gen, dtype=torch.float64)).float()


class PointDataset(Dataset):
    """2-D points held in memory; items are ``(point float32 (2,), label int64 0)``."""

    def __init__(self, points: Tensor) -> None:
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"points must have shape (N, 2), got {tuple(points.shape)}")
        self.points = points.to(torch.float32)
        self.labels = torch.zeros(len(points), dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.points[index], self.labels[index]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[Tensor, Tensor]]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return list(zip(self.points[idx].unbind(0), self.labels[idx].unbind(0)))


@register_datamodule("circle", summary="2-D toy: points on a noisy unit circle (not images)")
class CircleDataModule(InMemoryDataModule):
    """A ring in the plane: angle uniform on [0, 2π), radius ``radius``, Gaussian noise.

    Each split is a fixed set of points drawn once with its own seed
    (``seed``, ``seed + 1``, ``seed + 2`` for train, val, test), so every run
    sees the same data.

    Args:
        noise: standard deviation of the isotropic Gaussian noise added to each point.
        radius: radius of the ring.
        num_train: points in the training split.
        num_val: points in the validation split.
        num_test: points in the test split.
        seed: seed of the training split (val and test use ``seed + 1``, ``seed + 2``).
        batch_size: points per batch (all loaders).
        num_workers: DataLoader worker processes (0 is fastest for in-memory data).
        pin_memory: page-lock batches; ``None`` means "when CUDA is available".
        persistent_workers: keep workers alive between epochs; ``None`` means
            ``num_workers > 0``.
    """

    name = "circle"
    sample_noun = "points"

    def __init__(
        self,
        noise: float = 0.05,
        radius: float = 1.0,
        num_train: int = 4096,
        num_val: int = 512,
        num_test: int = 512,
        seed: int = 0,
        batch_size: int = 128,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(batch_size, num_workers, pin_memory, persistent_workers)
        if noise < 0:
            raise ValueError(f"noise must be >= 0, got {noise}")
        if radius <= 0:
            raise ValueError(f"radius must be > 0, got {radius}")
        if num_train < 1 or num_val < 0 or num_test < 0:
            raise ValueError(f"need num_train >= 1, num_val >= 0, num_test >= 0, got {num_train}, {num_val}, {num_test}")
        self.save_hyperparameters()
        self.noise, self.radius, self.seed = noise, radius, seed
        self.sizes = {"train": num_train, "val": num_val, "test": num_test}

    # -- what the model needs to know before any data is loaded -----------------------

    @property
    def image_shape(self) -> tuple[int]:
        """Shape of one sample, ``(2,)`` (not an image; the name is the zoo's common API)."""
        return (2,)

    @property
    def num_classes(self) -> None:
        """Unlabelled data: ``None`` (the labels in a batch are all 0)."""
        return None

    @property
    def class_names(self) -> list[str]:
        return []

    # -- data -------------------------------------------------------------------------

    def build_datasets(self) -> dict[str, PointDataset]:
        """Draw the three splits; items ``(point (2,), label 0)``. No augmentation."""
        return {
            split: PointDataset(ring_points(self.sizes[split], self.radius, self.noise, self.seed + i))
            for i, split in enumerate(SPLITS)
        }
