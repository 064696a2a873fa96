"""Labelled images held in memory as uint8 tensors, and the data sets that serve them.

The labelled image data sets fit in RAM as a uint8 tensor ``(N, C, H, W)``.
Samples are converted on the fly to float32 in ``[-1, 1]`` (``x / 127.5 - 1``,
:func:`normalize`), the range of a ``tanh`` generator; items are ``(image, label)``
with the image ``(C, H, W)`` float32 and the label int64.

* :func:`to_image_tensor`: uint8 arrays -> a ``(N, C, H, W)`` tensor, resized when asked
  (:func:`check_image_size` validates the size argument).
* :class:`ImageTensorDataset`: the in-memory data set; :class:`RandomHorizontalFlip`
  wraps one with the random left-right flip.
* :func:`split_off`: the fixed random train / validation split of MNIST and CIFAR-10.

Plain torch (no Lightning); :mod:`datamodules.base` re-exports every public name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

_RESIZE_CHUNK = 4096  # images resized per interpolate call (bounds float memory)


def to_image_tensor(images: np.ndarray | Tensor, image_size: int | None = None) -> Tensor:
    """Convert uint8 images to a contiguous uint8 tensor ``(N, C, H, W)``.

    Args:
        images: uint8 array ``(N, H, W)`` (grey) or ``(N, H, W, C)`` (channels last).
        image_size: Output height and width; the images are resized (bilinear,
            antialiased, rounded back to uint8) only when their size differs.
            ``None`` keeps the native size.
    """
    tensor = torch.as_tensor(np.asarray(images))
    if tensor.dtype != torch.uint8:
        raise TypeError(f"images must be uint8, got {tensor.dtype}")
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(1)
    elif tensor.ndim == 4:
        tensor = tensor.permute(0, 3, 1, 2)
    else:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, C), got shape {tuple(tensor.shape)}")
    tensor = tensor.contiguous()
    if image_size is None or tuple(tensor.shape[-2:]) == (image_size, image_size):
        return tensor
    if image_size < 1:
        raise ValueError(f"image_size must be >= 1, got {image_size}")
    out = torch.empty((*tensor.shape[:2], image_size, image_size), dtype=torch.uint8)
    for start in range(0, len(tensor), _RESIZE_CHUNK):
        chunk = tensor[start : start + _RESIZE_CHUNK].float()
        resized = F.interpolate(
            chunk, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True
        )
        out[start : start + len(chunk)] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out


def split_off(num: int, val_size: int, seed: int) -> tuple[Tensor, Tensor]:
    """Sorted ``(train_indices, val_indices)``: ``val_size`` of ``range(num)`` drawn with ``seed``."""
    if not 0 <= val_size < num:
        raise ValueError(f"val_size must be in [0, {num}) for {num} training images, got {val_size}")
    perm = torch.randperm(num, generator=torch.Generator().manual_seed(seed))
    return perm[val_size:].sort().values, perm[:val_size].sort().values


class ImageTensorDataset(Dataset):
    """Labelled uint8 images held in memory, served as float32 in ``[-1, 1]``.

    Args:
        images: uint8 tensor ``(N, C, H, W)``.
        labels: int64 tensor ``(N,)``.
    """

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if labels.shape != (len(images),):
            raise ValueError(f"labels must have shape ({len(images)},), got {tuple(labels.shape)}")
        self.images = images
        self.labels = labels.to(torch.int64)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return normalize(self.images[index]), self.labels[index]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[Tensor, Tensor]]:
        """Batched fetch used by ``DataLoader``: one indexing op instead of one per sample."""
        idx = torch.as_tensor(indices, dtype=torch.long)
        return list(zip(normalize(self.images[idx]).unbind(0), self.labels[idx].unbind(0)))


class RandomHorizontalFlip(Dataset):
    """Wraps an ``(image, label)`` data set and mirrors each image left-right with probability ``p``."""

    def __init__(self, dataset: Dataset, p: float = 0.5) -> None:
        self.dataset = dataset
        self.p = p

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        image, label = self.dataset[index]
        if torch.rand(()) < self.p:
            image = image.flip(-1)
        return image, label

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[Tensor, Tensor]]:
        """Batched fetch: flips are still decided per sample."""
        if hasattr(self.dataset, "__getitems__"):
            samples = self.dataset.__getitems__(indices)
        else:
            samples = [self.dataset[i] for i in indices]
        flips = (torch.rand(len(samples)) < self.p).tolist()
        return [(img.flip(-1) if f else img, lab) for (img, lab), f in zip(samples, flips)]


def normalize(images: Tensor) -> Tensor:
    """uint8 ``[0, 255]`` -> float32 ``[-1, 1]`` (``x / 127.5 - 1``)."""
    return images.to(torch.float32).div_(127.5).sub_(1.0)


def check_image_size(image_size: int) -> int:
    """Validate an ``image_size`` argument."""
    if image_size < 1:
        raise ValueError(f"image_size must be >= 1, got {image_size}")
    return image_size
