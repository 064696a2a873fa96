"""Image files and tensors: reading, converting and writing images (plain torch + Pillow).

The one place where pixels enter and leave the zoo, shared by the folder data
sets (``datamodules``), ``translate()`` of the image-to-image models and the
``zoo.translate`` / ``zoo.evaluate`` commands, so a translated image is
converted exactly as a training image was. Tensors are float32 ``(C, H, W)``
in ``[-1, 1]``; images are PIL ``"L"`` (1 channel) or ``"RGB"`` (3 channels).

:func:`check_image` tells whether a file decodes (the per-file test behind the
cached, parallel verification of :mod:`datamodules.verify`); a file that does
not raises :class:`UnreadableImageError` naming it from :func:`open_image`.
Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left False: a truncated file is
an error, never an image with a grey bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

#: Which way an image-to-image model (and its data) runs: A -> B or B -> A.
Direction = Literal["AtoB", "BtoA"]
DIRECTIONS: tuple[str, ...] = get_args(Direction)


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


class UnreadableImageError(OSError):
    """An image file that Pillow cannot open or decode (empty, truncated, not an image); names the file."""


@dataclass(frozen=True)
class ImageCheck:
    """What :func:`check_image` found: the image's ``width`` x ``height`` (0 when unknown), and
    ``error`` (``None`` when the file decodes, else the reason, e.g. ``"OSError: image file is truncated"``)."""

    width: int = 0
    height: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the file decodes (and converts to grey / RGB)."""
        return self.error is None


def check_image(path: str | Path) -> ImageCheck:
    """Whether ``path`` is an image the zoo can read, checked as cheaply as that can be known.

    Three steps, any failure giving ``error``: ``Image.open`` + ``verify()`` (the header and,
    for PNG, every chunk's CRC); a real decode, ``load()``, which is what catches a truncated
    JPEG or PNG (``verify`` does not read JPEG data at all); and :func:`convert_image` to RGB
    (catches modes Pillow cannot convert). JPEGs are decoded in draft mode at 1/8 scale: the
    entropy-coded data is still read to its end, so truncation is still caught, at a fraction
    of the cost for large photos.
    """
    try:
        with Image.open(path) as image:
            width, height = image.size
            image.verify()
        with Image.open(path) as image:
            if image.format == "JPEG":
                image.draft(None, (1, 1))
            image.load()
            convert_image(image, 3)
    except Exception as err:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, ... on bad data
        message = str(err).replace(f" {str(path)!r}", "").replace(f" {path!r}", "")
        return ImageCheck(error=f"{type(err).__name__}: {message}" if message else type(err).__name__)
    return ImageCheck(width, height)


def open_image(path: str | Path, channels: int = 3) -> Image.Image:
    """One image file as a PIL image in mode ``"L"`` (``channels=1``) or ``"RGB"`` (``channels=3``);
    see :func:`convert_image` for the conversions. A file Pillow cannot read raises
    :class:`UnreadableImageError` naming it."""
    check_channels(channels)
    try:
        with Image.open(path) as image:
            return convert_image(image, channels)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        if isinstance(err, UnreadableImageError):
            raise
        raise UnreadableImageError(f"cannot read image {path}: {type(err).__name__}: {err}") from err


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


def pil_to_tensor(image: Image.Image, channels: int) -> Tensor:
    """A PIL image (any mode) -> float32 (channels, H, W) in [-1, 1], converted exactly as the
    folder DataModules convert training images (:func:`convert_image`)."""
    return to_tensor(convert_image(image, channels))


def tensor_to_pil(image: Tensor) -> Image.Image:
    """float (C, H, W) in [-1, 1] -> an 8-bit PIL image (``L`` or ``RGB``)."""
    array = image.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    array = array[0] if array.shape[0] == 1 else array.permute(1, 2, 0)
    return Image.fromarray(array.numpy())


def pad_to_multiple(images: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Pad (N, C, H, W) at the bottom/right to multiples of ``multiple``; returns the padded batch and (H, W).

    Reflection padding where the image is large enough, replication otherwise.
    """
    height, width = images.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        images = F.pad(images, (0, pad_w, 0, pad_h), mode=mode)
    return images, (height, width)
