"""The base classes of the DataModules: loaders, splits, in-memory images, downloadable files.

The labelled image data sets fit in RAM as a uint8 tensor ``(N, C, H, W)``
(:mod:`datamodules.image_tensors`), and batches are ``(images, labels)`` with
images ``(B, C, H, W)`` float32 in ``[-1, 1]`` and labels ``(B,)`` int64.

* :class:`InMemoryDataModule`: loaders, the three splits, a cheap ``repr``;
  :class:`ImageDataModule` adds the image shape, classes and the random flip.
* :class:`AugmentedSplits`: splits built by ``make_dataset(split, augment)``,
  for data augmented at every fetch (the folder and translation DataModules).
* :class:`HeldOutImageDataModule`: the MNIST / CIFAR-10 pattern (official
  train/test files, downloaded when missing by :class:`~datamodules.downloads.DownloadableData`,
  ``val_size`` training images held out with a fixed seed).

The shared pieces beneath them are re-exported here, so ``from datamodules.base import ...``
reaches all of them: the in-memory images (:func:`to_image_tensor`, :func:`normalize`,
:class:`ImageTensorDataset`, :class:`RandomHorizontalFlip`, :func:`split_off`,
:func:`check_image_size`) from :mod:`datamodules.image_tensors`, and the missing-files
error and the download mixin (:class:`DataNotFoundError`, :class:`DownloadableData`)
from :mod:`datamodules.downloads`.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from datamodules.downloads import DataNotFoundError, DownloadableData  # re-exported
from datamodules.image_tensors import (  # re-exported
    ImageTensorDataset,
    RandomHorizontalFlip,
    check_image_size,
    normalize,
    split_off,
    to_image_tensor,
)
from datamodules.resumable import ResumableDataLoader

from zoo.paths import data_dir as default_data_dir

SPLITS: tuple[str, ...] = ("train", "val", "test")
"""The split names accepted by :meth:`ImageDataModule.split_dataset`."""

DIGIT_CLASSES: tuple[str, ...] = tuple(str(i) for i in range(10))
"""The class names of the digit data sets: ``"0"`` .. ``"9"``."""


class InMemoryDataModule(pl.LightningDataModule):
    """Loader plumbing shared by the in-memory DataModules (images here, points in ``toy.py``).

    Subclasses implement :meth:`build_datasets` and the ``image_shape`` /
    ``num_classes`` / ``class_names`` properties; caching, splits, loaders and a
    cheap ``repr`` are here.

    Args:
        batch_size: Samples per batch (all loaders).
        num_workers: DataLoader worker processes (0, the default, is fastest for in-memory data).
        pin_memory: Page-lock batches for faster GPU copies; ``None`` means "when CUDA is available".
        persistent_workers: Keep workers alive between epochs; ``None`` means ``num_workers > 0``.
    """

    #: what one sample is called in messages ("images", "points")
    sample_noun: str = "samples"

    def __init__(
        self,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers=True needs num_workers > 0 (got num_workers=0)")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers
        self._datasets: dict[str, Dataset] | None = None

    @property
    def dims(self) -> tuple[int, ...]:
        """Same as ``image_shape`` (the Lightning convention)."""
        return self.image_shape

    def build_datasets(self) -> dict[str, Dataset]:
        """Subclasses: the ``train``, ``val`` and ``test`` data sets."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        """Build all splits once (later calls are no-ops)."""
        if self._datasets is None:
            self._datasets = self.build_datasets()

    def split_dataset(self, split: str, augment: bool = False) -> Dataset:
        """The ``"train"``, ``"val"`` or ``"test"`` data set (built on first use).

        ``augment=True`` asks for the training augmentation where a subclass has one.
        """
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
        self.setup()
        assert self._datasets is not None
        return self._datasets[split]

    # -- loaders ----------------------------------------------------------------------

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        """Training: a :class:`~datamodules.resumable.ResumableDataLoader` (mid-epoch resume is exact) in a
        single process; under DDP a plain ``DataLoader``, whose sampler Lightning replaces by a
        ``DistributedSampler``. Evaluation: the data set's order, none dropped."""
        pin = torch.cuda.is_available() if self.pin_memory is None else self.pin_memory
        persistent = self.num_workers > 0 if self.persistent_workers is None else self.persistent_workers
        trainer = getattr(self, "trainer", None)
        if train and (trainer is None or trainer.world_size == 1):
            return ResumableDataLoader(dataset, batch_size=self.batch_size, shuffle=True, drop_last=True,
                                       num_workers=self.num_workers, pin_memory=pin, persistent_workers=persistent)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=train,
            drop_last=train,
            num_workers=self.num_workers,
            pin_memory=pin,
            persistent_workers=persistent,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled training batches (augmented when enabled); the last partial batch is dropped."""
        dataset = self.split_dataset("train", augment=True)
        if len(dataset) < self.batch_size:  # type: ignore[arg-type]
            raise ValueError(
                f"batch_size {self.batch_size} is larger than the {len(dataset)} training {self.sample_noun} "  # type: ignore[arg-type]
                f"of {type(self).__name__}; with drop_last there would be no batch"
            )
        return self._loader(dataset, train=True)

    def val_dataloader(self) -> DataLoader:
        """Validation batches in a fixed order, none dropped."""
        return self._loader(self.split_dataset("val"), train=False)

    def test_dataloader(self) -> DataLoader:
        """Test batches in a fixed order, none dropped."""
        return self._loader(self.split_dataset("test"), train=False)

    def __repr__(self) -> str:
        hp: dict[str, Any] = dict(self.hparams) if self.hparams else {}
        args = ", ".join(f"{k}={v!r}" for k, v in hp.items())
        return f"{type(self).__name__}({args})"

    # LightningDataModule.__str__ builds every loader (loading, even downloading, data): keep printing cheap.
    __str__ = __repr__


class ImageDataModule(InMemoryDataModule):
    """Base class of the in-memory labelled image DataModules.

    Subclasses set ``channels`` (a class attribute), pass ``image_size`` and
    ``num_classes`` to ``__init__`` and implement :meth:`load_splits`;
    everything else (caching, loaders, splits) is here.

    Args:
        *loader_args, **loader_kwargs: ``batch_size``, ``num_workers``,
            ``pin_memory``, ``persistent_workers`` of :class:`InMemoryDataModule`.
        image_size: Height and width of the images (validated).
        num_classes: Number of label classes; ``None`` for unlabelled data.
        random_flip: Mirror training images left-right at random (never the
            validation or test images).
    """

    channels: int = 1
    default_class_names: tuple[str, ...] = ()
    sample_noun = "images"

    def __init__(
        self,
        *loader_args: Any,
        image_size: int = 32,
        num_classes: int | None = None,
        random_flip: bool = False,
        **loader_kwargs: Any,
    ) -> None:
        super().__init__(*loader_args, **loader_kwargs)
        self.random_flip = random_flip
        self.image_size = check_image_size(image_size)
        self._num_classes = num_classes
        self._class_names: list[str] | None = None

    # -- what the model needs to know before any data is loaded -----------------------

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the images in a batch; known right after ``__init__``."""
        return (self.channels, self.image_size, self.image_size)

    @property
    def num_classes(self) -> int | None:
        """Number of label classes (``None`` for unlabelled data); known right after ``__init__``."""
        return self._num_classes

    @property
    def class_names(self) -> list[str]:
        """Human-readable name of each class index."""
        if self._class_names is not None:
            return list(self._class_names)
        return list(self.default_class_names)

    # -- loading ----------------------------------------------------------------------

    def load_splits(self) -> dict[str, tuple[Tensor, Tensor]]:
        """Subclasses: return ``{split: (uint8 images (N, C, H, W), int64 labels (N,))}`` for all splits."""
        raise NotImplementedError

    def build_datasets(self) -> dict[str, Dataset]:
        """All splits as in-memory data sets, shapes checked."""
        splits = self.load_splits()
        datasets = {}
        for split in SPLITS:
            images, labels = splits[split]
            if tuple(images.shape[1:]) != self.image_shape:
                raise RuntimeError(f"{split} images have shape {tuple(images.shape[1:])}, expected {self.image_shape}")
            datasets[split] = ImageTensorDataset(images, labels)
        return datasets

    def split_dataset(self, split: str, augment: bool = False) -> Dataset:
        """Items are ``(image float32 (C, H, W) in [-1, 1], label int64)``; with ``augment=True``
        the training split gets the random flip when enabled."""
        dataset = super().split_dataset(split)
        if augment and split == "train" and self.random_flip:
            dataset = RandomHorizontalFlip(dataset)
        return dataset


