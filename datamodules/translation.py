"""The base of the image-to-image DataModules (Pix2Pix / CycleGAN data): the batch contract, shapes, direction.

Every paired or unpaired batch is a dict::

    {"A": float32 (N, Ca, H, W) in [-1, 1], "B": float32 (N, Cb, H, W) in [-1, 1],
     "A_label": int64 (N,), "B_label": int64 (N,), "A_name": list[str], "B_name": list[str]}

``A`` is always the model's input side and ``B`` its target (paired) or
other domain (unpaired): with ``direction="BtoA"`` the files' sides are
swapped before the batch is made.  Labels are -1 when unknown (folders);
names are file names (``stem + suffix``) so translations can keep them.
The items are built by :func:`datamodules.image_datasets.pair_item`.

Subclasses: the folder DataModules (:mod:`datamodules.folders`) and the
embedded digit tasks (:mod:`datamodules.translation_tasks`).
"""

from __future__ import annotations

from torch.utils.data import DataLoader

from datamodules.base import InMemoryDataModule, check_image_size
from zoo.images import DIRECTIONS, check_channels


def check_direction(direction: str) -> str:
    """Validate a ``direction``."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}; valid choices: {', '.join(DIRECTIONS)}")
    return direction


class TranslationDataModule(InMemoryDataModule):
    """Base of the image-to-image DataModules: the batch contract, shapes and direction.

    Subclasses implement :meth:`build_datasets` (items: batch-contract dicts,
    see the module docstring).  The shapes are known right after ``__init__``.

    Attributes:
        paired: Whether training pairs are aligned (Pix2Pix) or not (CycleGAN).
        eval_has_ground_truth: Whether val/test items hold each A's ground-truth B.
        num_classes: Number of label classes (``None``: labels are -1).
    """

    paired: bool = True
    eval_has_ground_truth: bool = True
    num_classes: int | None = None
    sample_noun = "image pairs"

    def __init__(
        self,
        *,
        image_size: int,
        input_channels: int,
        output_channels: int,
        direction: str,
        batch_size: int,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(batch_size, num_workers, pin_memory, persistent_workers)
        self.image_size = check_image_size(image_size)
        self.input_channels = check_channels(input_channels, "input_channels")
        self.output_channels = check_channels(output_channels, "output_channels")
        self.direction = check_direction(direction)

    @property
    def swap(self) -> bool:
        """Whether the files' sides are exchanged (``direction="BtoA"``)."""
        return self.direction == "BtoA"

    @property
    def file_channels(self) -> tuple[int, int]:
        """Channels to load the files' A and B sides with (before the direction swap)."""
        pair = (self.input_channels, self.output_channels)
        return pair[::-1] if self.swap else pair

    @property
    def fixed_size(self) -> bool:
        """Whether every image is ``image_size`` x ``image_size``, so the shapes below are exact."""
        return True

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(Ca, H, W)`` of ``batch["A"]``, the model's input."""
        return (self.input_channels, self.image_size, self.image_size)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(Cb, H, W)`` of ``batch["B"]``, the model's target / other domain."""
        return (self.output_channels, self.image_size, self.image_size)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Same as ``input_shape``."""
        return self.input_shape

    @property
    def dims(self) -> tuple[int, ...]:
        """Same as ``input_shape`` (the Lightning convention)."""
        return self.input_shape

    def predict_dataloader(self) -> DataLoader:
        """The test batches (deterministic, in file order)."""
        return self.test_dataloader()
