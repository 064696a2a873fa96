"""Labelled image folders: one sub-folder of images per class (torchvision's ``ImageFolder`` layout).

:class:`LabelledFolderDataModule` (``labelled_folder``) serves ``(images, labels)``
batches for the class-conditional models (cgan, acgan, sgan; infogan takes its
default code size from ``num_classes``)::

    ROOT/train/<class>/*.png       or      ROOT/<class>/*.png
    ROOT/val/<class>/   (optional)         (val_fraction of each class held out
    ROOT/test/<class>/  (optional)          as val; test = val)

The classes are the sorted sub-folder names of the training folder (torchvision's
``find_classes``, hidden folders skipped), label ``i`` the ``i``-th of them; the
images of each class are listed as every folder DataModule lists them
(:func:`zoo.images.list_images`: recursive, the project's image suffixes, hidden
files skipped).  Images are decoded on the fly and go through the same
``preprocess`` pipeline as :class:`~datamodules.folders.ImageFolderDataModule`
(:mod:`datamodules.preprocess`), so files of any size are resized or cropped.
Every file is checked once at set-up (:mod:`datamodules.verify`): unreadable
ones are skipped with one warning, or refused with ``strict=True``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.datasets.folder import find_classes

from datamodules.base import SPLITS, AugmentedSplits, ImageDataModule, split_off
from datamodules.image_datasets import FolderSide
from datamodules.layouts import LAYOUT_HELP, fill_eval_splits, loose_images
from datamodules.preprocess import ImageTransform, Preprocess, Preprocessing
from datamodules.registry import register_datamodule
from datamodules.verify import VerifiedFiles
from zoo.images import IMAGE_EXTENSIONS, check_channels, list_images

#: ``(files, labels)`` of one split
SplitFiles = tuple[list[Path], list[int]]


def class_folders(folder: str | Path) -> list[str]:
    """The sorted names of the class folders in ``folder`` (torchvision's ``find_classes``, hidden folders
    such as ``.ipynb_checkpoints`` skipped); ``[]`` when there are none."""
    try:
        names, _ = find_classes(folder)
    except FileNotFoundError:  # no sub-folder at all
        return []
    return [name for name in names if not name.startswith(".")]


class LabelledImages(Dataset):
    """Files with their class indices: items ``(image float32 (C, H, W) in [-1, 1], label int64)``;
    ``in_memory`` keeps each image once decoded (:class:`~datamodules.image_datasets.FolderSide`).

    ``targets`` holds every label (int64 ``(N,)``), readable without decoding an image.
    """

    def __init__(self, files: list[Path], labels: list[int], channels: int, transform: ImageTransform,
                 in_memory: bool = False) -> None:
        if len(files) != len(labels):
            raise ValueError(f"{len(files)} files and {len(labels)} labels differ in number")
        self.side = FolderSide(files, channels, transform, in_memory)
        self.files = files
        self.targets = torch.as_tensor(labels, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.side[index][0], self.targets[index]


def hold_out(labels: list[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Sorted ``(train, val)`` indices: ``round(fraction * n_c)`` of each class ``c`` (at most ``n_c - 1``,
    so every class keeps a training image) drawn with ``seed + c`` (:func:`~datamodules.base.split_off`)."""
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    train: list[int] = []
    val: list[int] = []
    for label, indices in sorted(by_class.items()):
        size = min(round(fraction * len(indices)), len(indices) - 1)
        keep, held = split_off(len(indices), size, seed + label)
        train += [indices[i] for i in keep.tolist()]
        val += [indices[i] for i in held.tolist()]
    return sorted(train), sorted(val)


def keep_share(labels: list[int], fraction: float, seed: int) -> list[int]:
    """Sorted indices of ``max(1, round(fraction * n_c))`` images of each class ``c``, drawn with ``seed + c``."""
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    kept: list[int] = []
    for label, indices in sorted(by_class.items()):
        keep, _ = split_off(len(indices), len(indices) - max(1, round(fraction * len(indices))), seed + label)
        kept += [indices[i] for i in keep.tolist()]
    return sorted(kept)


