"""Resizing, cropping and flipping of the folder data sets (``preprocess``), built on ``torchvision.transforms.v2``.

``image_size`` is the output side, ``load_size`` the intermediate one (by
default ``round(image_size * 286 / 256)``, the pix2pix/CycleGAN 286 for 256):

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

Resizing is bicubic; with ``flip=True`` training images are also mirrored
left-right at random (probability 1/2).  A centre crop starts at
``floor((side - image_size) / 2)``; a random crop's corner is uniform over
every position.  ``scale_width`` and ``none`` keep each image's own height
(and width), so their outputs are not ``image_size`` square
(:attr:`ImageTransform.fixed_size` is False).

How
    :class:`ImageTransform` is a ``torchvision.transforms.v2.Compose`` run on
    PIL images (so resizing is Pillow's bicubic), ending in
    :func:`zoo.images.to_tensor` (float32 ``(C, H, W)`` in ``[-1, 1]``, the
    conversion ``translate()`` uses too).  Several images given in one call,
    ``transform(a, b)``, get the very same resize, crop and flip: a v2
    transform draws its random parameters once per call, for all its inputs.
    This is how paired A and B stay aligned (B is first resized to A's size
    when the two files differ, :class:`~datamodules.image_datasets.PairedFolderDataset`).

    From torchvision: ``v2.Resize`` (``resize``, ``resize_and_crop``),
    ``v2.RandomCrop`` (the training crop of all three crop policies) and
    ``v2.RandomHorizontalFlip``.  Custom, because no v2 transform does exactly this:

    * :class:`ScaleWidth` (``scale_width``, ``scale_width_and_crop``): v2.Resize
      sets the shorter (or, with ``max_size``, the longer) edge, never the
      width; and neither the height floor of ``scale_width_and_crop`` nor the
      multiple of 4 of ``scale_width``.
    * :class:`ScaleUp` (``crop``): ``v2.Resize(int)`` resizes every image
      (shorter edge to exactly ``image_size``, the longer one truncated), while
      ``crop`` leaves images at their native scale unless one is smaller than
      the crop, and rounds.  ``v2.RandomCrop(pad_if_needed=True)`` pads instead.
    * :class:`RoundToMultiple` (``none``): v2 has no size rounding.
    * :class:`CentreCrop` (validation of ``scale_width_and_crop`` and ``crop``):
      ``v2.CenterCrop`` starts at ``round((side - image_size) / 2)``, rounding
      half to even, which moves the crop by one pixel for some odd margins;
      the validation images stay those of ``floor``.

Small and extreme images
    Every policy but ``none`` scales up an image smaller than the output
    (shorter side under ``image_size``; for ``scale_width`` the width), and
    an aspect ratio beyond :data:`MAX_ASPECT` (4:1) is squashed (``resize``,
    ``resize_and_crop``), mostly cropped away (``crop``, ``scale_width_and_crop``)
    or kept (``scale_width``, ``none``).  Such images are served, not dropped;
    :func:`odd_size_messages` words the one warning per kind that the folder
    DataModules give at set-up (:mod:`datamodules.verify`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from PIL import Image
from torchvision.transforms import v2

from datamodules.base import check_image_size
from zoo.images import to_tensor

Preprocess = Literal["resize_and_crop", "scale_width", "scale_width_and_crop", "crop", "none", "resize"]

PREPROCESS_POLICIES: tuple[str, ...] = get_args(Preprocess)
CROP_POLICIES = ("resize_and_crop", "scale_width_and_crop", "crop")
BICUBIC = v2.InterpolationMode.BICUBIC

MAX_ASPECT = 4.0
"""Longer side / shorter side above which an image is warned about as extremely elongated."""


def default_load_size(image_size: int) -> int:
    """The pix2pix/CycleGAN ratio: load 286 for a 256 crop."""
    return round(image_size * 286 / 256)


def check_preprocess(preprocess: str) -> str:
    """Validate a ``preprocess`` policy name."""
    if preprocess not in PREPROCESS_POLICIES:
        raise ValueError(f"unknown preprocess {preprocess!r}; valid choices: {', '.join(PREPROCESS_POLICIES)}")
    return preprocess


def round_to(value: float, multiple: int) -> int:
    """``value`` rounded to the nearest multiple of ``multiple``, at least ``multiple``."""
    return max(multiple, round(value / multiple) * multiple)


def small_image_policy(preprocess: str, image_size: int, load_size: int) -> str | None:
    """What ``preprocess`` does to an image smaller than ``image_size`` (``None``: nothing, ``none``)."""
    s, load = image_size, load_size
    return {
        "resize": f"upscaled (bicubic) to {s}x{s}",
        "resize_and_crop": f"upscaled (bicubic) to {load}x{load} before the random {s}x{s} crop ({s}x{s} for val/test)",
        "scale_width_and_crop": f"scaled up (aspect kept) to width {load} and height at least {s}, then cropped to {s}x{s}",
        "crop": f"scaled up (aspect kept) until the shorter side is {s}, then cropped to {s}x{s}",
        "scale_width": f"scaled up (aspect kept) to width {s}",
    }.get(check_preprocess(preprocess))


def wide_image_policy(preprocess: str, image_size: int, load_size: int) -> str:
    """What ``preprocess`` does to an image whose aspect ratio exceeds :data:`MAX_ASPECT`."""
    s, load = image_size, load_size
    return {
        "resize": f"squashed to {s}x{s} (the aspect ratio is not kept)",
        "resize_and_crop": f"squashed to {load}x{load} (the aspect ratio is not kept), then cropped to {s}x{s}",
        "scale_width_and_crop": f"width scaled to {load} with the height at least {s}, then cropped to {s}x{s}: "
                                "wide images are squashed, most of a tall one is cropped away",
        "crop": f"scaled until the shorter side is at least {s}, then cropped to {s}x{s}: "
                "most of the image is never seen",
        "scale_width": f"width scaled to {s}, height in proportion (a multiple of 4): kept elongated",
        "none": "served at its native size (sides rounded to multiples of 4): kept elongated",
    }[check_preprocess(preprocess)]


def odd_size_messages(sizes: Iterable[tuple[Path, tuple[int, int]]], preprocess: str, image_size: int,
                      load_size: int, where: str) -> list[str]:
    """At most two warnings for ``(path, (width, height))`` items: images smaller than the output
    (shorter side, or width for ``scale_width``, under ``image_size``; never for ``none``) and
    images more elongated than :data:`MAX_ASPECT`, each with the count, a few examples and the policy applied."""
    small: list[tuple[Path, tuple[int, int]]] = []
    wide: list[tuple[Path, tuple[int, int]]] = []
    small_policy = small_image_policy(preprocess, image_size, load_size)
    for path, (width, height) in sizes:
        if width < 1 or height < 1:
            continue
        side = width if preprocess == "scale_width" else min(width, height)
        if small_policy is not None and side < image_size:
            small.append((path, (width, height)))
        if max(width, height) > MAX_ASPECT * min(width, height):
            wide.append((path, (width, height)))

    def examples(found: list[tuple[Path, tuple[int, int]]]) -> str:
        shown = ", ".join(f"{path} ({w}x{h})" for path, (w, h) in found[:3])
        return shown + (f" and {len(found) - 3} more" if len(found) > 3 else "")

    messages = []
    if small:
        what = "narrower than" if preprocess == "scale_width" else "smaller than"
        messages.append(f"{where}: {len(small)} image{'s' if len(small) > 1 else ''} {what} image_size={image_size} "
                        f"(preprocess={preprocess!r}): {small_policy}, which blurs them; e.g. {examples(small)}")
    if wide:
        messages.append(f"{where}: {len(wide)} image{'s' if len(wide) > 1 else ''} with an aspect ratio beyond "
                        f"{MAX_ASPECT:g}:1 (preprocess={preprocess!r}): "
                        f"{wide_image_policy(preprocess, image_size, load_size)}; e.g. {examples(wide)}")
    return messages


# -- the custom v2 transforms (see the module docstring for why each exists) -----------------


class _ResizeBy(v2.Transform):
    """Bicubic resize of all inputs to the ``(width, height)`` that :meth:`target` gives for their size."""

    def target(self, width: int, height: int) -> tuple[int, int]:
        raise NotImplementedError

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.query_size(flat_inputs)
        return {"size": self.target(width, height)}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        width, height = params["size"]
        return self._call_kernel(v2.functional.resize, inpt, [height, width], interpolation=BICUBIC, antialias=True)


class ScaleWidth(_ResizeBy):
    """Width to ``width``; height by the aspect ratio, rounded to a multiple of ``multiple``, at least ``min_height``."""

    def __init__(self, width: int, min_height: int = 1, multiple: int = 1) -> None:
        super().__init__()
        self.width, self.min_height, self.multiple = width, min_height, multiple

    def target(self, width: int, height: int) -> tuple[int, int]:
        return self.width, max(self.min_height, round_to(self.width * height / width, self.multiple))


class ScaleUp(_ResizeBy):
    """Images with a side under ``size`` scaled up (aspect kept, rounded) until both sides are ``>= size``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def target(self, width: int, height: int) -> tuple[int, int]:
        scale = max(1.0, self.size / min(width, height))
        return max(self.size, round(width * scale)), max(self.size, round(height * scale))


