"""The plain image folder DataModule (``image_folder``): every image under a folder, unlabelled.

:class:`ImageFolderDataModule` serves ``(images, labels)`` batches with labels -1
for the unconditional models, and the same files as translation inputs
(:meth:`ImageFolderDataModule.predict_dataloader`). It shares the resize / crop / flip
policies (:mod:`datamodules.preprocess`) and the one check of every file at set-up
(:mod:`datamodules.verify`) with the image-to-image folders of :mod:`datamodules.folders`,
which re-exports it.
"""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import DataLoader, Dataset

from datamodules.base import AugmentedSplits, ImageDataModule, split_off
from datamodules.image_datasets import FolderImages, FolderSide, PredictImages
from datamodules.preprocess import Preprocess, Preprocessing
from datamodules.registry import register_datamodule
from datamodules.verify import VerifiedFiles
from zoo.images import check_channels, list_images


@register_datamodule("image_folder", summary="A plain folder of images (unconditional training or translation input)")
class ImageFolderDataModule(Preprocessing, VerifiedFiles, AugmentedSplits, ImageDataModule):
    """Every image under ``root`` (recursive), unlabelled: batches ``(images, labels)`` with labels -1.

    For unconditional training (``image_shape``, ``num_classes = None`` as the
    other image DataModules) and, through :meth:`predict_dataloader`, as the
    input of a translation model: all files in order, deterministic transform,
    items ``{"A": image, "A_label": -1, "A_name": file name}``.  Unreadable
    files are left out of everything (one warning; ``strict=True`` raises instead).

    Args:
        root: The folder.
        image_size: Output side (see ``preprocess``).
        channels: 1 (grey) or 3 (RGB); images are converted.
        preprocess: Resize / crop policy (:mod:`datamodules.preprocess`); ``"resize"``
            (the default) squashes each image to ``image_size`` x ``image_size``.
        load_size: Side before a random crop; ``None`` means ``round(image_size * 286 / 256)``.
        flip: Mirror training images left-right at random.
        val_fraction: Share of the files held out (fixed seed) for validation;
            the test set is the same files.  0 gives empty val/test sets.
        batch_size: Images per batch.
        num_workers: DataLoader worker processes (images are decoded on the fly).
        pin_memory: Page-lock batches; ``None`` means "when CUDA is available".
        persistent_workers: Keep workers between epochs; ``None`` means ``num_workers > 0``.
        strict: Refuse unreadable image files (set-up raises :class:`~datamodules.verify.BadImagesError`
            listing them) instead of skipping them with one warning.
    """

    split_seed = 0

    def __init__(
        self,
        root: str,
        image_size: int = 64,
        channels: int = 3,
        preprocess: Preprocess = "resize",
        load_size: int | None = None,
        flip: bool = False,
        val_fraction: float = 0.0,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
        strict: bool = False,
    ) -> None:
        super().__init__(batch_size, num_workers, pin_memory, persistent_workers, image_size=image_size)
        self.save_hyperparameters()
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.root = Path(root).expanduser()
        self.channels = check_channels(channels)
        self.val_fraction = val_fraction
        self.set_preprocessing(preprocess, load_size, flip)
        self.set_verification(strict)

    def build_datasets(self) -> dict[str, Dataset]:
        """Check the files (unreadable ones skipped), hold out ``val_fraction`` of them (fixed seed); test = val."""
        files = list_images(self.root)
        checked = self.verify_files(files)
        bad = checked.bad
        self.files = [path for path in files if path not in bad]
        self.skip_bad_files(bad, usable=len(self.files))
        self.warn_odd_sizes((path, checked.size(path)) for path in self.files)
        val_size = round(self.val_fraction * len(self.files))
        train_idx, val_idx = split_off(len(self.files), val_size, self.split_seed)
        self._split_files = {"train": [self.files[i] for i in train_idx], "val": [self.files[i] for i in val_idx]}
        self._split_files["test"] = self._split_files["val"]
        return super().build_datasets()

    def make_dataset(self, split: str, augment: bool) -> Dataset:
        """Items ``(image float32 (C, H, W) in [-1, 1], label -1)``; ``augment`` gives the random training transform."""
        return FolderImages(self._split_files[split], self.channels, self.transform(train=augment))

    def predict_dataset(self) -> Dataset:
        """Every file in order with the deterministic transform, as translation-input dicts."""
        self.setup()
        return PredictImages(FolderSide(self.files, self.channels, self.transform(train=False)))

    def predict_dataloader(self) -> DataLoader:
        """Batches of :meth:`predict_dataset` (file order, none dropped)."""
        return self._loader(self.predict_dataset(), train=False)