@register_datamodule("labelled_folder", summary="Labelled image folders (ImageFolder layout): one sub-folder per class")
class LabelledFolderDataModule(Preprocessing, VerifiedFiles, AugmentedSplits, ImageDataModule):
    """Images in one sub-folder per class: batches ``(images, labels)`` for class-conditional models.

    Layouts (see :func:`~datamodules.layouts.detect_layout`, ``"labelled"``):

    * split: ``root/train/<class>/...`` with optional ``root/val/<class>/`` and
      ``root/test/<class>/``.  The folder's own splits are used; a missing one
      falls back as in the other folder DataModules (val -> test, test -> val).
      With neither, ``val_fraction`` of the training files is held out as val
      and test = val.
    * no split: ``root/<class>/...``; ``val_fraction`` of the files is held
      out as val (per class, fixed seed), and test = val.

    The classes are the sorted sub-folder names of the training folder (``root/train``,
    else ``root``), read on first use of ``num_classes`` / ``class_names`` (one
    directory listing, no image opened).  Errors (``ValueError``): fewer than 2
    classes, a training class without images, a val/test class folder that is
    not a training class, a training class whose every file is unreadable.
    Loose images beside the class folders are skipped with a warning, and so
    are unreadable files (one warning for all; ``strict=True`` raises
    :class:`~datamodules.verify.BadImagesError` instead); the hold-out is drawn
    from the readable files.

    Args:
        root: The folder.
        image_size: Output side (see ``preprocess``).
        channels: 1 (grey) or 3 (RGB); images are converted.
        preprocess: Resize / crop policy (:mod:`datamodules.preprocess`); ``"resize"``
            (the default) squashes each image to ``image_size`` x ``image_size``.
        load_size: Side before a random crop; ``None`` means ``round(image_size * 286 / 256)``.
        flip: Mirror training images left-right at random.
        val_fraction: Share of each class's training files held out (fixed seed) for
            validation, and used as the test set, when the folder has neither ``val/``
            nor ``test/``; at most ``n - 1`` of a class of ``n`` images.  0 gives
            empty val/test sets (with a warning); ignored when the folder has its own.
        batch_size: Images per batch.
        num_workers: DataLoader worker processes (they decode the images; each keeps its own
            copy of the decoded images when ``in_memory`` is on).
        pin_memory: Page-lock batches; ``None`` means "when CUDA is available".
        persistent_workers: Keep workers between epochs; ``None`` means ``num_workers > 0``.
        strict: Refuse unreadable image files (set-up raises :class:`~datamodules.verify.BadImagesError`
            listing them) instead of skipping them with one warning.
        train_fraction: Train on this share of each class's training images only (``round(f · n_c)``,
            at least one, drawn with a fixed seed per class after the val hold-out): the low-data settings
            of the DiffAugment paper (0.1 of CIFAR-10: 5,000 images). 1 (the default) keeps them all;
            val and test are untouched.
        in_memory: Keep every image in memory once decoded (uint8, width x height x channels bytes
            each, before the random crop / flip): the first epoch decodes the files, later epochs
            only transform (the memory and the time saved are measured in docs/data.md). ``None`` (the default): on when ``num_workers``
            is 0 and every split's readable images would take at most :attr:`in_memory_limit_mb`
            decoded (their sizes are known from the set-up check, no file is decoded for it);
            ``True`` / ``False`` force it.
    """

    split_seed = 0
    subset_seed = 1
    #: the most decoded megabytes ``in_memory=None`` keeps in memory
    in_memory_limit_mb = 1024

    def __init__(
        self,
        root: str,
        image_size: int = 64,
        channels: int = 3,
        preprocess: Preprocess = "resize",
        load_size: int | None = None,
        flip: bool = False,
        val_fraction: float = 0.1,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
        strict: bool = False,
        train_fraction: float = 1.0,
        in_memory: bool | None = None,
    ) -> None:
        super().__init__(batch_size, num_workers, pin_memory, persistent_workers, image_size=image_size)
        self.save_hyperparameters()
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        if not 0.0 < train_fraction <= 1.0:
            raise ValueError(f"train_fraction must be in (0, 1], got {train_fraction}")
        self.train_fraction = train_fraction
        self.in_memory = in_memory
        #: decoded size of every split's readable images, in bytes (known after set-up)
        self.decoded_bytes: int | None = None
        self.root = Path(root).expanduser()
        #: the folder the images come from, absolute: it keys the metrics' cached real-image statistics
        self.data_dir = self.root.resolve()
        self.channels = check_channels(channels)
        self.val_fraction = val_fraction
        self.set_preprocessing(preprocess, load_size, flip)
        self.set_verification(strict)

    # -- classes ------------------------------------------------------------------------

    @property
    def has_splits(self) -> bool:
        """Whether ``root`` has split folders (``train/``, ``val/``, ``test/``) rather than class folders."""
        return any((self.root / split).is_dir() for split in SPLITS)

    @property
    def train_folder(self) -> Path:
        """The folder whose sub-folders are the classes: ``root/train``, or ``root`` without split folders."""
        return self.root / "train" if self.has_splits else self.root

    @property
    def class_names(self) -> list[str]:
        """The class of each label index: the sorted class folder names of :attr:`train_folder`."""
        if self._class_names is None:
            self._class_names = self._find_classes()
        return list(self._class_names)

    @property
    def num_classes(self) -> int:
        """Number of classes (class folders); read from the folder names on first use."""
        return len(self.class_names)

    def _find_classes(self) -> list[str]:
        folder = self.train_folder
        if not self.root.is_dir():
            raise FileNotFoundError(f"data folder {self.root} does not exist\n{LAYOUT_HELP}")
        if not folder.is_dir():
            raise FileNotFoundError(f"{self.root} has split folders but no training folder {folder}\n{LAYOUT_HELP}")
        names = class_folders(folder)
        if len(names) < 2:
            found = f"only one, {names[0]!r}" if names else "none"
            raise ValueError(f"a labelled folder needs two or more class folders in {folder}, found {found}\n"
                             f"{LAYOUT_HELP}")
        return names

    # -- splits -------------------------------------------------------------------------

    def _list_split(self, folder: Path, train: bool) -> SplitFiles:
        """``(files, labels)`` of the class folders in ``folder`` (a training folder must hold every class)."""
        classes = self.class_names
        index = {name: i for i, name in enumerate(classes)}
        names = classes if train else class_folders(folder)
        unknown = [name for name in names if name not in index]
        if unknown:
            raise ValueError(f"class folder {folder / unknown[0]} is not a training class (a folder of "
                             f"{self.train_folder}); valid classes: {', '.join(classes)}")
        stray = loose_images(folder)
        if stray:
            rank_zero_warn(f"{folder}: {len(stray)} images outside the class folders are skipped "
                           f"(e.g. {stray[0].name})")
        files: list[Path] = []
        labels: list[int] = []
        for name in names:
            try:
                found = list_images(folder / name)
            except FileNotFoundError:
                if train:
                    raise ValueError(f"training class {name!r} has no images ({', '.join(IMAGE_EXTENSIONS)}) in "
                                     f"{folder / name}; add images or remove the folder") from None
                found = []
            files += found
            labels += [index[name]] * len(found)
        return files, labels

    def find_splits(self) -> dict[str, SplitFiles]:
        """``{split: (files, labels)}`` for all three splits (see the class docstring for the fall-backs),
        unreadable files left out (:meth:`drop_unreadable`)."""
        found = {"train": self._list_split(self.train_folder, train=True)}
        if self.has_splits:
            for split in ("val", "test"):
                if (self.root / split).is_dir():
                    found[split] = self._list_split(self.root / split, train=False)
        found = self.drop_unreadable(found)
        if "val" not in found and "test" not in found and self.val_fraction > 0:
            files, labels = found["train"]
            train, val = hold_out(labels, self.val_fraction, self.split_seed)
            found["train"] = ([files[i] for i in train], [labels[i] for i in train])
            found["val"] = ([files[i] for i in val], [labels[i] for i in val])
        if self.train_fraction < 1.0:  # the low-data setting: a fixed share of each class
            files, labels = found["train"]
            kept = keep_share(labels, self.train_fraction, self.subset_seed)
            found["train"] = ([files[i] for i in kept], [labels[i] for i in kept])
        return fill_eval_splits(found, ([], []), str(self.root))

    def drop_unreadable(self, found: dict[str, SplitFiles]) -> dict[str, SplitFiles]:
        """Check every file once (:mod:`datamodules.verify`), leave out the unreadable ones (one warning,
        or the strict error), and warn once per kind about images too small or too elongated."""
        checked = self.verify_files(path for files, _ in found.values() for path in files)
        bad = checked.bad
        kept = {split: ([f for f in files if f not in bad], [y for f, y in zip(files, labels) if f not in bad])
                for split, (files, labels) in found.items()}
        self.skip_bad_files(bad, usable=len(kept["train"][0]))
        empty = sorted(set(range(self.num_classes)) - set(kept["train"][1]))
        if empty:
            names = ", ".join(repr(self.class_names[i]) for i in empty)
            raise ValueError(f"training classes of {self.train_folder} without a readable image: {names} "
                             f"(the unreadable files are listed in {self.bad_files_list})")
        sizes = {path: checked.size(path) for files, _ in kept.values() for path in files}
        self.warn_odd_sizes(sizes.items())
        self.decoded_bytes = sum(width * height * self.channels for width, height in sizes.values())
        return kept

    @property
    def keeps_images_in_memory(self) -> bool:
        """Whether decoded images stay in memory: ``in_memory`` when given, else the rule of ``None``
        (no workers, and :attr:`decoded_bytes` within :attr:`in_memory_limit_mb`); needs the set-up."""
        if self.in_memory is not None:
            return self.in_memory
        if self.decoded_bytes is None:
            raise RuntimeError("keeps_images_in_memory is known after setup()")
        return self.num_workers == 0 and self.decoded_bytes <= self.in_memory_limit_mb * 2**20

    def build_datasets(self) -> dict[str, Dataset]:
        """Find each split's files and labels, then build the training (augmented) and evaluation sets."""
        self._split_files = self.find_splits()
        return super().build_datasets()

    def make_dataset(self, split: str, augment: bool) -> Dataset:
        """Items ``(image float32 (C, H, W) in [-1, 1], label int64)``; ``augment`` gives the random training transform."""
        files, labels = self._split_files[split]
        return LabelledImages(files, labels, self.channels, self.transform(train=augment), self.keeps_images_in_memory)

