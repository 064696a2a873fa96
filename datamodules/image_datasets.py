"""The torch ``Dataset``s behind the image-to-image and image-folder DataModules.

A *side* is one domain, items ``(image float32 (C, H, W) in [-1, 1], label, file name)``:
:class:`TensorSide` holds it in memory, :class:`FolderSide` reads files through an
:class:`~datamodules.preprocess.ImageTransform`.  Two sides make the
image-to-image items (dicts of the batch contract, see :mod:`datamodules.translation`,
built by :func:`pair_item`): :class:`PairedDataset` aligns them by index,
:class:`PairedFolderDataset` reads file pairs with one transform for both
images, :class:`UnpairedDataset` pairs every A with a random B.

Plain folders: :class:`FolderImages` serves files as ``(image, -1)`` through a
transform (training batches), :class:`PredictImages` as translation inputs,
and :class:`ImageFolderDataset` every readable file of a folder as ``(image, -1)``
with an optional square resize (``zoo.evaluate --real DIR`` and ``--fake DIR``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from datamodules.preprocess import ImageTransform
from datamodules.verify import report_bad_files, verify_images
from zoo.images import check_channels, list_images, load_image, open_image

Sample = tuple[Tensor, int, str]
"""One side of an image-to-image item: (image float32 (C, H, W) in [-1, 1], label, file name)."""


def pair_item(a: Sample, b: Sample, swap: bool = False) -> dict[str, Any]:
    """The batch-contract dict of one item; ``swap`` exchanges the sides (``direction="BtoA"``)."""
    if swap:
        a, b = b, a
    return {"A": a[0], "B": b[0], "A_label": a[1], "B_label": b[1], "A_name": a[2], "B_name": b[2]}


class TensorSide(Dataset):
    """One domain held in memory: images float32 ``(N, C, H, W)``, int labels ``(N,)``, names."""

    def __init__(self, images: Tensor, labels: Tensor, names: list[str]) -> None:
        if not len(images) == len(labels) == len(names):
            raise ValueError(f"{len(images)} images, {len(labels)} labels and {len(names)} names differ in number")
        self.images, self.labels, self.names = images, labels.to(torch.int64), names

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Sample:
        return self.images[index], int(self.labels[index]), self.names[index]


class FolderSide(Dataset):
    """One domain read from files, each transformed with its own random choices; labels -1.

    ``in_memory=True`` keeps every image once decoded, as uint8: the first epoch reads the files,
    later ones do not. A deterministic transform's output is kept (``(C, H, W)``, turned back into
    the identical float tensor); otherwise the decoded image before the transform, so random crops
    and flips stay random. Each DataLoader worker keeps its own copy.
    """

    def __init__(self, files: list[Path], channels: int, transform: ImageTransform, in_memory: bool = False) -> None:
        self.files, self.channels, self.transform = files, check_channels(channels), transform
        self.decoded: dict[int, np.ndarray] | None = {} if in_memory and not transform.deterministic else None
        self.transformed: dict[int, Tensor] | None = {} if in_memory and transform.deterministic else None

    def __len__(self) -> int:
        return len(self.files)

    def image(self, index: int) -> Image.Image:
        """The decoded image ``index`` (mode ``"L"`` or ``"RGB"``), from memory when kept there."""
        if self.decoded is None:
            return open_image(self.files[index], self.channels)
        pixels = self.decoded.get(index)
        if pixels is None:
            image = open_image(self.files[index], self.channels)
            self.decoded[index] = np.asarray(image)
            return image
        return Image.fromarray(pixels)

    def __getitem__(self, index: int) -> Sample:
        if self.transformed is None:
            return self.transform(self.image(index)), -1, self.files[index].name
        pixels = self.transformed.get(index)
        if pixels is None:
            image = self.transform(self.image(index))  # float32 in [-1, 1], k / 127.5 - 1 for a byte k
            self.transformed[index] = image.add(1).mul(127.5).round().to(torch.uint8)
            return image, -1, self.files[index].name
        return pixels.float().div_(127.5).sub_(1.0), -1, self.files[index].name


class PairedDataset(Dataset):
    """Two sides aligned by index (item ``i`` is ``(A[i], B[i])``) as batch-contract dicts."""

    def __init__(self, side_a: Dataset, side_b: Dataset, swap: bool = False) -> None:
        if len(side_a) != len(side_b):  # type: ignore[arg-type]
            raise ValueError(f"paired sides differ in length: {len(side_a)} A, {len(side_b)} B")  # type: ignore[arg-type]
        self.side_a, self.side_b, self.swap = side_a, side_b, swap

    def __len__(self) -> int:
        return len(self.side_a)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        return pair_item(self.side_a[index], self.side_b[index], self.swap)


class PairedFolderDataset(Dataset):
    """Image pairs from files, A and B transformed together (the same resize, crop and flip).

    Args:
        pairs: ``(a_file, b_file)``; ``b_file=None`` means ``a_file`` holds A|B side by side (A left).
        channels: Channels of the files' A and B sides.
        transform: Applied to A and B in one call, ``transform(a, b)``, so they share its random choices.
        swap: Exchange the sides in the items (``direction="BtoA"``).
    """

    def __init__(self, pairs: list[tuple[Path, Path | None]], channels: tuple[int, int],
                 transform: ImageTransform, swap: bool = False) -> None:
        self.pairs, self.channels, self.transform, self.swap = pairs, channels, transform, swap

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[Image.Image, Image.Image]:
        """The untransformed A and B images of pair ``index`` (B bicubic-resized to A's size when they differ)."""
        path_a, path_b = self.pairs[index]
        if path_b is None:
            a = open_image(path_a, self.channels[0])
            b = a if self.channels[0] == self.channels[1] else open_image(path_a, self.channels[1])
            half = a.width // 2
            a, b = a.crop((0, 0, half, a.height)), b.crop((half, 0, 2 * half, b.height))
        else:
            a, b = open_image(path_a, self.channels[0]), open_image(path_b, self.channels[1])
        if b.size != a.size:
            b = b.resize(a.size, Image.BICUBIC)
        return a, b

    def __getitem__(self, index: int) -> dict[str, Any]:
        image_a, image_b = self.transform(*self.load(index))
        path_a, path_b = self.pairs[index]
        return pair_item((image_a, -1, path_a.name), (image_b, -1, (path_b or path_a).name), self.swap)


class UnpairedDataset(Dataset):
    """Two unaligned domains; an epoch has ``max(|A|, |B|)`` items and item ``i`` holds ``A[i % |A|]``.

    With ``random_b=True`` (training) item ``i`` holds ``B[(r + i) % |B|]`` for
    ``r`` drawn uniformly with torch's global RNG at every fetch: B is uniform,
    new every epoch and reproducible under ``lightning.seed_everything`` (each
    DataLoader worker has its own stream); adding ``i`` keeps DDP ranks, which
    share the seed but not the indices, from drawing the same B for every item.
    With ``random_b=False`` (validation/test) item ``i`` holds ``B[i % |B|]``,
    so every image of both domains appears at least once.
    """

    def __init__(self, side_a: Dataset, side_b: Dataset, random_b: bool = True, swap: bool = False) -> None:
        self.side_a, self.side_b, self.random_b, self.swap = side_a, side_b, random_b, swap
        self.len_a, self.len_b = len(side_a), len(side_b)  # type: ignore[arg-type]
        if (self.len_a == 0) != (self.len_b == 0):
            raise ValueError(f"one domain is empty ({self.len_a} A, {self.len_b} B images)")

    def __len__(self) -> int:
        return max(self.len_a, self.len_b)

    def __getitem__(self, index: int) -> dict[str, Any]:
        shift = int(torch.randint(self.len_b, ())) if self.random_b else 0
        j = (shift + index) % self.len_b
        return pair_item(self.side_a[index % self.len_a], self.side_b[j], self.swap)


# -- plain folders --------------------------------------------------------------------------


class FolderImages(Dataset):
    """Files as ``(image, -1)`` through a transform (the unconditional batches of ``ImageFolderDataModule``)."""

    def __init__(self, files: list[Path], channels: int, transform: ImageTransform) -> None:
        self.side = FolderSide(files, channels, transform)

    def __len__(self) -> int:
        return len(self.side)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.side[index][0], torch.tensor(-1)


class PredictImages(Dataset):
    """Files as ``{"A": image, "A_label": -1, "A_name": name}`` (the input side of a translation)."""

    def __init__(self, side: FolderSide) -> None:
        self.side = side

    def __len__(self) -> int:
        return len(self.side)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, label, name = self.side[index]
        return {"A": image, "A_label": label, "A_name": name}


class ImageFolderDataset(Dataset):
    """All readable images under ``folder`` as ``(image, -1)`` pairs (no labels).

    Every listed file is checked once (:func:`datamodules.verify.verify_images`, cached);
    unreadable ones are left out with one :class:`~datamodules.verify.BadImagesWarning`
    and listed in :attr:`skipped` (``{path: reason}``); none readable raises
    :class:`~datamodules.verify.BadImagesError`.

    Args:
        folder: the root folder (searched recursively).
        channels: 1 (grey) or 3 (RGB); images are converted.
        size: resize to ``size`` x ``size`` (bicubic); ``None`` keeps each image's size.
        verify: check the files first (``False``: every listed file is served, as listed).
    """

    def __init__(self, folder: str | Path, channels: int = 3, size: int | None = None, verify: bool = True) -> None:
        check_channels(channels)
        self.folder, self.channels, self.size = Path(folder), channels, size
        self.files = list_images(folder)
        self.skipped: dict[Path, str] = {}
        if verify:
            self.skipped = verify_images(self.files).bad
            self.files = [path for path in self.files if path not in self.skipped]
            report_bad_files(self.skipped, self.folder, what=f"image folder {self.folder}",
                             usable=len(self.files))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return load_image(self.files[index], self.channels, self.size), torch.tensor(-1)