class RoundToMultiple(_ResizeBy):
    """Each side to the nearest multiple of ``multiple`` (at least ``multiple``)."""

    def __init__(self, multiple: int) -> None:
        super().__init__()
        self.multiple = multiple

    def target(self, width: int, height: int) -> tuple[int, int]:
        return round_to(width, self.multiple), round_to(height, self.multiple)


class CentreCrop(v2.Transform):
    """The ``size`` x ``size`` crop starting at ``floor((side - size) / 2)`` on each axis."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.query_size(flat_inputs)
        return {"top": (height - self.size) // 2, "left": (width - self.size) // 2}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(v2.functional.crop, inpt, params["top"], params["left"], self.size, self.size)


# -- the policies ---------------------------------------------------------------------------


def policy_steps(preprocess: str, image_size: int, load_size: int, train: bool) -> list[v2.Transform]:
    """The resize and crop steps of a policy (the module docstring's table), without flip or conversion."""
    size, crop = image_size, (v2.RandomCrop(image_size) if train else CentreCrop(image_size))
    load = load_size if train else image_size
    if preprocess == "resize_and_crop":
        return [v2.Resize((load, load), BICUBIC), *([crop] if train else [])]  # validation: the crop is the image
    if preprocess == "scale_width_and_crop":
        return [ScaleWidth(load, min_height=size), crop]
    if preprocess == "crop":
        return [ScaleUp(size), crop]
    if preprocess == "scale_width":
        return [ScaleWidth(size, multiple=4)]
    if preprocess == "none":
        return [RoundToMultiple(4)]
    check_preprocess(preprocess)
    return [v2.Resize((size, size), BICUBIC)]  # "resize"


@dataclass(frozen=True)
class ImageTransform:
    """Resize, crop and flip by a ``preprocess`` policy (module docstring), then to float32 in ``[-1, 1]``.

    ``transform(image)`` gives one tensor ``(C, H, W)``; ``transform(a, b)``
    gives a tuple, every image with the same random choices (torch's global
    RNG).  ``train=False`` gives the deterministic validation/test version (no
    random crop, no flip).  :attr:`pipeline` is the ``v2.Compose``.
    """

    preprocess: Preprocess
    image_size: int
    load_size: int
    flip: bool = False
    train: bool = True
    pipeline: v2.Compose = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_preprocess(self.preprocess)
        check_image_size(self.image_size)
        if self.preprocess in CROP_POLICIES and self.load_size < self.image_size:
            raise ValueError(f"load_size ({self.load_size}) must be >= image_size ({self.image_size}) "
                             f"for preprocess={self.preprocess!r}")
        steps = policy_steps(self.preprocess, self.image_size, self.load_size, self.train)
        if self.train and self.flip:
            steps.append(v2.RandomHorizontalFlip(p=0.5))
        steps.append(v2.Lambda(to_tensor, Image.Image))
        object.__setattr__(self, "pipeline", v2.Compose(steps))

    @property
    def deterministic(self) -> bool:
        """Whether the same image always gives the same tensor (no random crop, no flip)."""
        return not self.train or (self.preprocess not in CROP_POLICIES and not self.flip)

    @property
    def fixed_size(self) -> bool:
        """Whether every output is ``image_size`` x ``image_size`` (not so for ``scale_width`` and ``none``)."""
        return self.preprocess not in ("scale_width", "none")

    def __call__(self, *images: Image.Image) -> Any:
        """PIL images (of one size) -> float32 ``(C, H, W)`` tensors in ``[-1, 1]``: one, or a tuple."""
        return self.pipeline(*images)


class Preprocessing:
    """Mixin: the ``preprocess``, ``load_size`` and ``flip`` options of a folder DataModule, and its transforms.

    The DataModule sets ``image_size`` first, then calls :meth:`set_preprocessing`.
    """

    image_size: int

    def set_preprocessing(self, preprocess: str, load_size: int | None, flip: bool) -> None:
        """Validate and keep the options (``load_size=None``: :func:`default_load_size`)."""
        self.preprocess = check_preprocess(preprocess)
        self.load_size = load_size or default_load_size(self.image_size)
        self.flip = flip
        self.transform(train=True)  # validates load_size against image_size

    def transform(self, train: bool = False) -> ImageTransform:
        """The training (random) or validation/test (deterministic) transform."""
        return ImageTransform(self.preprocess, self.image_size, self.load_size, self.flip, train)  # type: ignore[arg-type]
