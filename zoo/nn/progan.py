"""ProGAN-lite: the progressively grown generator and discriminator (plain torch).

Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", ICLR 2018 (arXiv:1710.10196). Both networks
are built up to ``max_resolution`` at once; ``forward`` takes the resolution
being trained and the fade-in weight, and runs only the blocks that resolution
uses, so a trainer grows them by raising ``resolution`` and ramping ``alpha``.

Code name -> paper (and tkarras/progressive_growing_of_gans ``networks.py``,
``loss.py``, ``train.py``):

* ``resolution`` r ∈ {4, 8, ..., max_resolution}: the current level of detail
  (§2); ``stage`` k = log2(r) - 2 indexes ``blocks``, ``to_rgb``, ``from_rgb``.
* ``alpha`` α ∈ [0, 1]: the fade-in weight of Fig. 2 (b), increasing linearly
  from 0 to 1 while a new block is faded in; α = 1 is the stabilised network.
  The reference's level of detail is ``lod = log2(max_resolution / r) + 1 - α``.
* :class:`EqualizedConv2d`, :class:`EqualizedLinear` (:mod:`zoo.nn.equalized`):
  the equalized learning rate of §4.1.
* :class:`PixelNorm`: pixelwise feature vector normalisation in G, §4.2,
  b = a / sqrt(1/N Σ_j a_j² + ε), ε = 1e-8, after every conv of G.
* :class:`MinibatchStdDev`: the minibatch standard deviation layer of §3
  (``minibatch_stddev_layer``), near the end of D.
* ``ProGANGenerator``: Table 2 (top). 4x4 block: the latent (PixelNorm-ed,
  ``normalize_latents``) goes through a dense layer to C x 4 x 4 (the paper's
  "Conv 4x4" on a 1x1 input), then a 3x3 conv. Each higher block: nearest 2x
  up-sampling, two 3x3 convs. Every conv: LeakyReLU(0.2) then PixelNorm. toRGB
  per resolution: a linear 1x1 conv with gain 1. The output is linear (no tanh),
  as in the paper.
* ``ProGANDiscriminator``: Table 2 (bottom), G's mirror image. fromRGB per
  resolution: 1x1 conv + LeakyReLU(0.2). Each block above 4x4: two 3x3 convs +
  LeakyReLU(0.2), then 2x average pooling. The 4x4 block: minibatch stddev,
  3x3 conv, dense (the paper's "Conv 4x4" with valid padding), dense to the
  score (gain 1, linear). No normalisation in D.
* Fade-in (Fig. 2): G blends images, ``(1-α) · up(toRGB_{r/2}(h_{r/2})) + α ·
  toRGB_r(block_r(h_{r/2}))``; D blends features, ``(1-α) ·
  fromRGB_{r/2}(avgpool(x)) + α · block_r(fromRGB_r(x))``. Up-sampling is
  nearest neighbour, down-sampling 2x2 average pooling (§2, Fig. 2 caption).
* Real images are faded the same way (:func:`fade_reals`, the reference's
  ``process_reals``) and sized with :func:`downsample_to`.

Class conditioning (the paper's CIFAR-10 run, §6.3 and Appendix A.4, after
Odena et al. 2017, arXiv:1610.09585): G sees [z, e(y)], a label embedding
concatenated to z *before* the latent PixelNorm (the reference concatenates
one-hot labels to the latents and normalises the combination). The embedding is
an ``nn.Embedding`` with N(0, 1) entries: a table lookup has fan-in 1, so this
already is an equalized layer (scale 1). D does not see y: it is an AC-GAN
discriminator whose last dense layer has 1 + ``num_classes`` outputs, the score
and the auxiliary class logits.

Feature counts (:func:`feature_counts`): the paper's
``nf(stage) = min(8192 / 2^stage, 512)`` with stage = log2(r) - 1 is
``min(16384 / r, 512)`` per resolution r. The lite default is
``min(1024 / r, 128)``: 4: 128, 8: 128, 16: 64, 32: 32, 64: 16, 128: 8, a
network small enough to train at 32x32 on a few CPU cores. Pass
``channels=feature_counts(r, 16384, 512)`` for the paper's widths.

This module holds the two networks; the building blocks (resolutions, feature
counts, PixelNorm, MinibatchStdDev, the fade of the reals) are in
:mod:`zoo.nn.progan_layers` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.nn.equalized import SQRT2, EqualizedConv2d, EqualizedLinear
from zoo.nn.progan_layers import (  # the building blocks; the public ones re-exported
    MinibatchStdDev,
    PixelNorm,
    _check_alpha,
    _check_channels,
    _check_images,
    _upsample2x,
    downsample_to,
    fade_reals,
    feature_counts,
    resolutions,
)


def _stage(resolution: int, valid: list[int]) -> int:
    """k = log2(resolution) - 2, after checking that ``resolution`` is one of ``valid``."""
    if isinstance(resolution, Tensor):
        raise TypeError(
            "resolution must be an int; pass class labels as labels=... (forward(z, resolution, alpha, labels))"
        )
    if resolution not in valid:
        raise ValueError(
            f"resolution {resolution!r} is not valid; valid resolutions: {', '.join(map(str, valid))}"
        )
    return valid.index(resolution)


class _LatentTo4x4(nn.Module):
    """G's first layer: dense z -> (C, 4, 4) with one bias per channel (reference ``Dense`` + ``apply_bias``).

    Gain √2 / 4 as the reference ("override gain to match the original Theano
    implementation": a 4x4 transposed conv on a 1x1 input counts fan-in x 16).
    """

    def __init__(self, in_features: int, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.linear = EqualizedLinear(in_features, channels * 16, bias=False, gain=SQRT2 / 4)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, z: Tensor) -> Tensor:
        return self.linear(z).view(-1, self.channels, 4, 4) + self.bias.view(1, -1, 1, 1)


def _g_conv(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [EqualizedConv2d(in_channels, out_channels, 3), nn.LeakyReLU(0.2), PixelNorm()]


def _d_conv(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [EqualizedConv2d(in_channels, out_channels, 3), nn.LeakyReLU(0.2)]


class ProGANGenerator(nn.Module):
    """G(z[, y]) at a chosen resolution: (N, latent_dim) -> (N, image_channels, r, r), linear output.

    Args:
        latent_dim: size of z (512 in the paper).
        max_resolution: the final resolution, a power of two >= 4.
        channels: feature count per resolution, ``{4: ..., 8: ..., ...}`` covering
            4..max_resolution; default :func:`feature_counts` (the lite widths).
        image_channels: 1 or 3 (any >= 1 works).
        num_classes: number of labels y for a conditional G; ``None``: unconditional.
        embed_dim: size of the label embedding e(y) (default ``num_classes``).
        normalize_latents: PixelNorm on [z, e(y)] before the first layer (the paper's default).

    ``blocks[k]`` and ``to_rgb[k]`` belong to resolution 4 · 2^k.
    """

    def __init__(
        self,
        latent_dim: int = 512,
        max_resolution: int = 32,
        channels: Mapping[int, int] | None = None,
        image_channels: int = 1,
        num_classes: int | None = None,
        embed_dim: int | None = None,
        normalize_latents: bool = True,
    ) -> None:
        super().__init__()
        if latent_dim < 1 or image_channels < 1:
            raise ValueError(f"latent_dim and image_channels must be >= 1, got {latent_dim}, {image_channels}")
        if num_classes is not None and num_classes < 1:
            raise ValueError(f"num_classes must be >= 1 or None, got {num_classes}")
        self.resolutions = resolutions(max_resolution)
        self.channels = _check_channels(channels, max_resolution)
        self.latent_dim, self.max_resolution = latent_dim, max_resolution
        self.image_channels, self.num_classes = image_channels, num_classes
        in_dim = latent_dim
        self.embed = None
        if num_classes is not None:
            embed_dim = embed_dim or num_classes
            self.embed = nn.Embedding(num_classes, embed_dim)
            nn.init.normal_(self.embed.weight, 0.0, 1.0)
            in_dim += embed_dim
        c4 = self.channels[4]
        first: list[nn.Module] = [PixelNorm()] if normalize_latents else []
        first += [_LatentTo4x4(in_dim, c4), nn.LeakyReLU(0.2), PixelNorm(), *_g_conv(c4, c4)]
        blocks: list[nn.Module] = [nn.Sequential(*first)]
        for r in self.resolutions[1:]:
            c_in, c = self.channels[r // 2], self.channels[r]
            blocks.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), *_g_conv(c_in, c), *_g_conv(c, c)))
        self.blocks = nn.ModuleList(blocks)
        self.to_rgb = nn.ModuleList(
            EqualizedConv2d(self.channels[r], image_channels, 1, gain=1.0) for r in self.resolutions
        )

    def stage(self, resolution: int) -> int:
        """k = log2(resolution) - 2: the index of the resolution's block (checks it)."""
        return _stage(resolution, self.resolutions)

    def forward(
        self, z: Tensor, resolution: int | None = None, alpha: float = 1.0, labels: Tensor | None = None
    ) -> Tensor:
        """Images at ``resolution`` (default ``max_resolution``), the new block faded in with weight ``alpha``.

        ``alpha`` is ignored at 4x4 (there is no previous resolution to blend with).
        """
        k = self.stage(self.max_resolution if resolution is None else resolution)
        a = _check_alpha(alpha)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels=... of shape (N,)")
            if labels.shape != (z.shape[0],):
                raise ValueError(f"labels must have shape ({z.shape[0]},), got {tuple(labels.shape)}")
            z = torch.cat([z, self.embed(labels)], dim=1)
        elif labels is not None:
            raise ValueError("this generator is unconditional (num_classes=None): do not pass labels")
        h = self.blocks[0](z)
        for i in range(1, k):
            h = self.blocks[i](h)
        if k == 0:
            return self.to_rgb[0](h)
        new = self.to_rgb[k](self.blocks[k](h))
        if a == 1.0:
            return new
        return torch.lerp(_upsample2x(self.to_rgb[k - 1](h)), new, a)


class ProGANDiscriminator(nn.Module):
    """D(x) at a chosen resolution: (N, image_channels, r, r) -> score (N,), or (score, class logits).

    Args:
        max_resolution: the final resolution, a power of two >= 4.
        channels: feature count per resolution (as :class:`ProGANGenerator`).
        image_channels: 1 or 3 (any >= 1 works).
        num_classes: if set, the last dense layer also gives ``num_classes``
            auxiliary class logits (AC-GAN); ``None``: the score only.
        mbstd_group: group size of :class:`MinibatchStdDev`; <= 1 removes the layer.

    ``forward`` returns the critic score of shape (N,) when ``num_classes`` is
    ``None``, and the tuple ``(score (N,), class_logits (N, num_classes))`` otherwise.
    ``blocks[k]`` and ``from_rgb[k]`` belong to resolution 4 · 2^k; ``blocks[0]``
    is the 4x4 head.
    """

    def __init__(
        self,
        max_resolution: int = 32,
        channels: Mapping[int, int] | None = None,
        image_channels: int = 1,
        num_classes: int | None = None,
        mbstd_group: int = 4,
    ) -> None:
        super().__init__()
        if image_channels < 1:
            raise ValueError(f"image_channels must be >= 1, got {image_channels}")
        if num_classes is not None and num_classes < 1:
            raise ValueError(f"num_classes must be >= 1 or None, got {num_classes}")
        self.resolutions = resolutions(max_resolution)
        self.channels = _check_channels(channels, max_resolution)
        self.max_resolution, self.image_channels = max_resolution, image_channels
        self.num_classes, self.mbstd_group = num_classes, mbstd_group
        self.from_rgb = nn.ModuleList(
            nn.Sequential(EqualizedConv2d(image_channels, self.channels[r], 1), nn.LeakyReLU(0.2))
            for r in self.resolutions
        )
        c4 = self.channels[4]
        head: list[nn.Module] = [MinibatchStdDev(mbstd_group)] if mbstd_group > 1 else []
        head += [
            *_d_conv(c4 + (1 if mbstd_group > 1 else 0), c4),
            nn.Flatten(),
            EqualizedLinear(c4 * 16, c4),
            nn.LeakyReLU(0.2),
            EqualizedLinear(c4, 1 + (num_classes or 0), gain=1.0),
        ]
        blocks: list[nn.Module] = [nn.Sequential(*head)]
        for r in self.resolutions[1:]:
            c, c_out = self.channels[r], self.channels[r // 2]
            blocks.append(nn.Sequential(*_d_conv(c, c), *_d_conv(c, c_out), nn.AvgPool2d(2)))
        self.blocks = nn.ModuleList(blocks)

    def stage(self, resolution: int) -> int:
        """k = log2(resolution) - 2: the index of the resolution's block (checks it)."""
        return _stage(resolution, self.resolutions)

    def forward(
        self, x: Tensor, resolution: int | None = None, alpha: float = 1.0
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Score ``x`` at ``resolution`` (default: x's side), the new block faded in with weight ``alpha``.

        ``alpha`` is ignored at 4x4.
        """
        _, c, h, _ = _check_images(x, "x")
        k = self.stage(h if resolution is None else resolution)
        a = _check_alpha(alpha)
        r = self.resolutions[k]
        if c != self.image_channels or h != r:
            raise ValueError(
                f"x must have shape (N, {self.image_channels}, {r}, {r}) at resolution {r}, got {tuple(x.shape)}"
            )
        out = self.from_rgb[k](x)
        if k > 0:
            out = self.blocks[k](out)
            if a < 1.0:
                out = torch.lerp(self.from_rgb[k - 1](F.avg_pool2d(x, 2)), out, a)
            for i in range(k - 1, 0, -1):
                out = self.blocks[i](out)
        out = self.blocks[0](out)
        score = out[:, 0]
        if self.num_classes is not None:
            return score, out[:, 1:]
        return score
