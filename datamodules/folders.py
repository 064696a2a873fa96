"""The folder DataModules: paired and unpaired image-to-image folders (or published sets), plain image folders.

* :class:`PairedFolderDataModule` (``paired_folder``, Pix2Pix): an aligned
  or two-folder layout, or a published pix2pix set.
* :class:`UnpairedFolderDataModule` (``unpaired_folder``, CycleGAN): the
  unpaired layout, or a published CycleGAN set.
* :class:`ImageFolderDataModule` (``image_folder``): every image under a
  folder, ``(images, labels)`` batches with labels -1 (unconditional models,
  and the input of a translation); it lives in :mod:`datamodules.image_folder`
  and is re-exported here.

Where the rest lives: the layouts in :mod:`datamodules.layouts`, the batch
contract in :mod:`datamodules.translation`, the resize / crop / flip policies
(``preprocess``) in :mod:`datamodules.preprocess`, the data sets in
:mod:`datamodules.image_datasets`, the published sets and their download in
:mod:`datamodules.published`; reading and converting image files is
:mod:`zoo.images`.  Images are decoded on the fly (nothing is held in memory).

Every listed file is checked once at set-up (:mod:`datamodules.verify`):
unreadable ones are skipped with one warning (or refused with ``strict=True``),
a pair with an unreadable side is dropped, and images smaller than the output or
beyond 4:1 get one warning per kind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.utilities import rank_zero_warn
from PIL import Image
from torch.utils.data import Dataset

from datamodules.base import SPLITS, AugmentedSplits, DataNotFoundError, DownloadableData
from datamodules.image_datasets import FolderSide, PairedFolderDataset, UnpairedDataset
from datamodules.image_folder import ImageFolderDataModule  # re-exported: the plain image folder
from datamodules.layouts import LAYOUT_HELP, Layout, detect_layout, fill_eval_splits, match_pairs
from datamodules.preprocess import Preprocess, Preprocessing
from datamodules.published import CYCLEGAN_DATASETS, PIX2PIX_DATASETS, fetch_published, published_dataset
from datamodules.registry import register_datamodule
from datamodules.translation import TranslationDataModule
from datamodules.verify import VerifiedFiles
from zoo.images import Direction, list_images
from zoo.paths import data_dir as default_data_dir


class _FolderTranslationDataModule(Preprocessing, VerifiedFiles, DownloadableData, AugmentedSplits,
                                   TranslationDataModule):
    """Shared by the paired and unpaired folder DataModules: root or published set, transforms, download,
    the check of the files (:class:`~datamodules.verify.VerifiedFiles`).

    Subclasses implement :meth:`find_sources` (which also drops unreadable files) and :meth:`make_dataset`.
    """

    def __init__(
        self,
        root: str | None = None,
        dataset: str | None = None,
        data_dir: str | None = None,
        direction: Direction | None = None,
        image_size: int = 256,
        load_size: int | None = None,
        preprocess: Preprocess = "resize_and_crop",
        flip: bool = True,
        input_channels: int = 3,
        output_channels: int = 3,
        batch_size: int = 1,
        num_workers: int = 0,
        download: bool = True,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
        strict: bool = False,
    ) -> None:
        if (root is None) == (dataset is None):
            names = ", ".join(sorted(PIX2PIX_DATASETS if self.paired else CYCLEGAN_DATASETS))
            raise ValueError(f"give either root (a folder) or dataset (one of {names}), not "
                             f"{'both' if root is not None else 'neither'}")
        self.published = published_dataset(dataset, self.paired) if dataset is not None else None
        direction = direction or (self.published.direction if self.published else "AtoB")
        super().__init__(image_size=image_size, input_channels=input_channels, output_channels=output_channels,
                         direction=direction, batch_size=batch_size, num_workers=num_workers,
                         pin_memory=pin_memory, persistent_workers=persistent_workers)
        self.save_hyperparameters()  # the subclasses' arguments (they add none)
        self.data_dir = default_data_dir(data_dir)
        self.root = self.published.folder(self.data_dir) if self.published else Path(root).expanduser()  # type: ignore[arg-type]
        self.download = download
        self.set_preprocessing(preprocess, load_size, flip)
        self.set_verification(strict)

    @property
    def fixed_size(self) -> bool:
        """Whether batches are ``image_size`` x ``image_size`` (False for ``scale_width`` and ``none``)."""
        return self.transform().fixed_size

    # -- published sets (DownloadableData) ------------------------------------------------

    def missing_files(self) -> list[str]:
        """The folders of the published set when it is not extracted yet; a ``root`` folder needs nothing."""
        info = self.published
        return [] if info is None or info.ready(self.data_dir) else info.needed

    def fetch(self) -> None:
        """Download and extract the published set (:func:`~datamodules.published.fetch_published`)."""
        assert self.published is not None
        fetch_published(self.published, self.data_dir)

    def not_found(self, missing: list[str], cause: BaseException | None = None) -> DataNotFoundError:
        """The error for a published set that is not there (``cause``: the failed download, if any)."""
        info = self.published
        assert info is not None
        parent = self.root.parent
        hint = (f"Extract {info.archive} into {parent} so that {self.root / info.needed[0]} exists. The root folder "
                f"comes from --data.data_dir, else the ZOO_DATA_DIR variable, else ./data (now {self.data_dir}).")
        urls: list[str] = [info.url, *info.mirrors]
        if not info.downloadable:
            hint = (f"{info.name} is not distributed by the pix2pix authors (licence): download "
                    "gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip from the Cityscapes site and put "
                    f"photo|label images side by side in {self.root}/train and {self.root}/val.")
            urls = ["https://www.cityscapes-dataset.com"]
            cause = cause or RuntimeError("this data set cannot be downloaded automatically")
        kind = "CycleGAN" if info.kind == "cyclegan" else "pix2pix"
        return DataNotFoundError.for_files(f"{info.name} ({kind})", self.root, info.needed, urls, hint=hint,
                                           download=self.download, cause=cause)

    # -- splits -------------------------------------------------------------------------

    def build_datasets(self) -> dict[str, Dataset]:
        """Find each split's files, then build the training (augmented) and evaluation data sets."""
        self.check_files()
        self._sources = self.find_sources()
        return super().build_datasets()

    def find_sources(self) -> dict[str, Any]:
        """Subclasses: ``{split: files}`` for all three splits, unreadable files left out."""
        raise NotImplementedError

    def make_dataset(self, split: str, augment: bool) -> Dataset:
        """Subclasses: the data set of ``split`` (found by :meth:`find_sources`)."""
        raise NotImplementedError


