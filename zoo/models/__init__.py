"""One file per variant; importing this package registers them all."""

from zoo.models.base import GANModule
from zoo.models.cgan import CGAN

__all__ = ["GANModule", "CGAN"]
