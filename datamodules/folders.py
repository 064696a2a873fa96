"""Image folders as data sets.

``ImageFolderDataset`` reads every image file under a folder (recursively,
sorted by path) as float32 (C, H, W) in [-1, 1]. It is what ``zoo.evaluate
--real DIR --fake DIR`` scores, and the base of the paired / unpaired folder
DataModules to come.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def list_images(folder: str | Path) -> list[Path]:
    """Image files under ``folder`` (recursive), sorted; an error if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {folder}")
    return files


def load_image(path: Path, channels: int = 3, size: int | None = None) -> Tensor:
    """One image as float32 (channels, H, W) in [-1, 1]; any mode (grey, RGBA, palette, 16-bit) is converted."""
    with Image.open(path) as image:
        if image.mode in ("I;16", "I;16B", "I"):
            array = np.asarray(image, dtype=np.float64)
            image = Image.fromarray((array / max(array.max(), 1) * 255).astype(np.uint8))
        image = image.convert("L" if channels == 1 else "RGB")
        if size is not None and image.size != (size, size):
            image = image.resize((size, size), Image.BICUBIC)
        array = np.asarray(image, dtype=np.uint8)
    tensor = torch.from_numpy(array.copy())
    tensor = tensor.unsqueeze(0) if tensor.dim() == 2 else tensor.permute(2, 0, 1)
    return tensor.float() / 127.5 - 1


class ImageFolderDataset(Dataset):
    """All images under ``folder`` as ``(image, -1)`` pairs (no labels).

    Args:
        folder: the root folder (searched recursively).
        channels: 1 (grey) or 3 (RGB); images are converted.
        size: resize to ``size`` x ``size`` (bicubic); ``None`` keeps each image's size.
    """

    def __init__(self, folder: str | Path, channels: int = 3, size: int | None = None) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        self.folder, self.channels, self.size = Path(folder), channels, size
        self.files = list_images(folder)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return load_image(self.files[index], self.channels, self.size), torch.tensor(-1)
