"""ProGAN's building blocks (plain torch): the resolutions and feature counts, PixelNorm,
the minibatch standard deviation layer, and the fade / down-sampling of real images.

Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", ICLR 2018 (arXiv:1710.10196); section
numbers below are the paper's. :mod:`zoo.nn.progan` builds the generator and the
discriminator from these (and re-exports the public names); its docstring maps
the code's names to the paper's.

* :func:`resolutions`, :func:`feature_counts`: r ∈ {4, 8, ..., max_resolution} and
  the features per resolution (the lite widths by default, the paper's on request).
* :class:`PixelNorm` (§4.2) and :class:`MinibatchStdDev` (§3): the layers of G and D.
* :func:`downsample_to`, :func:`fade_reals`: real images sized and faded as G's
  output is (the reference's ``downscale2d`` and ``process_reals``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LITE_FMAP_BASE, LITE_FMAP_MAX = 1024, 128
PAPER_FMAP_BASE, PAPER_FMAP_MAX = 16384, 512


def resolutions(max_resolution: int) -> list[int]:
    """The resolutions a network grown to ``max_resolution`` trains at: [4, 8, ..., max_resolution]."""
    if isinstance(max_resolution, bool) or not isinstance(max_resolution, int) or max_resolution < 4 or (
        max_resolution & (max_resolution - 1)
    ):
        raise ValueError(
            f"max_resolution must be a power of two >= 4 (4, 8, 16, 32, 64, ...), got {max_resolution!r}; "
            "pad or resize other image sizes (e.g. 28x28 digits to 32x32)"
        )
    return [2**k for k in range(2, int(math.log2(max_resolution)) + 1)]


def feature_counts(max_resolution: int, fmap_base: int = LITE_FMAP_BASE, fmap_max: int = LITE_FMAP_MAX) -> dict[int, int]:
    """Features per resolution, ``{r: max(1, min(fmap_base // r, fmap_max))}`` for r in 4..max_resolution.

    The defaults are the lite widths; ``fmap_base=16384, fmap_max=512`` are the paper's.
    """
    return {r: max(1, min(fmap_base // r, fmap_max)) for r in resolutions(max_resolution)}


def _check_channels(channels: Mapping[int, int] | None, max_resolution: int) -> dict[int, int]:
    if channels is None:
        return feature_counts(max_resolution)
    needed = resolutions(max_resolution)
    missing = [r for r in needed if r not in channels]
    if missing:
        raise ValueError(f"channels needs a feature count for every resolution {needed}; missing {missing}")
    bad = {r: channels[r] for r in needed if int(channels[r]) < 1}
    if bad:
        raise ValueError(f"feature counts must be >= 1, got {bad}")
    return {r: int(channels[r]) for r in needed}


def _check_alpha(alpha: float | Tensor) -> float:
    a = float(alpha)
    if not 0.0 <= a <= 1.0:  # also rejects NaN
        raise ValueError(f"alpha (the fade-in weight) must be in [0, 1], got {a}")
    return a


def _upsample2x(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def _check_images(images: Tensor, what: str = "images") -> tuple[int, int, int, int]:
    if images.dim() != 4 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"{what} must be square and of shape (N, C, H, W), got {tuple(images.shape)}")
    n, c, h, w = images.shape
    return n, c, h, w


def downsample_to(images: Tensor, resolution: int) -> Tensor:
    """Average-pool square ``images`` (N, C, H, H) down to (N, C, resolution, resolution).

    H must be a multiple of ``resolution``; a factor 2^k equals k successive 2x2
    average poolings (the reference's ``downscale2d``). Images already at
    ``resolution`` are returned unchanged.
    """
    _, _, h, _ = _check_images(images)
    if resolution < 1 or h % resolution:
        raise ValueError(f"cannot average-pool {h}x{h} images down to {resolution}x{resolution}: {h} is not a multiple")
    factor = h // resolution
    return images if factor == 1 else F.avg_pool2d(images, factor)


def fade_reals(images: Tensor, alpha: float) -> Tensor:
    """The reference's ``process_reals`` fade: lerp(up(avgpool2x(x)), x, α); α = 0 -> the blurred x, α = 1 -> x.

    While a new resolution fades in, reals are blended like G's output, so D
    sees real and fake images of the same level of detail.
    """
    a = _check_alpha(alpha)
    _, _, h, _ = _check_images(images)
    if h % 2:
        raise ValueError(f"fade_reals needs an even image side, got {h}")
    if a == 1.0:
        return images
    return torch.lerp(_upsample2x(F.avg_pool2d(images, 2)), images, a)


def _group_size(batch: int, group_size: int) -> int:
    """The largest divisor of ``batch`` that is <= min(group_size, batch) (at least 1)."""
    g = max(1, min(group_size, batch))
    while batch % g:
        g -= 1
    return g


class PixelNorm(nn.Module):
    """x / sqrt(mean over channels (dim 1) of x² + ε), §4.2; works on (N, C) and (N, C, H, W)."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + self.eps)


class MinibatchStdDev(nn.Module):
    """Append one feature map: the mean over features and pixels of the std over a group (§3).

    As the reference's ``minibatch_stddev_layer``: the batch of N is split into
    groups of G samples, sample i belonging to group i mod (N / G); within a
    group each feature's (biased) std is sqrt(Var + ε); their mean over C, H, W
    is one number per group, tiled as an extra (H, W) map on each of its samples.
    Output: (N, C + 1, H, W).

    Group size: the reference uses G = min(group_size, N) and requires N to be a
    multiple of G. Here G is the largest divisor of N that is <= min(group_size, N),
    so any batch size works (e.g. N = 6 -> G = 3). A batch of prime N > group_size
    gives G = 1, whose map is the constant sqrt(ε): use batch sizes divisible by
    ``group_size`` to keep the layer useful. ``group_size <= 1`` disables the
    statistic (the map is then sqrt(ε) everywhere, the output still has C + 1 maps).
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8) -> None:
        super().__init__()
        self.group_size, self.eps = group_size, eps

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f"MinibatchStdDev expects (N, C, H, W) features, got {tuple(x.shape)}")
        n, c, h, w = x.shape
        g = _group_size(n, self.group_size)
        y = x.reshape(g, n // g, c, h, w)  # [G, M, C, H, W]: sample i is y[i // M, i % M]
        y = y - y.mean(dim=0, keepdim=True)
        y = (y.square().mean(dim=0) + self.eps).sqrt()  # (M, C, H, W)
        y = y.mean(dim=(1, 2, 3))  # (M,)
        y = y.view(1, -1, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)
        return torch.cat([x, y.to(x.dtype)], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"
