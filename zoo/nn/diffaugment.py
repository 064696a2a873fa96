"""DiffAugment: differentiable augmentation of every image the discriminator sees (plain torch).

Zhao, Liu, Lin, Zhu & Han, "Differentiable Augmentation for Data-Efficient GAN Training",
NeurIPS 2020 (arXiv:2006.10738). The same random transformations are applied to real and
generated images, in D's step and in G's step; they are differentiable, so G is trained through
them, and D never sees an un-augmented image, so the augmentations do not leak into G's outputs.
The three policies and their ranges are those of the authors' ``DiffAugment_pytorch.py``
(images in [-1, 1], one fresh draw per image):

=================  ===================================================================
``color``          brightness: x + U[-0.5, 0.5); saturation: mean_c + (x - mean_c)·U[0, 2);
                   contrast: mean + (x - mean)·U[0.5, 1.5) (``mean_c`` over channels, ``mean``
                   over the whole image)
``translation``    a shift of up to 1/8 of each side (rounded), rows and columns shifted
                   independently, zeros shifted in
``cutout``         one square of half the side (rounded) set to zero, its centre anywhere
                   in the image (it may be cut by the border)
=================  ===================================================================

``DiffAugment(("translation", "cutout"))(x)`` applies the policies in that order; geometric
ones act on every channel alike, so two images concatenated along the channels (pix2pix's
input | output pair) get the same draw.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

POLICIES = ("color", "translation", "cutout")
#: the policies that move pixels without mixing channels: sound for channel-concatenated pairs
GEOMETRIC = ("translation", "cutout")


def parse_policy(text: str | None) -> tuple[str, ...]:
    """``"color,translation,cutout"`` (any subset, any order, commas; ``""`` / ``None``: none) as a tuple;
    an unknown name is a ``ValueError`` listing the valid ones."""
    names = tuple(name.strip() for name in (text or "").split(",") if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {', '.join(unknown)}; valid choices: {', '.join(POLICIES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"DiffAugment policy {text!r} names a policy twice")
    return names


def _uniform(x: Tensor, low: float, high: float) -> Tensor:
    """One draw per image from U[low, high), shaped to broadcast over (C, H, W)."""
    return torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device) * (high - low) + low


def rand_brightness(x: Tensor) -> Tensor:
    return x + _uniform(x, -0.5, 0.5)


def rand_saturation(x: Tensor) -> Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * _uniform(x, 0.0, 2.0) + mean


def rand_contrast(x: Tensor) -> Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(x, 0.5, 1.5) + mean


def _shift_indices(size: int, shift: Tensor) -> Tensor:
    """(N, size) source indices of a shift by ``shift`` (N,) pixels, with -1 where zeros come in."""
    positions = torch.arange(size, device=shift.device).unsqueeze(0) - shift.unsqueeze(1)
    return torch.where((positions >= 0) & (positions < size), positions, torch.full_like(positions, -1))


def rand_translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ``ratio`` of its height and width (integers, uniform), zero-filled."""
    n, _, height, width = x.shape
    max_y, max_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    shift_y = torch.randint(-max_y, max_y + 1, (n,), device=x.device)
    shift_x = torch.randint(-max_x, max_x + 1, (n,), device=x.device)
    padded = torch.nn.functional.pad(x, (1, 0, 1, 0))  # index 0 of the padded image is a zero row / column
    rows = (_shift_indices(height, shift_y) + 1)[:, None, :, None].expand(n, x.size(1), height, width + 1)
    shifted = padded.gather(2, rows)
    cols = (_shift_indices(width, shift_x) + 1)[:, None, None, :].expand(n, x.size(1), height, width)
    return shifted.gather(3, cols)


def rand_cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero one square of ``ratio`` of the side per image, centred anywhere (clipped by the border)."""
    n, _, height, width = x.shape
    cut_h, cut_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = torch.randint(0, height + (1 - cut_h % 2), (n, 1, 1), device=x.device) - cut_h // 2
    left = torch.randint(0, width + (1 - cut_w % 2), (n, 1, 1), device=x.device) - cut_w // 2
    rows = torch.arange(height, device=x.device).view(1, height, 1)
    cols = torch.arange(width, device=x.device).view(1, 1, width)
    inside = (rows >= top) & (rows < top + cut_h) & (cols >= left) & (cols < left + cut_w)
    return x * (~inside).unsqueeze(1).to(x.dtype)


FUNCTIONS = {"color": (rand_brightness, rand_saturation, rand_contrast),
             "translation": (rand_translation,), "cutout": (rand_cutout,)}


class DiffAugment(nn.Module):
    """The augmentation of ``policy`` (names of :data:`POLICIES`, applied in order); an empty policy is the identity."""

    def __init__(self, policy: tuple[str, ...] | str = ()) -> None:
        super().__init__()
        self.policy = parse_policy(policy) if isinstance(policy, str) else parse_policy(",".join(policy))

    def forward(self, x: Tensor) -> Tensor:
        for name in self.policy:
            for function in FUNCTIONS[name]:
                x = function(x)
        return x.contiguous()

    def extra_repr(self) -> str:
        return ",".join(self.policy) or "none"
