"""Image folders as data sets: plain folders, and paired / unpaired image-to-image folders.

Reading files
    ``list_images`` finds the image files under a folder (recursive, sorted,
    hidden files skipped); ``open_image`` opens one in any mode (grey, RGB,
    RGBA, palette, 16-bit) as a PIL image of 1 or 3 channels; ``load_image``
    returns it as float32 ``(C, H, W)`` in ``[-1, 1]``.  ``ImageFolderDataset``
    serves every file of a folder as ``(image, -1)`` (``zoo.evaluate --real DIR``).

Image-to-image batches (the contract of the Pix2Pix / CycleGAN models)
    Every paired or unpaired batch is a dict::

        {"A": float32 (N, Ca, H, W) in [-1, 1], "B": float32 (N, Cb, H, W) in [-1, 1],
         "A_label": int64 (N,), "B_label": int64 (N,), "A_name": list[str], "B_name": list[str]}

    ``A`` is always the model's input side and ``B`` its target (paired) or
    other domain (unpaired): with ``direction="BtoA"`` the files' sides are
    swapped before the batch is made.  Labels are -1 when unknown (folders);
    names are file names (``stem + suffix``) so translations can keep them.

Folder layouts (:func:`detect_layout`)
    * ``"aligned"``: ``root/train/``, ``root/val/``, ``root/test/``, each image
      the A and B pictures side by side (A is the left half): the pix2pix sets.
    * ``"two_folders"``: ``root/A/`` and ``root/B/`` holding files of the same
      names (the suffix may differ: ``A/0001.png`` pairs with ``B/0001.jpg``),
      optionally split into ``A/train``, ``A/val``, ``A/test`` and the same under ``B/``.
    * ``"unpaired"``: ``root/trainA/``, ``root/trainB/``, ``root/testA/``,
      ``root/testB/`` (``valA/``, ``valB/`` used when present): the CycleGAN sets.
    * ``"plain"``: any other folder holding images (``ImageFolderDataModule``).

Preprocessing (``preprocess``; ``image_size`` is the output side, ``load_size``
the intermediate one, by default ``round(image_size * 286 / 256)``)
    =======================  =========================================  ==============================
    policy                   training (random)                          validation / test
    =======================  =========================================  ==============================
    ``resize_and_crop``      resize to load_size², random image_size²   resize to image_size²
                             crop
    ``scale_width_and_crop`` width -> load_size (aspect kept, height    width -> image_size, centre
                             >= image_size), random image_size² crop    image_size² crop
    ``crop``                 random image_size² crop at native scale    centre image_size² crop
                             (images smaller than image_size are
                             first scaled up to it)
    ``scale_width``          width -> image_size, height keeps the      the same
                             aspect ratio rounded to a multiple of 4
    ``none``                 native size, each side rounded to the      the same
                             nearest multiple of 4 (at least 4)
    ``resize``               resize to image_size² (no crop)            the same
    =======================  =========================================  ==============================

    With ``flip=True`` training images are also mirrored left-right at random.
    Paired A and B get the very same resize, crop and flip (B is first resized
    to A's size when the two files differ in size).  ``scale_width`` and
    ``none`` keep each image's own height (and width), so batches of more than
    one image need images of one size; the ``input_shape`` of such a DataModule
    is nominal (``fixed_size`` is False).

Published data sets (``dataset="horse2zebra"``)
    :data:`CYCLEGAN_DATASETS` (unpaired, ``.zip``) and :data:`PIX2PIX_DATASETS`
    (aligned, ``.tar.gz``) are the archives published by the CycleGAN and
    pix2pix authors.  They are downloaded into ``{data_dir}/cyclegan/`` or
    ``{data_dir}/pix2pix/`` and extracted there, giving ``{data_dir}/cyclegan/horse2zebra/trainA`` etc.
"""

from __future__ import annotations

import tarfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_warn
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from datamodules import register_datamodule
from datamodules.base import (
    SPLITS,
    DataNotFoundError,
    ImageDataModule,
    InMemoryDataModule,
    check_image_size,
    split_off,
)
from datamodules.mnist import default_data_dir
from zoo.registry import UnknownNameError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

Direction = Literal["AtoB", "BtoA"]
Preprocess = Literal["resize_and_crop", "scale_width", "scale_width_and_crop", "crop", "none", "resize"]
Layout = Literal["aligned", "two_folders", "unpaired", "plain"]

