"""The embedded offline default: scikit-learn's 8x8 handwritten digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from datamodules.base import DIGIT_CLASSES, ImageDataModule, to_image_tensor
from datamodules.registry import register_datamodule

ASSET = Path(__file__).parent / "assets" / "digits.npz"
"""The packaged npz (``images``, ``labels``, ``split``); rebuilt by ``assets/make_digits.py``."""

SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


@register_datamodule("digits", summary="8x8 handwritten digits, embedded (1797 images, offline)")
class DigitsDataModule(ImageDataModule):
    """Handwritten digits 0-9, shipped with the package: trains offline with no set-up.

    The 1797 grey-scale 8x8 images of the UCI "Optical Recognition of Handwritten
    Digits" data set (E. Alpaydin, C. Kaynak, 1998, https://doi.org/10.24432/C50P49,
    licensed CC BY 4.0), as distributed by scikit-learn, upsampled to
    ``image_size``.  The split is fixed and stratified: 1439 train, 179 val,
    179 test images, every class in every split.

    Args:
        image_size: Height and width of the images (bilinear upsampling from 8).
        batch_size: Images per batch (all loaders).
        num_workers: DataLoader worker processes (0 is fastest for in-memory data).
        pin_memory: Page-lock batches; ``None`` means "when CUDA is available".
        persistent_workers: Keep workers alive between epochs; ``None`` means
            ``num_workers > 0``.
    """

    name = "digits"
    channels = 1
    default_class_names = DIGIT_CLASSES

    def __init__(
        self,
        image_size: int = 32,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(batch_size, num_workers, pin_memory, persistent_workers, image_size=image_size, num_classes=10)
        self.save_hyperparameters()

    def load_splits(self) -> dict[str, tuple[Tensor, Tensor]]:
        """Read the packaged npz and resize it."""
        with np.load(ASSET) as npz:
            images, labels, split = npz["images"], npz["labels"], npz["split"]
        images_t = to_image_tensor(images, self.image_size)
        labels_t = torch.from_numpy(labels.astype(np.int64))
        split_t = torch.from_numpy(split.astype(np.int64))
        return {
            name: (images_t[split_t == code], labels_t[split_t == code]) for name, code in SPLIT_CODES.items()
        }
