"""Two small embedded image-to-image tasks built from the embedded digits (offline, deterministic).

Both read ``datamodules/assets/digits.npz`` at 32x32 (the ``digits`` data set:
grey digits, ink bright, in ``[-1, 1]``), keep its fixed train/val/test split
(1439 / 179 / 179) and have a ground-truth translation, so a translation can be
scored against it (L1) and by the shipped digits classifier (does the digit keep
its class?).  Batches follow the image-to-image contract of
:mod:`datamodules.translation` (``A``, ``B``, ``A_label``, ``B_label`` = the digit
classes, ``A_name``, ``B_name`` = ``digit_NNNN.png`` with the row of the npz).

``digit_outlines`` (paired, Pix2Pix): A = :func:`outline` of the digit, B = the digit.
``digit_strokes`` (unpaired, CycleGAN): A = :func:`thin` strokes, B = :func:`thicken`-ed
strokes.  Training is unpaired: A comes from one half of the training digits, B
from the other, disjoint half (every class split evenly), so no training pair
exists.  Validation and test are aligned: each item holds ``thin(x)`` and
``thicken(x)`` of the same digit ``x``, in both directions the exact ground truth.

Accuracy of the shipped digits classifier (:mod:`zoo.metrics.digits`) on the
real images of each domain (val 179 / test 179 images)::

    filled digits (digits as is)        val 0.9888   test 0.9832
    thin strokes   (thin, 3x3 erosion)  val 0.9665   test 0.9665
    thick strokes  (thicken, 3x3 dil.)  val 0.9665   test 0.9609
    outlines       (outline)            val 0.7095   test 0.6648   (not a style it was trained on)

so "identity accuracy" of a translated image can be read against these
ceilings.  Reproduce with :func:`classifier_accuracies`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from datamodules.base import SPLITS, AugmentedSplits, normalize, to_image_tensor
from datamodules.digits import ASSET, SPLIT_CODES
from datamodules.image_datasets import PairedDataset, TensorSide, UnpairedDataset
from datamodules.registry import register_datamodule
from datamodules.translation import TranslationDataModule
from zoo.images import Direction

IMAGE_SIZE = 32
KERNEL = 3  # side of the square structuring element of thin / thicken / outline


def _dilate(images: Tensor) -> Tensor:
    return F.max_pool2d(images, KERNEL, stride=1, padding=KERNEL // 2)


def _erode(images: Tensor) -> Tensor:
    return -F.max_pool2d(-images, KERNEL, stride=1, padding=KERNEL // 2)


def thicken(images: Tensor) -> Tensor:
    """Thicker strokes: grey dilation (3x3 max) of ``(N, C, H, W)`` or ``(C, H, W)`` images, ink bright."""
    return _dilate(images)


def thin(images: Tensor) -> Tensor:
    """Thinner strokes: grey erosion (3x3 min) of images with bright ink."""
    return _erode(images)


def outline(images: Tensor, threshold: float = 0.0) -> Tensor:
    """The outline of each digit: the morphological gradient of the ink mask, in {-1, 1}.

    The ink mask is ``images > threshold``; the outline is the 3x3 dilation of
    the mask minus its 3x3 erosion (a ring about 2 pixels wide on each edge of
    the stroke), drawn as +1 on -1.
    """
    mask = torch.where(images > threshold, 1.0, -1.0).to(images.dtype)
    return _dilate(mask) - _erode(mask) - 1.0


def load_digits() -> dict[str, tuple[Tensor, Tensor, list[str]]]:
    """``{split: (images float32 (N, 1, 32, 32) in [-1, 1], labels int64 (N,), names)}`` of the embedded digits."""
    with np.load(ASSET) as npz:
        images, labels, split = npz["images"], npz["labels"], npz["split"]
    images_t = normalize(to_image_tensor(images, IMAGE_SIZE))
    labels_t = torch.from_numpy(labels.astype(np.int64))
    out = {}
    for name, code in SPLIT_CODES.items():
        rows = np.flatnonzero(split == code)
        out[name] = (images_t[rows], labels_t[rows], [f"digit_{row:04d}.png" for row in rows])
    return out


def stratified_halves(labels: Tensor) -> tuple[Tensor, Tensor]:
    """Two disjoint, sorted index sets covering ``labels``, every class split evenly.

    The rows sorted by class (then row) are dealt alternately to the two halves.
    """
    order = torch.sort(labels, stable=True).indices
    return order[0::2].sort().values, order[1::2].sort().values


def _side(images: Tensor, labels: Tensor, names: list[str], rows: Tensor | None = None) -> TensorSide:
    if rows is None:
        return TensorSide(images, labels, names)
    return TensorSide(images[rows], labels[rows], [names[i] for i in rows.tolist()])


class DigitTranslationDataModule(TranslationDataModule):
    """Shared by the embedded digit tasks: 1 x 32 x 32 on both sides, loaders from the base.

    Args:
        direction: ``"AtoB"`` or ``"BtoA"`` (swap the sides).
        batch_size: Pairs per batch.
        num_workers: DataLoader worker processes (0 is fastest for in-memory data).
        pin_memory: Page-lock batches; ``None`` means "when CUDA is available".
        persistent_workers: Keep workers between epochs; ``None`` means ``num_workers > 0``.
    """

    num_classes = 10

    def __init__(
        self,
        direction: Direction = "AtoB",
        batch_size: int = 16,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(image_size=IMAGE_SIZE, input_channels=1, output_channels=1, direction=direction,
                         batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory,
                         persistent_workers=persistent_workers)
        self.save_hyperparameters()
        self._digits: dict[str, tuple[Tensor, Tensor, list[str]]] | None = None

    def digits(self, split: str) -> tuple[Tensor, Tensor, list[str]]:
        """``(images, labels, names)`` of a split of the embedded digits (read once)."""
        if self._digits is None:
            self._digits = load_digits()
        return self._digits[split]


@register_datamodule("digit_outlines", summary="Embedded paired task: digit outline -> filled digit (32x32)")
class DigitOutlinesDataModule(DigitTranslationDataModule):
    """Paired outline -> filled digit (Pix2Pix): A = :func:`outline` of the digit, B = the digit.

    Every split is aligned (the same digit on both sides); see the module docstring.
    """

    paired = True
    eval_has_ground_truth = True

    def build_datasets(self) -> dict[str, Dataset]:
        datasets = {}
        for split in SPLITS:
            images, labels, names = self.digits(split)
            datasets[split] = PairedDataset(_side(outline(images), labels, names), _side(images, labels, names),
                                            self.swap)
        return datasets


@register_datamodule("digit_strokes", summary="Embedded unpaired task: thin <-> thick digit strokes (32x32)")
class DigitStrokesDataModule(AugmentedSplits, DigitTranslationDataModule):
    """Unpaired thin <-> thick strokes (CycleGAN): A = :func:`thin`, B = :func:`thicken`.

    Training: A from one half of the training digits, B from the other
    (:func:`stratified_halves`, 720 and 719 images); an epoch has 720 items,
    item ``i`` holds ``A[i]`` and a B drawn at random (as
    :class:`datamodules.image_datasets.UnpairedDataset`); ``split_dataset("train")``
    without ``augment`` pairs ``A[i]`` with ``B[i % |B|]``.  Validation/test: aligned
    ``(thin(x), thicken(x))`` pairs, the ground truth in both directions.
    """

    paired = False
    eval_has_ground_truth = True

    def make_dataset(self, split: str, augment: bool) -> Dataset:
        """The data set of ``split``; for train, ``augment`` draws B at random, else ``B[i % |B|]``."""
        images, labels, names = self.digits(split)
        thin_images, thick_images = thin(images), thicken(images)
        if split != "train":
            return PairedDataset(_side(thin_images, labels, names), _side(thick_images, labels, names), self.swap)
        rows_a, rows_b = stratified_halves(labels)
        return UnpairedDataset(_side(thin_images, labels, names, rows_a), _side(thick_images, labels, names, rows_b),
                               random_b=augment, swap=self.swap)


def classifier_accuracies(split: str = "test") -> dict[str, float]:
    """Accuracy of the shipped digits classifier on the real images of each domain of ``split``."""
    from zoo.metrics.digits import load_digits_classifier

    classifier = load_digits_classifier()
    images, labels, _ = load_digits()[split]
    domains = {"filled": images, "thin": thin(images), "thick": thicken(images), "outline": outline(images)}
    out: dict[str, Any] = {}
    with torch.inference_mode():
        for name, domain in domains.items():
            out[name] = (classifier(domain).argmax(1) == labels).float().mean().item()
    return out
