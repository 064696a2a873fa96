"""The folder layouts of image data, and how their files are found (:func:`detect_layout`).

* ``"aligned"``: ``root/train/``, ``root/val/``, ``root/test/``, each image
  the A and B pictures side by side (A is the left half): the pix2pix sets.
* ``"two_folders"``: ``root/A/`` and ``root/B/`` holding files of the same
  names (the suffix may differ: ``A/0001.png`` pairs with ``B/0001.jpg``,
  :func:`match_pairs`), optionally split into ``A/train``, ``A/val``,
  ``A/test`` and the same under ``B/``.
* ``"unpaired"``: ``root/trainA/``, ``root/trainB/``, ``root/testA/``,
  ``root/testB/`` (``valA/``, ``valB/`` used when present): the CycleGAN sets.
* ``"labelled"``: one sub-folder of images per class (torchvision's
  ``ImageFolder`` layout), ``root/<class>/`` or split into ``root/train/<class>/``
  (``val/``, ``test/`` optional): ``LabelledFolderDataModule``.  Told from
  ``"aligned"`` and ``"plain"`` by :func:`is_labelled`: no loose images, and
  two or more sub-folders that hold images.
* ``"plain"``: any other folder holding images (``ImageFolderDataModule``).

Validation falls back to the test folders and test to the validation ones;
without either both are empty and a warning says so (:func:`fill_eval_splits`).
:data:`LAYOUT_HELP` is the text every layout error ends with.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from lightning.pytorch.utilities import rank_zero_warn

from datamodules.base import SPLITS
from zoo.images import IMAGE_EXTENSIONS, list_images

Layout = Literal["aligned", "two_folders", "unpaired", "labelled", "plain"]

LAYOUT_HELP = """\
Image folder layouts:
  paired, aligned (pix2pix):  ROOT/train/, ROOT/val/, ROOT/test/ - each image is A and B side by side (A left)
  paired, two folders:        ROOT/A/ and ROOT/B/ with files of the same names (A/0001.png <-> B/0001.jpg),
                              optionally split into ROOT/A/train, ROOT/A/val, ROOT/A/test (and the same in ROOT/B/)
  unpaired (CycleGAN):        ROOT/trainA/, ROOT/trainB/, ROOT/testA/, ROOT/testB/ (valA/, valB/ optional)
  labelled (ImageFolder):     ROOT/<class>/ (two or more class folders, no loose images), or split into
                              ROOT/train/<class>/ with ROOT/val/<class>/, ROOT/test/<class>/ optional
  plain:                      any other folder of images (unconditional training)"""


def _has_images(folder: Path) -> bool:
    try:
        list_images(folder)
    except FileNotFoundError:
        return False
    return True


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def loose_images(folder: str | Path) -> list[Path]:
    """The image files directly in ``folder`` (not in its sub-folders; hidden files skipped), sorted."""
    with os.scandir(folder) as entries:
        return sorted(Path(e.path) for e in entries if _is_image_name(e.name) and e.is_file())


def _holds_images(folder: str | Path) -> bool:
    """Whether an image lies anywhere under ``folder`` (hidden files and folders skipped); stops at the first."""
    for parent, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        if any(_is_image_name(name) and os.path.isfile(os.path.join(parent, name)) for name in files):
            return True
    return False


def is_labelled(folder: str | Path) -> bool:
    """Whether ``folder`` looks like class folders: no loose images, and two or more (non-hidden)
    sub-folders that hold images (searched recursively, stopping at the first image of each)."""
    if loose_images(folder):
        return False
    found = 0
    with os.scandir(folder) as entries:
        subfolders = sorted(e.path for e in entries if not e.name.startswith(".") and e.is_dir())
    for subfolder in subfolders:
        found += _holds_images(subfolder)
        if found >= 2:
            return True
    return False


def detect_layout(root: str | Path) -> Layout:
    """Which layout ``root`` has: ``"unpaired"``, ``"two_folders"``, ``"labelled"``, ``"aligned"`` or ``"plain"``.

    Checked in that order: ``trainA/`` + ``trainB/`` (or ``testA/`` + ``testB/``)
    is unpaired; ``A/`` + ``B/`` is two folders; a ``train/``, ``val/`` or
    ``test/`` subfolder is labelled when none of those split folders holds loose
    images and one of them has two or more sub-folders of images
    (:func:`is_labelled`), else aligned; without split folders, a root with no
    loose images and two or more sub-folders of images is labelled; any other
    folder with images is plain.  A missing folder, or one without images,
    raises ``FileNotFoundError`` listing the layouts.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist\n{LAYOUT_HELP}")
    if any((root / f"{s}A").is_dir() and (root / f"{s}B").is_dir() for s in SPLITS):
        return "unpaired"
    if (root / "A").is_dir() and (root / "B").is_dir():
        return "two_folders"
    splits = [root / s for s in SPLITS if (root / s).is_dir()]
    if splits:
        if not any(loose_images(folder) for folder in splits) and any(is_labelled(folder) for folder in splits):
            return "labelled"
        return "aligned"
    if is_labelled(root):
        return "labelled"
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
