"""The DataModules of the GAN zoo (in-memory images, image folders, translation tasks), by name.

>>> from datamodules import list_datamodules, get_datamodule_class
>>> list_datamodules()
['cifar10', 'circle', 'digit_outlines', 'digit_strokes', 'digits', 'image_folder', 'labelled_folder', 'mnist', 'paired_folder', 'unpaired_folder']
>>> get_datamodule_class("digits")(image_size=16).image_shape
(1, 16, 16)

``digits`` ships with the package (offline default); ``mnist`` and ``cifar10``
read the standard files and download them when they can; ``labelled_folder``
reads a folder with one sub-folder of images per class (torchvision's
``ImageFolder`` layout) for the class-conditional models; ``circle`` is a 2-D
toy (points on a ring, not images).  Image-to-image data (batches are dicts,
see :mod:`datamodules.translation`): ``paired_folder`` and ``unpaired_folder``
read pix2pix / CycleGAN folders or download the published sets,
``image_folder`` is a plain folder of images, and ``digit_outlines`` /
``digit_strokes`` are small embedded translation tasks built from ``digits``.
See ``docs/data.md``.
"""

from __future__ import annotations

# Importing the built-in data sets registers them.
from datamodules.base import DataNotFoundError, ImageDataModule
from datamodules.cifar10 import CIFAR10DataModule
from datamodules.digits import DigitsDataModule
from datamodules.folders import ImageFolderDataModule, PairedFolderDataModule, UnpairedFolderDataModule
from datamodules.labelled import LabelledFolderDataModule
from datamodules.layouts import detect_layout
from datamodules.mnist import MNISTDataModule, read_idx
from datamodules.toy import CircleDataModule
from datamodules.registry import DATAMODULES, UnknownNameError, register_datamodule
from datamodules.translation import TranslationDataModule
from datamodules.translation_tasks import DigitOutlinesDataModule, DigitStrokesDataModule
from datamodules.verify import BadImagesError


def list_datamodules(pattern: str | None = None) -> list[str]:
    """Registered data set names, sorted; ``pattern`` is a wildcard such as ``"*st"``."""
    return DATAMODULES.names(pattern)


def get_datamodule_class(name: str) -> type:
    """The DataModule class registered as ``name``; unknown names raise :class:`UnknownNameError`."""
    return DATAMODULES.get(name)


def create_datamodule(name: str, **kwargs):
    """Build the DataModule registered as ``name`` with its constructor keyword arguments."""
    return get_datamodule_class(name)(**kwargs)


__all__ = [
    "DATAMODULES",
    "BadImagesError",
    "CIFAR10DataModule",
    "CircleDataModule",
    "DataNotFoundError",
    "DigitOutlinesDataModule",
    "DigitStrokesDataModule",
    "DigitsDataModule",
    "ImageDataModule",
    "ImageFolderDataModule",
    "LabelledFolderDataModule",
    "MNISTDataModule",
    "PairedFolderDataModule",
    "TranslationDataModule",
    "UnknownNameError",
    "UnpairedFolderDataModule",
    "create_datamodule",
    "detect_layout",
    "get_datamodule_class",
    "list_datamodules",
    "read_idx",
    "register_datamodule",
]