DIRECTIONS: tuple[str, ...] = get_args(Direction)
PREPROCESS_POLICIES: tuple[str, ...] = get_args(Preprocess)
CROP_POLICIES = ("resize_and_crop", "scale_width_and_crop", "crop")

LAYOUT_HELP = """\
Image-to-image folder layouts:
  paired, aligned (pix2pix):  ROOT/train/, ROOT/val/, ROOT/test/ - each image is A and B side by side (A left)
  paired, two folders:        ROOT/A/ and ROOT/B/ with files of the same names (A/0001.png <-> B/0001.jpg),
                              optionally split into ROOT/A/train, ROOT/A/val, ROOT/A/test (and the same in ROOT/B/)
  unpaired (CycleGAN):        ROOT/trainA/, ROOT/trainB/, ROOT/testA/, ROOT/testB/ (valA/, valB/ optional)
  plain:                      any other folder of images (unconditional training)"""


# -- reading image files -------------------------------------------------------------------


def list_images(folder: str | Path) -> list[Path]:
    """Image files under ``folder`` (recursive, hidden files and folders skipped), sorted; an error if none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    )
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {folder}")
    return files


def check_channels(channels: int, name: str = "channels") -> int:
    """Validate a channel count (1 = grey, 3 = RGB)."""
    if channels not in (1, 3):
        raise ValueError(f"{name} must be 1 (grey) or 3 (RGB), got {channels}")
    return channels


def open_image(path: str | Path, channels: int = 3) -> Image.Image:
    """One image file as a PIL image in mode ``"L"`` (``channels=1``) or ``"RGB"`` (``channels=3``);
    see :func:`convert_image` for the conversions."""
    check_channels(channels)
    with Image.open(path) as image:
        return convert_image(image, channels)


def convert_image(image: Image.Image, channels: int = 3) -> Image.Image:
    """A PIL image of any mode as ``"L"`` (``channels=1``) or ``"RGB"`` (``channels=3``).

    16-bit images (modes ``I;16*``, and ``I`` with values above 255) are scaled
    by 255/65535; float images (``F``) with values up to 1 are scaled by 255;
    transparent images (RGBA, LA, palette with transparency) are composited on
    white; colour becomes grey by the ITU-R 601 luma and grey becomes RGB by
    repeating it.
    """
    check_channels(channels)
    if image.mode.startswith("I") or image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16") or (image.mode == "I" and array.max(initial=0) > 255):
            array = array / 257.0
        elif image.mode == "F" and array.max(initial=0) <= 1.0:
            array = array * 255.0
        image = Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image.convert("L" if channels == 1 else "RGB")


def to_tensor(image: Image.Image) -> Tensor:
    """A PIL ``"L"`` or ``"RGB"`` image -> float32 ``(C, H, W)`` in ``[-1, 1]``."""
    tensor = torch.from_numpy(np.array(image, dtype=np.uint8))
    tensor = tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    return tensor.float().div_(127.5).sub_(1.0)


def load_image(path: Path, channels: int = 3, size: int | None = None) -> Tensor:
    """One image as float32 (channels, H, W) in [-1, 1]; any mode is converted (see :func:`open_image`).

    ``size`` resizes to ``size`` x ``size`` (bicubic); ``None`` keeps the image's size.
    """
    image = open_image(path, channels)
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.BICUBIC)
    return to_tensor(image)


class ImageFolderDataset(Dataset):
    """All images under ``folder`` as ``(image, -1)`` pairs (no labels).

    Args:
        folder: the root folder (searched recursively).
        channels: 1 (grey) or 3 (RGB); images are converted.
        size: resize to ``size`` x ``size`` (bicubic); ``None`` keeps each image's size.
    """

    def __init__(self, folder: str | Path, channels: int = 3, size: int | None = None) -> None:
        check_channels(channels)
        self.folder, self.channels, self.size = Path(folder), channels, size
        self.files = list_images(folder)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return load_image(self.files[index], self.channels, self.size), torch.tensor(-1)


# -- preprocessing ---------------------------------------------------------------------------


def default_load_size(image_size: int) -> int:
    """The pix2pix/CycleGAN ratio: load 286 for a 256 crop."""
    return round(image_size * 286 / 256)


def _multiple_of_4(value: float) -> int:
    return max(4, round(value / 4) * 4)


class TransformParams(NamedTuple):
    """The random choices of one transform: shared by A and B of a pair."""

    resize: tuple[int, int]  # (width, height) after the resize step
    crop: tuple[int, int] | None  # top-left (x, y) of the image_size² crop
    flip: bool


@dataclass(frozen=True)
class ImageTransform:
    """Resize, crop and flip by a ``preprocess`` policy (see the module docstring), then to ``[-1, 1]``.

    ``train=False`` gives the deterministic validation/test version (no random
    crop, no flip).  :meth:`sample` draws the random choices (torch's global RNG)
    for an image size so that two images can share them.
    """

    preprocess: Preprocess
    image_size: int
    load_size: int
    flip: bool = False
    train: bool = True

    def __post_init__(self) -> None:
        check_preprocess(self.preprocess)
        check_image_size(self.image_size)
        if self.preprocess in CROP_POLICIES and self.load_size < self.image_size:
            raise ValueError(f"load_size ({self.load_size}) must be >= image_size ({self.image_size}) "
                             f"for preprocess={self.preprocess!r}")

    @property
    def fixed_size(self) -> bool:
        """Whether every output is ``image_size`` x ``image_size`` (not so for ``scale_width`` and ``none``)."""
        return self.preprocess not in ("scale_width", "none")

    def resized(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` after the resize step of the policy."""
        size, load = self.image_size, (self.load_size if self.train else self.image_size)
        policy = self.preprocess
        if policy == "resize":
            return size, size
        if policy == "resize_and_crop":
            return load, load
        if policy == "scale_width_and_crop":
            return load, max(round(load * height / width), size)
        if policy == "scale_width":
            return size, _multiple_of_4(size * height / width)
        if policy == "crop":
            scale = max(1.0, size / min(width, height))
            return max(size, round(width * scale)), max(size, round(height * scale))
        return _multiple_of_4(width), _multiple_of_4(height)  # "none"

    def sample(self, size: tuple[int, int]) -> TransformParams:
        """Random (training) or fixed (validation) choices for an image of ``size`` = (width, height)."""
        width, height = self.resized(*size)
        crop = None
        if self.preprocess in CROP_POLICIES:
            room_x, room_y = width - self.image_size, height - self.image_size
            if self.train:
                crop = (int(torch.randint(room_x + 1, ())), int(torch.randint(room_y + 1, ())))
            else:
                crop = (room_x // 2, room_y // 2)
        flip = self.train and self.flip and bool(torch.rand(()) < 0.5)
        return TransformParams((width, height), crop, flip)

    def __call__(self, image: Image.Image, params: TransformParams | None = None) -> Tensor:
        """Apply ``params`` (drawn now when ``None``) to a PIL image; float32 ``(C, H, W)`` in ``[-1, 1]``."""
        if params is None:
            params = self.sample(image.size)
        if image.size != params.resize:
            image = image.resize(params.resize, Image.BICUBIC)
        if params.crop is not None:
            x, y = params.crop
            image = image.crop((x, y, x + self.image_size, y + self.image_size))
        if params.flip:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return to_tensor(image)


def check_preprocess(preprocess: str) -> str:
    """Validate a ``preprocess`` policy name."""
    if preprocess not in PREPROCESS_POLICIES:
        raise ValueError(f"unknown preprocess {preprocess!r}; valid choices: {', '.join(PREPROCESS_POLICIES)}")
    return preprocess


def check_direction(direction: str) -> str:
    """Validate a ``direction``."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}; valid choices: {', '.join(DIRECTIONS)}")
    return direction


# -- image-to-image data sets ------------------------------------------------------------------

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
    """One domain read from files, each transformed with its own random choices; labels -1."""

    def __init__(self, files: list[Path], channels: int, transform: ImageTransform) -> None:
        self.files, self.channels, self.transform = files, check_channels(channels), transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Sample:
        path = self.files[index]
        return self.transform(open_image(path, self.channels)), -1, path.name


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
    """Image pairs from files, A and B transformed with the same random choices.

    Args:
        pairs: ``(a_file, b_file)``; ``b_file=None`` means ``a_file`` holds A|B side by side.
        channels: Channels of the files' A and B sides.
        transform: Applied to both sides with shared :class:`TransformParams`.
        swap: Exchange the sides in the items (``direction="BtoA"``).
    """

    def __init__(self, pairs: list[tuple[Path, Path | None]], channels: tuple[int, int],
                 transform: ImageTransform, swap: bool = False) -> None:
        self.pairs, self.channels, self.transform, self.swap = pairs, channels, transform, swap

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[Image.Image, Image.Image]:
        """The untransformed A and B images of pair ``index`` (B at A's size)."""
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
        a, b = self.load(index)
        params = self.transform.sample(a.size)
        path_a, path_b = self.pairs[index]
        name_b = (path_b or path_a).name
        return pair_item((self.transform(a, params), -1, path_a.name),
                         (self.transform(b, params), -1, name_b), self.swap)


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


# -- layouts ------------------------------------------------------------------------------


def _has_images(folder: Path) -> bool:
    try:
        list_images(folder)
    except FileNotFoundError:
        return False
    return True


def detect_layout(root: str | Path) -> Layout:
    """Which layout ``root`` has: ``"unpaired"``, ``"two_folders"``, ``"aligned"`` or ``"plain"``.

    Checked in that order: ``trainA/`` + ``trainB/`` (or ``testA/`` + ``testB/``)
    is unpaired; ``A/`` + ``B/`` is two folders; a ``train/``, ``val/`` or
    ``test/`` subfolder is aligned; any other folder with images is plain.  A
    missing folder, or one without images, raises ``FileNotFoundError`` listing the layouts.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist\n{LAYOUT_HELP}")
    if any((root / f"{s}A").is_dir() and (root / f"{s}B").is_dir() for s in SPLITS):
        return "unpaired"
    if (root / "A").is_dir() and (root / "B").is_dir():
        return "two_folders"
    if any((root / s).is_dir() for s in SPLITS):
        return "aligned"
    if _has_images(root):
        return "plain"
    raise FileNotFoundError(f"no images under {root}\n{LAYOUT_HELP}")


def match_pairs(folder_a: Path, folder_b: Path) -> list[tuple[Path, Path]]:
    """Files of ``folder_a`` and ``folder_b`` paired by relative path without suffix; mismatches are an error."""

    def by_key(folder: Path) -> dict[str, Path]:
        files: dict[str, Path] = {}
        for path in list_images(folder):
            key = path.relative_to(folder).with_suffix("").as_posix()
            if key in files:
                raise ValueError(f"two files of one name in {folder}: {files[key].name} and {path.name}")
            files[key] = path
        return files

    a, b = by_key(folder_a), by_key(folder_b)
    only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    if only_a or only_b:
        def few(keys: list[str]) -> str:
            return ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")

        lines = [f"the files of {folder_a} and {folder_b} do not match (they are paired by name, the suffix aside):"]
        if only_a:
            lines.append(f"  {len(only_a)} A files without a B partner: {few(only_a)}")
        if only_b:
            lines.append(f"  {len(only_b)} B files without an A partner: {few(only_b)}")
        raise ValueError("\n".join(lines))
    return [(a[key], b[key]) for key in sorted(a)]


def fill_eval_splits(found: dict[str, Any], empty: Any, where: str) -> dict[str, Any]:
    """Complete ``{split: sources}``: val falls back to test and vice versa; neither -> both empty and a warning."""
    if "val" not in found and "test" not in found:
        rank_zero_warn(f"{where}: no validation or test folder; the val and test sets are empty")
        found["val"] = found["test"] = empty
    found.setdefault("val", found.get("test"))
    found.setdefault("test", found["val"])
    return found


# -- published data sets -----------------------------------------------------------------------

CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
CYCLEGAN_MIRROR = "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/{name}.zip"
PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"


@dataclass(frozen=True)
class PublishedDataset:
    """One archive published by the CycleGAN or pix2pix authors.

    ``direction`` is the default direction of the DataModule (the task of the
    paper, e.g. facades labels -> photo is ``"BtoA"`` since the files hold the
    photo on the left); ``note`` says what A and B are where known.
    """

    name: str
    kind: Literal["cyclegan", "pix2pix"]
    url: str
    direction: Direction = "AtoB"
    note: str = ""
    downloadable: bool = True
    mirrors: tuple[str, ...] = ()

    @property
    def archive(self) -> str:
        """The archive's file name, e.g. ``horse2zebra.zip``."""
        return self.url.rsplit("/", 1)[-1]

    def folder(self, data_dir: str | Path) -> Path:
        """Where the extracted set lives: ``{data_dir}/{kind}/{name}``."""
        return Path(data_dir) / self.kind / self.name

    def ready(self, data_dir: str | Path) -> bool:
        """Whether the extracted training folders exist."""
        folder = self.folder(data_dir)
        needed = ("trainA", "trainB") if self.kind == "cyclegan" else ("train",)
        return all((folder / name).is_dir() for name in needed)


def _cyclegan(name: str, note: str = "") -> PublishedDataset:
    mirror = CYCLEGAN_MIRROR.format(name=name)
    return PublishedDataset(name, "cyclegan", CYCLEGAN_URL.format(name=name), "AtoB", note, mirrors=(mirror,))


def _pix2pix(name: str, direction: Direction, note: str = "", downloadable: bool = True) -> PublishedDataset:
    return PublishedDataset(name, "pix2pix", PIX2PIX_URL.format(name=name), direction, note, downloadable)


CYCLEGAN_DATASETS: dict[str, PublishedDataset] = {
    d.name: d
    for d in (
        _cyclegan("apple2orange", "A apples, B oranges (ImageNet)"),
        _cyclegan("summer2winter_yosemite", "A summer, B winter photos of Yosemite (Flickr)"),
        _cyclegan("horse2zebra", "A horses, B zebras (ImageNet)"),
        _cyclegan("monet2photo", "A Monet paintings, B landscape photos"),
        _cyclegan("cezanne2photo", "A Cezanne paintings, B landscape photos"),
        _cyclegan("ukiyoe2photo", "A Ukiyo-e prints, B landscape photos"),
        _cyclegan("vangogh2photo", "A Van Gogh paintings, B landscape photos"),
        _cyclegan("maps", "aerial photos and Google maps"),
        _cyclegan("cityscapes", "street photos and semantic label maps"),
        _cyclegan("facades", "facade photos and label maps (CMP Facades)"),
        _cyclegan("iphone2dslr_flower", "A iPhone, B DSLR flower photos (Flickr)"),
        _cyclegan("ae_photos", "a few test photos for the style models (no training split)"),
    )
}
"""The CycleGAN (unpaired) archives, by name: ``{CYCLEGAN_URL}``, extracted to ``{data_dir}/cyclegan/{name}/``."""

PIX2PIX_DATASETS: dict[str, PublishedDataset] = {
    d.name: d
    for d in (
        _pix2pix("facades", "BtoA", "A photo, B label map; labels -> photo is BtoA (CMP Facades)"),
        _pix2pix("cityscapes", "BtoA", "A photo, B label map; not distributed by the authors (licence)", False),
        _pix2pix("maps", "AtoB", "A aerial photo, B map (Google Maps)"),
        _pix2pix("edges2shoes", "AtoB", "A edges, B shoe photo (UT Zappos50K)"),
        _pix2pix("edges2handbags", "AtoB", "A edges, B handbag photo (iGAN)"),
        _pix2pix("night2day", "AtoB", "night and day photos of one scene (Laffont et al.)"),
    )
}
"""The pix2pix (aligned) archives, by name: ``{PIX2PIX_URL}``, extracted to ``{data_dir}/pix2pix/{name}/``."""


def download_file(url: str, path: Path, progress: bool = True) -> Path:
    """Stream ``url`` to ``path`` (through ``path.part``), with a progress bar."""
    from tqdm.auto import tqdm

    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": "gan-zoo"})
    with urllib.request.urlopen(request, timeout=60) as response, open(part, "wb") as fh:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=path.name, disable=not progress) as bar:
            while chunk := response.read(1 << 20):
                fh.write(chunk)
                bar.update(len(chunk))
    part.replace(path)
    return path


def extract_archive(archive: Path, into: Path) -> None:
    """Extract a ``.zip`` or ``.tar(.gz)`` into ``into``, refusing members that would land outside it."""
    into.mkdir(parents=True, exist_ok=True)
    target = into.resolve()

    def check(names: list[str]) -> None:
        for member in names:
            if not (target / member).resolve().is_relative_to(target):
                raise ValueError(f"{archive}: member {member!r} would be extracted outside {into}")

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            check(zf.namelist())
            zf.extractall(into)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            check(tf.getnames())
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python >= 3.10.12
            tf.extractall(into, **safe)
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")


def published_dataset(name: str, paired: bool) -> PublishedDataset:
    """The pix2pix (``paired=True``) or CycleGAN entry ``name``; unknown names list the valid ones."""
    catalogue, other = (PIX2PIX_DATASETS, CYCLEGAN_DATASETS) if paired else (CYCLEGAN_DATASETS, PIX2PIX_DATASETS)
    if name in catalogue:
        return catalogue[name]
    kind = "paired (pix2pix)" if paired else "unpaired (CycleGAN)"
    hint = ""
    if name in other:
        use = "UnpairedFolderDataModule" if paired else "PairedFolderDataModule"
        hint = f" (it is published {'unpaired' if paired else 'paired'} only: use {use})"
    raise UnknownNameError(f"unknown {kind} data set {name!r}{hint}; valid choices: {', '.join(sorted(catalogue))}")


def datamodule_for(spec: str, paired: bool | None = None) -> tuple[str, dict[str, Any]] | None:
    """``(registered DataModule name, constructor kwargs)`` for a folder path or a published set name.

    A folder is read by its :func:`detect_layout`: aligned or two folders ->
    ``paired_folder``, unpaired -> ``unpaired_folder``, plain -> ``image_folder``.
    A published name picks the catalogue; names in both (facades, maps,
    cityscapes) need ``paired``.  Anything else returns ``None``.
    """
    if Path(spec).is_dir():
        name = {"aligned": "paired_folder", "two_folders": "paired_folder",
                "unpaired": "unpaired_folder", "plain": "image_folder"}[detect_layout(spec)]
        return name, {"root": spec}
    in_pix2pix, in_cyclegan = spec in PIX2PIX_DATASETS, spec in CYCLEGAN_DATASETS
    if in_pix2pix and in_cyclegan and paired is None:
        raise ValueError(f"{spec!r} is published both paired (pix2pix) and unpaired (CycleGAN); say which")
    if in_pix2pix and (paired or not in_cyclegan):
        return "paired_folder", {"dataset": spec}
    if in_cyclegan:
        return "unpaired_folder", {"dataset": spec}
    return None


# -- DataModules -----------------------------------------------------------------------------


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


class _FolderTranslationDataModule(TranslationDataModule):
    """Shared by the paired and unpaired folder DataModules: root or published set, transforms, download."""

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
        self.preprocess = check_preprocess(preprocess)
        self.load_size = load_size or default_load_size(image_size)
        self.flip = flip
        self.transform(train=True)  # validates load_size against image_size

    @property
    def fixed_size(self) -> bool:
        """Whether batches are ``image_size`` x ``image_size`` (False for ``scale_width`` and ``none``)."""
        return self.transform().fixed_size

    def transform(self, train: bool = False) -> ImageTransform:
        """The training (random) or validation/test (deterministic) transform."""
        return ImageTransform(self.preprocess, self.image_size, self.load_size, self.flip, train)  # type: ignore[arg-type]

    # -- published sets -----------------------------------------------------------------

    def _not_found(self, cause: BaseException | None = None) -> DataNotFoundError:
        info = self.published
        assert info is not None
        parent = self.root.parent
        needed = ["trainA/", "trainB/", "testA/", "testB/"] if info.kind == "cyclegan" else ["train/", "val/"]
        hint = (f"Extract {info.archive} into {parent} so that {self.root / needed[0]} exists. The root folder "
                f"comes from --data.data_dir, else the ZOO_DATA_DIR variable, else ./data (now {self.data_dir}).")
        urls: list[str] = [info.url, *info.mirrors]
        if not info.downloadable:
            hint = (f"{info.name} is not distributed by the pix2pix authors (licence): download "
                    "gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip from the Cityscapes site and put "
                    f"photo|label images side by side in {self.root}/train and {self.root}/val.")
            urls = ["https://www.cityscapes-dataset.com"]
            cause = cause or RuntimeError("this data set cannot be downloaded automatically")
        kind = "CycleGAN" if info.kind == "cyclegan" else "pix2pix"
        return DataNotFoundError.for_files(f"{info.name} ({kind})", self.root, needed, urls, hint=hint,
                                           download=self.download, cause=cause)

    def prepare_data(self) -> None:
        """Download and extract a published set when it is missing and ``download`` is true, else raise."""
        info = self.published
        if info is None or info.ready(self.data_dir):
            return
        if not self.download or not info.downloadable:
            raise self._not_found()
        parent = self.root.parent
        archive = parent / info.archive
        try:
            if not archive.is_file():
                download_file(info.url, archive)
            extract_archive(archive, parent)
        except Exception as exc:  # offline, server down, corrupt archive, ...
            raise self._not_found(cause=exc) from exc
        if not info.ready(self.data_dir):
            raise self._not_found(cause=RuntimeError(f"{archive.name} did not contain {info.name}/"))
        archive.unlink()

    def _check_root(self) -> None:
        if self.published is not None and not self.published.ready(self.data_dir):
            raise self._not_found()

    # -- splits -------------------------------------------------------------------------

    def build_datasets(self) -> dict[str, Dataset]:
        """Find each split's files, then build the training (augmented) and evaluation data sets."""
        self._check_root()
        self._sources = self.find_sources()
        return {split: self.make_dataset(split, augment=split == "train") for split in SPLITS}

    def split_dataset(self, split: str, augment: bool = False) -> Dataset:
        """The ``"train"``, ``"val"`` or ``"test"`` data set; ``augment=True`` gives the random
        training transforms (and random B pairing when unpaired), else the deterministic ones."""
        dataset = super().split_dataset(split)
        if split == "train" and not augment:
            return self.make_dataset(split, augment=False)
        return dataset

    def find_sources(self) -> dict[str, Any]:
        """Subclasses: ``{split: files}`` for all three splits."""
        raise NotImplementedError

    def make_dataset(self, split: str, augment: bool) -> Dataset:
        """Subclasses: the data set of ``split`` (found by :meth:`find_sources`)."""
        raise NotImplementedError


@register_datamodule("paired_folder", summary="Paired image folders (pix2pix): aligned A|B images or A/ and B/")
class PairedFolderDataModule(_FolderTranslationDataModule):
    """Aligned image pairs from a folder or a published pix2pix set, for Pix2Pix.

    Layouts (detected, see :func:`detect_layout`): aligned ``root/{train,val,test}/``
    with A|B side by side (A left), or two folders ``root/A/`` and ``root/B/``
    with matching file names (optionally split into ``A/train``, ``A/val``,
    ``A/test`` and the same under ``B/``).  Validation uses ``val/`` (else
    ``test/``), test uses ``test/`` (else ``val/``); neither is ever trained on;
    without either, both are empty and a warning says so.  A flat ``A/`` + ``B/``
    is all training data.

    A and B get identical resizes, crops and flips (see the module docstring).

    Args:
        root: The folder (give ``root`` or ``dataset``).
        dataset: A published pix2pix set (:data:`PIX2PIX_DATASETS`), read from
            ``{data_dir}/pix2pix/{dataset}``.
        data_dir: Root data folder; ``None`` means ``$ZOO_DATA_DIR``, else ``./data``.
        direction: ``"AtoB"`` or ``"BtoA"`` (swap the sides); ``None`` means the
            published set's default (facades, cityscapes: ``BtoA``), else ``"AtoB"``.
        image_size: Side of the training crops and of validation/test images.
        load_size: Side before the random crop; ``None`` means ``round(image_size * 286 / 256)``.
        preprocess: Resize policy (module docstring).
        flip: Mirror training pairs left-right at random.
        input_channels: Channels of ``batch["A"]`` (1 grey or 3 RGB; images are converted).
        output_channels: Channels of ``batch["B"]``.
        batch_size: Pairs per batch.
        num_workers: DataLoader worker processes (images are decoded on the fly).
        download: Download a missing published set in ``prepare_data``.
        pin_memory: Page-lock batches; ``None`` means "when CUDA is available".
        persistent_workers: Keep workers between epochs; ``None`` means ``num_workers > 0``.
    """

    paired = True
    eval_has_ground_truth = True

    @property
    def layout(self) -> Layout:
        """``"aligned"`` or ``"two_folders"`` (read from the folder)."""
        layout = detect_layout(self.root)
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
        return fill_eval_splits(found, [], str(self.root))

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
    :class:`UnpairedDataset`), each side with its own random crop and flip.  Validation/test (no ground truth; for FID per
    direction): item ``i`` holds ``A[i % |A|]`` and ``B[i % |B|]`` for
    ``max(|A|, |B|)`` items, deterministic transforms, file order.

    Args: as :class:`PairedFolderDataModule`, except that ``dataset`` names a
    CycleGAN set (:data:`CYCLEGAN_DATASETS`, read from ``{data_dir}/cyclegan/{dataset}``).
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
        return fill_eval_splits(found, ([], []), str(self.root))

    def make_dataset(self, split: str, augment: bool) -> Dataset:
        files_a, files_b = self._sources[split]
        transform = self.transform(train=augment)
        channels_a, channels_b = self.file_channels
        return UnpairedDataset(FolderSide(files_a, channels_a, transform), FolderSide(files_b, channels_b, transform),
                               random_b=augment, swap=self.swap)


class _PlainFolderImages(Dataset):
    """Files as ``(image, -1)`` through a transform (the unconditional batches)."""

    def __init__(self, files: list[Path], channels: int, transform: ImageTransform) -> None:
        self.side = FolderSide(files, channels, transform)

    def __len__(self) -> int:
        return len(self.side)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.side[index][0], torch.tensor(-1)


class _PredictImages(Dataset):
    """Files as ``{"A": image, "A_label": -1, "A_name": name}`` (the input side of a translation)."""

    def __init__(self, side: FolderSide) -> None:
        self.side = side

    def __len__(self) -> int:
        return len(self.side)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, label, name = self.side[index]
        return {"A": image, "A_label": label, "A_name": name}


@register_datamodule("image_folder", summary="A plain folder of images (unconditional training or translation input)")
class ImageFolderDataModule(ImageDataModule):
    """Every image under ``root`` (recursive), unlabelled: batches ``(images, labels)`` with labels -1.

    For unconditional training (``image_shape``, ``num_classes = None`` as the
    other image DataModules) and, through :meth:`predict_dataloader`, as the
    input of a translation model: all files in order, deterministic transform,
    items ``{"A": image, "A_label": -1, "A_name": file name}``.

    Args:
        root: The folder.
        image_size: Output side (see ``preprocess``).
        channels: 1 (grey) or 3 (RGB); images are converted.
        preprocess: Resize policy (``folders`` module docstring); ``"resize"``
            (the default) squashes each image to ``image_size`` x ``image_size``.
        load_size: Side before a random crop; ``None`` means ``round(image_size * 286 / 256)``.
        flip: Mirror training images left-right at random.
        val_fraction: Share of the files held out (fixed seed) for validation;
            the test set is the same files.  0 gives empty val/test sets.
        batch_size: Images per batch.
        num_workers: DataLoader worker processes (images are decoded on the fly).
        pin_memory: Page-lock batches; ``None`` means "when CUDA is available".
        persistent_workers: Keep workers between epochs; ``None`` means ``num_workers > 0``.
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
    ) -> None:
        super().__init__(batch_size, num_workers, pin_memory, persistent_workers, random_flip=False)
        self.save_hyperparameters()
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.root = Path(root).expanduser()
        self.image_size = check_image_size(image_size)
        self.channels = check_channels(channels)
        self.preprocess = check_preprocess(preprocess)
        self.load_size = load_size or default_load_size(image_size)
        self.flip = flip
        self.val_fraction = val_fraction
        self.transform(train=True)  # validates load_size against image_size

    def transform(self, train: bool = False) -> ImageTransform:
        """The training (random) or validation/test (deterministic) transform."""
        return ImageTransform(self.preprocess, self.image_size, self.load_size, self.flip, train)  # type: ignore[arg-type]

    def build_datasets(self) -> dict[str, Dataset]:
        """Hold out ``val_fraction`` of the files (fixed seed); test = val."""
        self.files = list_images(self.root)
        val_size = round(self.val_fraction * len(self.files))
        train_idx, val_idx = split_off(len(self.files), val_size, self.split_seed)
        self._split_files = {"train": [self.files[i] for i in train_idx], "val": [self.files[i] for i in val_idx]}
        self._split_files["test"] = self._split_files["val"]
        return {split: self._images(split, augment=split == "train") for split in SPLITS}

    def _images(self, split: str, augment: bool) -> Dataset:
        return _PlainFolderImages(self._split_files[split], self.channels, self.transform(train=augment))

    def split_dataset(self, split: str, augment: bool = False) -> Dataset:
        """Items ``(image float32 (C, H, W) in [-1, 1], label -1)``; ``augment=True`` gives the
        random training transform (train only), else the deterministic one."""
        dataset = InMemoryDataModule.split_dataset(self, split)
        return self._images(split, augment=False) if split == "train" and not augment else dataset

    def predict_dataset(self) -> Dataset:
        """Every file in order with the deterministic transform, as translation-input dicts."""
        self.setup()
        return _PredictImages(FolderSide(self.files, self.channels, self.transform(train=False)))

    def predict_dataloader(self) -> DataLoader:
        """Batches of :meth:`predict_dataset` (file order, none dropped)."""
        return self._loader(self.predict_dataset(), train=False)
