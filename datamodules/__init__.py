"""In-memory image DataModules for the GAN zoo, by name.

>>> from datamodules import list_datamodules, get_datamodule_class
>>> list_datamodules()
['cifar10', 'circle', 'digits', 'mnist']
>>> get_datamodule_class("digits")(image_size=16).image_shape
(1, 16, 16)

``digits`` ships with the package (offline default); ``mnist`` and ``cifar10``
read the standard files and download them when they can; ``circle`` is a 2-D toy
(points on a ring, not images).  See ``docs/data.md``.
"""

from __future__ import annotations

from typing import Any

from zoo.registry import Registry, UnknownNameError

DATAMODULES: Registry = Registry("data set")


def register_datamodule(name: str, *, summary: str = "", **meta: Any):
    """Class decorator registering an :class:`ImageDataModule` subclass under ``name``."""
    return DATAMODULES.register(name, summary=summary, **meta)


def list_datamodules(pattern: str | None = None) -> list[str]:
    """Registered data set names, sorted; ``pattern`` is a wildcard such as ``"*st"``."""
    return DATAMODULES.names(pattern)


def get_datamodule_class(name: str) -> type:
    """The DataModule class registered as ``name``; unknown names raise :class:`UnknownNameError`."""
    return DATAMODULES.get(name)


def create_datamodule(name: str, **kwargs: Any):
    """Build the DataModule registered as ``name`` with its constructor keyword arguments."""
    return get_datamodule_class(name)(**kwargs)


# The built-in data sets register themselves on import (after the helpers above exist).
from datamodules.base import DataNotFoundError, ImageDataModule  # noqa: E402
from datamodules.cifar10 import CIFAR10DataModule  # noqa: E402
from datamodules.digits import DigitsDataModule  # noqa: E402
from datamodules.mnist import MNISTDataModule, read_idx  # noqa: E402
from datamodules.toy import CircleDataModule  # noqa: E402

__all__ = [
    "DATAMODULES",
    "CIFAR10DataModule",
    "CircleDataModule",
    "DataNotFoundError",
    "DigitsDataModule",
    "ImageDataModule",
    "MNISTDataModule",
    "UnknownNameError",
    "create_datamodule",
    "get_datamodule_class",
    "list_datamodules",
    "read_idx",
    "register_datamodule",
]
