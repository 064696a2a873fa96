"""The data-set registry: name -> DataModule class (filled by importing :mod:`datamodules`).

Each DataModule module registers its class with :func:`register_datamodule`; the
package ``__init__`` imports them all. Keeping the registry in a module of its
own means no DataModule imports its package ``__init__`` (no registration cycle).
"""

from __future__ import annotations

from typing import Callable

from zoo.registry import Entry, Registry, UnknownNameError

DATAMODULES: Registry[Entry] = Registry("data set")

__all__ = ["DATAMODULES", "UnknownNameError", "register_datamodule"]


def register_datamodule(name: str, *, summary: str = "") -> Callable[[type], type]:
    """Class decorator registering a DataModule class under ``name``."""
    return DATAMODULES.register(name, summary=summary)
