"""The image-to-image data sets published by the CycleGAN and pix2pix authors: catalogue, download, extraction.

:data:`CYCLEGAN_DATASETS` (unpaired, ``.zip``) and :data:`PIX2PIX_DATASETS`
(aligned, ``.tar.gz``) name the archives.  :func:`fetch_published` downloads
one into ``{data_dir}/cyclegan/`` or ``{data_dir}/pix2pix/`` (torchvision's
``download_url``: redirects, progress bar), extracts it there, giving
``{data_dir}/cyclegan/horse2zebra/trainA`` etc., and deletes the archive once
the training folders are there.  The authors publish no checksums, so a set is
verified by its extracted folders (:meth:`PublishedDataset.ready`), not by an md5.

Extraction is :func:`extract_archive` rather than torchvision's: that one
calls tarfile's ``extractall`` without a filter, so a tar member named
``../x``, an absolute path or a link could land outside the data folder (and
Python 3.12+ warns); ours refuses every member (zip or tar) whose path leaves
the folder and extracts tar archives with tarfile's ``"data"`` filter.

:func:`datamodule_for` turns a folder path or a published name into the
registered DataModule that reads it (``zoo.fit --data horse2zebra``,
``zoo.fit --data path/to/class/folders``).
"""

from __future__ import annotations

import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from torchvision.datasets.utils import download_url

from datamodules.layouts import detect_layout
from zoo.images import Direction
from zoo.registry import UnknownNameError

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

    @property
    def needed(self) -> list[str]:
        """The folders an extracted set has (named in the error when it is missing)."""
        return ["trainA/", "trainB/", "testA/", "testB/"] if self.kind == "cyclegan" else ["train/", "val/"]

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


def download_archive(url: str, path: Path) -> Path:
    """Download ``url`` to ``path`` with torchvision's ``download_url``, through ``path.part``
    (so an interrupted download is never taken for the archive)."""
    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    download_url(url, str(path.parent), part.name)
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


def fetch_published(info: PublishedDataset, data_dir: str | Path) -> None:
    """Download ``info``'s archive into ``{data_dir}/{kind}/`` (unless it is there), extract it,
    and delete it once the set is :meth:`~PublishedDataset.ready`; failures raise."""
    if not info.downloadable:
        raise RuntimeError("this data set cannot be downloaded automatically")
    parent = info.folder(data_dir).parent
    archive = parent / info.archive
    if not archive.is_file():
        download_archive(info.url, archive)
    extract_archive(archive, parent)
    if not info.ready(data_dir):
        raise RuntimeError(f"{archive.name} did not contain {info.name}/")
    archive.unlink()


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

    A folder is read by its :func:`~datamodules.layouts.detect_layout`: aligned
    or two folders -> ``paired_folder``, unpaired -> ``unpaired_folder``,
    labelled (one sub-folder per class) -> ``labelled_folder`` (``paired_folder``
    for a paired model, ``paired=True``: pix2pix sets may keep their aligned
    images in sub-folders, ``train/<city>/*.jpg``), plain -> ``image_folder``.
    A published name picks the catalogue; names in both (facades, maps,
    cityscapes) need ``paired``.  Anything else returns ``None``.
    """
    if Path(spec).is_dir():
        layout = detect_layout(spec)
        if layout == "labelled" and paired:
            return "paired_folder", {"root": spec}
        name = {"aligned": "paired_folder", "two_folders": "paired_folder", "unpaired": "unpaired_folder",
                "labelled": "labelled_folder", "plain": "image_folder"}[layout]
        return name, {"root": spec}
    in_pix2pix, in_cyclegan = spec in PIX2PIX_DATASETS, spec in CYCLEGAN_DATASETS
    if in_pix2pix and in_cyclegan and paired is None:
        raise ValueError(f"{spec!r} is published both paired (pix2pix) and unpaired (CycleGAN); say which")
    if in_pix2pix and (paired or not in_cyclegan):
        return "paired_folder", {"dataset": spec}
    if in_cyclegan:
        return "unpaired_folder", {"dataset": spec}
    return None