def check_side_by_side(path: Path) -> None:
    """An aligned pix2pix image holds A and B side by side (512x256 for the published sets).

    An image no wider than high cannot be two halves of sensible shape: that is an error naming
    the file and its size, before training would split it in halves. Other shapes than 2:1 get a
    warning (halves that are not square are allowed).
    """
    with Image.open(path) as image:
        width, height = image.size
    if width <= height:
        raise ValueError(
            f"{path} is {width}x{height}: an aligned (pix2pix) image holds A and B side by side, so it is about "
            f"twice as wide as high (e.g. 512x256). For separate A and B files use root/A/ and root/B/ "
            f"(two_folders).\n{LAYOUT_HELP}"
        )
    if abs(width - 2 * height) > 0.05 * 2 * height:
        rank_zero_warn(f"{path} is {width}x{height}, not 2:1: each half ({width // 2}x{height}) is taken as A / B")


@register_datamodule("paired_folder", summary="Paired image folders (pix2pix): aligned A|B images or A/ and B/")
class PairedFolderDataModule(_FolderTranslationDataModule):
    """Aligned image pairs from a folder or a published pix2pix set, for Pix2Pix.

    Layouts (detected, see :func:`~datamodules.layouts.detect_layout`): aligned ``root/{train,val,test}/``
    with A|B side by side (A left), or two folders ``root/A/`` and ``root/B/``
    with matching file names (optionally split into ``A/train``, ``A/val``,
    ``A/test`` and the same under ``B/``).  Validation uses ``val/`` (else
    ``test/``), test uses ``test/`` (else ``val/``); neither is ever trained on;
    without either, both are empty and a warning says so.  A flat ``A/`` + ``B/``
    is all training data.

    A and B get identical resizes, crops and flips (:mod:`datamodules.preprocess`).

    Args:
        root: The folder (give ``root`` or ``dataset``).
        dataset: A published pix2pix set (:data:`~datamodules.published.PIX2PIX_DATASETS`), read from
            ``{data_dir}/pix2pix/{dataset}``.
        data_dir: Root data folder; ``None`` means ``$ZOO_DATA_DIR``, else ``./data``.
        direction: ``"AtoB"`` or ``"BtoA"`` (swap the sides); ``None`` means the
            published set's default (facades, cityscapes: ``BtoA``), else ``"AtoB"``.
        image_size: Side of the training crops and of validation/test images.
        load_size: Side before the random crop; ``None`` means ``round(image_size * 286 / 256)``.
        preprocess: Resize / crop policy (:mod:`datamodules.preprocess`).
        flip: Mirror training pairs left-right at random.
        input_channels: Channels of ``batch["A"]`` (1 grey or 3 RGB; images are converted).
        output_channels: Channels of ``batch["B"]``.
        batch_size: Pairs per batch.
        num_workers: DataLoader worker processes (images are decoded on the fly).
        download: Download a missing published set in ``prepare_data``.
        pin_memory: Page-lock batches; ``None`` means "when CUDA is available".
        persistent_workers: Keep workers between epochs; ``None`` means ``num_workers > 0``.
        strict: Refuse unreadable image files: set-up raises
            :class:`~datamodules.verify.BadImagesError` listing them. ``False`` (the default)
            skips them with one warning; a pair with an unreadable side (or an aligned image
            narrower than 2 pixels) is dropped.
    """

    paired = True
    eval_has_ground_truth = True

    @property
    def layout(self) -> Layout:
        """``"aligned"`` or ``"two_folders"`` (read from the folder)."""
        layout = detect_layout(self.root)
        if layout == "labelled" and any((self.root / split).is_dir() for split in SPLITS):
            layout = "aligned"  # train/<city>/*.jpg: aligned A|B images in sub-folders, read recursively
        if layout not in ("aligned", "two_folders"):
            found = "an unpaired (CycleGAN) folder: use UnpairedFolderDataModule" if layout == "unpaired" \
                else "a plain image folder"
            raise ValueError(f"{self.root} is {found}; a paired folder has one of these layouts:\n{LAYOUT_HELP}")
        return layout

    def find_sources(self) -> dict[str, list[tuple[Path, Path | None]]]:
        """``{split: [(a_file, b_file or None)]}`` per the layout."""
        found: dict[str, list[tuple[Path, Path | None]]] = {}
        if self.layout == "aligned":
            for split in SPLITS:
                if (self.root / split).is_dir():
                    found[split] = [(path, None) for path in list_images(self.root / split)]
        else:
            folder_a, folder_b = self.root / "A", self.root / "B"
            if any((folder / s).is_dir() for folder in (folder_a, folder_b) for s in SPLITS):
                for split in SPLITS:
                    if (folder_a / split).is_dir() or (folder_b / split).is_dir():
                        found[split] = list(match_pairs(folder_a / split, folder_b / split))
            else:
                found["train"] = list(match_pairs(folder_a, folder_b))
        if "train" not in found:
            raise FileNotFoundError(f"no training images in {self.root} (train/ or A/train missing)\n{LAYOUT_HELP}")
        aligned = self.layout == "aligned"
        found = self._drop_bad_pairs(found, aligned)
        if aligned:
            check_side_by_side(found["train"][0][0])
        return fill_eval_splits(found, [], str(self.root))

    def _drop_bad_pairs(self, found: dict[str, list[tuple[Path, Path | None]]],
                        aligned: bool) -> dict[str, list[tuple[Path, Path | None]]]:
        """Check every file once; drop each pair with an unreadable side (aligned: an unreadable file, or
        one narrower than 2 pixels, which holds no A|B), warn once, and warn about odd sizes."""
        files = [path for pairs in found.values() for pair in pairs for path in pair if path is not None]
        checked = self.verify_files(files)
        bad = checked.bad
        if aligned:
            for path in files:
                if path not in bad and checked.size(path)[0] < 2:
                    width, height = checked.size(path)
                    bad[path] = f"{width}x{height} is too narrow to hold A and B side by side"

        def readable(pair: tuple[Path, Path | None]) -> bool:
            return pair[0] not in bad and (pair[1] is None or pair[1] not in bad)

        kept = {split: [pair for pair in pairs if readable(pair)] for split, pairs in found.items()}
        lost = {pair for pairs in found.values() for pair in pairs if not readable(pair)}
        partners = sum(1 for a, b in lost if b is not None and (a in bad) != (b in bad))
        note = ""
        if not aligned and lost:
            note = (f"; {len(lost)} pair{'s' if len(lost) > 1 else ''} with an unreadable side dropped"
                    + (f" ({partners} readable partner{'s' if partners > 1 else ''} not used)" if partners else ""))
        self.skip_bad_files(bad, usable=len(kept["train"]), note=note)
        if aligned:
            sizes = [(a, (checked.size(a)[0] // 2, checked.size(a)[1])) for pairs in kept.values() for a, _ in pairs]
        else:
            sizes = [(p, checked.size(p)) for pairs in kept.values() for pair in pairs for p in pair if p is not None]
        self.warn_odd_sizes(dict(sizes).items())
        return kept

    def make_dataset(self, split: str, augment: bool) -> Dataset:
        return PairedFolderDataset(self._sources[split], self.file_channels, self.transform(train=augment), self.swap)


@register_datamodule("unpaired_folder", summary="Unpaired image folders (CycleGAN): trainA/ trainB/ testA/ testB/")
class UnpairedFolderDataModule(_FolderTranslationDataModule):
    """Two unaligned image domains from a folder or a published CycleGAN set, for CycleGAN.

    Layout: ``root/trainA/``, ``root/trainB/``, ``root/testA/``, ``root/testB/``;
    validation uses ``valA/`` + ``valB/`` when present, else the test folders
    (and test falls back to val); without either both are empty and a warning says so.

    Training: an epoch has ``max(|A|, |B|)`` items (shuffled); item ``i`` holds
    ``A[i % |A|]`` and a B drawn uniformly at random with torch's global RNG
    (new every epoch; reproducible with ``seed_everything``; see
    :class:`~datamodules.image_datasets.UnpairedDataset`), each side with its
    own random crop and flip.  Validation/test (no ground truth; for FID per
    direction): item ``i`` holds ``A[i % |A|]`` and ``B[i % |B|]`` for
    ``max(|A|, |B|)`` items, deterministic transforms, file order.

    Unreadable files are skipped on each side independently (one warning; ``strict=True``
    raises instead); a training side with no readable image left is an error.

    Args: as :class:`PairedFolderDataModule`, except that ``dataset`` names a
    CycleGAN set (:data:`~datamodules.published.CYCLEGAN_DATASETS`, read from ``{data_dir}/cyclegan/{dataset}``).
    """

    paired = False
    eval_has_ground_truth = False

    def find_sources(self) -> dict[str, tuple[list[Path], list[Path]]]:
        """``{split: (a_files, b_files)}``."""
        layout = detect_layout(self.root)
        if layout != "unpaired":
            raise ValueError(f"{self.root} has the {layout!r} layout; an unpaired folder needs "
                             f"trainA/ and trainB/:\n{LAYOUT_HELP}")
        found: dict[str, tuple[list[Path], list[Path]]] = {}
        for split in SPLITS:
            folder_a, folder_b = self.root / f"{split}A", self.root / f"{split}B"
            if folder_a.is_dir() or folder_b.is_dir():
                found[split] = (list_images(folder_a), list_images(folder_b))
        if "train" not in found:
            raise FileNotFoundError(f"no training folders trainA/ and trainB/ in {self.root}\n{LAYOUT_HELP}")
        checked = self.verify_files(path for a, b in found.values() for path in (*a, *b))
        bad = checked.bad
        found = {split: ([p for p in a if p not in bad], [p for p in b if p not in bad]) for split, (a, b) in found.items()}
        self.skip_bad_files(bad, usable=min(len(side) for side in found["train"]))
        self.warn_odd_sizes({p: checked.size(p) for a, b in found.values() for p in (*a, *b)}.items())
        return fill_eval_splits(found, ([], []), str(self.root))

    def make_dataset(self, split: str, augment: bool) -> Dataset:
        files_a, files_b = self._sources[split]
        transform = self.transform(train=augment)
        channels_a, channels_b = self.file_channels
        return UnpairedDataset(FolderSide(files_a, channels_a, transform), FolderSide(files_b, channels_b, transform),
                               random_b=augment, swap=self.swap)