class AugmentedSplits:
    """Mixin for DataModules augmented at every fetch (random crops and flips, random pairing).

    Subclasses implement :meth:`make_dataset`.  The cached training set is the
    augmented one (what ``train_dataloader`` serves); ``split_dataset("train")``
    without ``augment`` builds a deterministic one (for metrics).
    """

    def make_dataset(self, split: str, augment: bool) -> Dataset:
        """Subclasses: the data set of ``split``, with the random training augmentation when ``augment``."""
        raise NotImplementedError

    def build_datasets(self) -> dict[str, Dataset]:
        """Every split by :meth:`make_dataset`; only the training split is augmented."""
        return {split: self.make_dataset(split, augment=split == "train") for split in SPLITS}

    def split_dataset(self, split: str, augment: bool = False) -> Dataset:
        """The ``"train"``, ``"val"`` or ``"test"`` data set; ``augment=True`` gives the random
        training augmentation (train only), else the deterministic version."""
        dataset = super().split_dataset(split)  # type: ignore[misc]
        return self.make_dataset(split, augment=False) if split == "train" and not augment else dataset


class HeldOutImageDataModule(DownloadableData, ImageDataModule):
    """An image set with official train and test files under ``data_dir`` (downloaded when missing):
    ``val_size`` training images are held out for validation with a fixed seed (:func:`split_off`).

    Subclasses implement :meth:`read_parts` and the :class:`DownloadableData` hooks.

    Args:
        data_dir: Root data folder; ``None`` means ``$ZOO_DATA_DIR``, else ``./data`` (:func:`zoo.paths.data_dir`).
        val_size: Training images held out for validation.
        download: Download missing files in ``prepare_data``.
        **image_args: Of :class:`ImageDataModule` (``image_size``, ``num_classes``, ``random_flip``, the loaders).
    """

    split_seed = 0

    def __init__(self, data_dir: str | None, val_size: int, download: bool, **image_args: Any) -> None:
        super().__init__(**image_args)
        if val_size < 0:
            raise ValueError(f"val_size must be >= 0, got {val_size}")
        self.data_dir = default_data_dir(data_dir)
        self.val_size = val_size
        self.download = download

    def read_parts(self) -> dict[str, tuple[Tensor, Tensor]]:
        """Subclasses: ``{"train" | "test": (uint8 images (N, C, image_size, image_size), int64 labels (N,))}``."""
        raise NotImplementedError

    def load_splits(self) -> dict[str, tuple[Tensor, Tensor]]:
        """Read the files (an error names any missing one), hold out ``val_size`` training images."""
        self.check_files()
        parts = self.read_parts()
        images, labels = parts["train"]
        train_idx, val_idx = split_off(len(images), self.val_size, self.split_seed)
        return {"train": (images[train_idx], labels[train_idx]), "val": (images[val_idx], labels[val_idx]),
                "test": parts["test"]}
