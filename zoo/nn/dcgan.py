"""DCGAN-style convolutional generator and discriminator, optionally class-conditional.

Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016 (arXiv:1511.06434).
The architectural guidelines of its §3 are followed: strided (transposed)
convolutions instead of pooling, batch norm in both networks except G's output
and D's input layer, ReLU in G with Tanh output, LeakyReLU(0.2) in D.

Class conditioning follows Mirza & Osindero, "Conditional Generative
Adversarial Nets", 2014 (arXiv:1411.1784): the label y is fed to both networks.
G sees [z, e(y)] (an embedding concatenated to the noise), or, with
``label_norm``, y through conditional batch norm in every hidden layer (the gain
and bias of each norm are functions of e(y): de Vries et al. 2017; Miyato &
Koyama 2018's generator). D sees y either

* ``"concat"`` — as an extra input channel, e(y) reshaped to H x W (the paper's
  scheme of joining x and y at the input), or
* ``"projection"`` — through an inner product with its features,
  D(x, y) = ψ(φ(x)) + e(y)ᵀφ(x) (Miyato & Koyama 2018, arXiv:1802.05637).

Both networks adapt to any image shape whose side is a power of two times 4..7
(e.g. 28, 32, 64 px) and to 1 or 3 channels.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from zoo.nn.blocks import ConditionalBatchNorm2d
from zoo.nn.init import init_weights

NormName = Literal["batch", "layer", "instance", "none"]
Conditioning = Literal["concat", "projection"]


def resolution_plan(size: int) -> tuple[int, int]:
    """``(start, n)`` with ``size == start * 2**n`` and 4 <= start <= 7, e.g. 32 -> (4, 3), 28 -> (7, 2)."""
    start, n = size, 0
    while start % 2 == 0 and start > 7:
        start //= 2
        n += 1
    if not 4 <= start <= 7 or n == 0:
        raise ValueError(
            f"image side {size} is not supported: it must be 4..7 times a power of two (e.g. 28, 32, 64)"
        )
    return start, n


def norm_layer(name: NormName, channels: int) -> nn.Module:
    """A 2-D normalisation layer by name (``layer`` normalises over C, H, W)."""
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if name == "layer":
        return nn.GroupNorm(1, channels)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {name!r}; valid choices: batch, layer, instance, none")


def dcgan_trunk(in_channels: int, size: int, base_channels: int = 64, norm: NormName = "batch") -> tuple[nn.Sequential, int]:
    """D's convolutional trunk: stride-2 4x4 convs doubling the width down to 4..7 px, then flatten.

    No normalisation on the first layer (DCGAN §3). Returns the trunk and its feature size.
    """
    start, n_down = resolution_plan(size)
    layers: list[nn.Module] = [nn.Conv2d(in_channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
    c = base_channels
    for _ in range(n_down - 1):
        layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), norm_layer(norm, c * 2), nn.LeakyReLU(0.2, inplace=True)]
        c *= 2
    return nn.Sequential(*layers, nn.Flatten()), c * start * start


class DCGANGenerator(nn.Module):
    """G(z[, y]) -> image in [-1, 1] of shape ``image_shape`` (C, H, W).

    Args:
        latent_dim: size of the noise vector z.
        image_shape: (channels, height, width) of the output; height == width.
        num_classes: number of labels y for a conditional G; ``None`` for DCGAN.
        base_channels: width of the last hidden layer; earlier layers double it.
        embed_dim: size of the label embedding e(y) (defaults to ``num_classes``).
        label_norm: condition on y through conditional batch norm (``zoo.nn.blocks.ConditionalBatchNorm2d``,
            fed e(y)) instead of concatenating e(y) to z.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_shape: tuple[int, int, int] = (1, 32, 32),
        num_classes: int | None = None,
        base_channels: int = 64,
        embed_dim: int | None = None,
        label_norm: bool = False,
    ) -> None:
        super().__init__()
        channels, height, width = image_shape
        if height != width:
            raise ValueError(f"DCGAN networks need square images, got image_shape={tuple(image_shape)}")
        self.latent_dim, self.num_classes = latent_dim, num_classes
        start, n_up = resolution_plan(height)
        self.start = start
        self.embed = None
        in_dim = latent_dim
        self.label_norm = label_norm and num_classes is not None
        if num_classes is not None:
            embed_dim = embed_dim or num_classes
            self.embed = nn.Embedding(num_classes, embed_dim)
            in_dim += 0 if self.label_norm else embed_dim

        def norm(c: int) -> nn.Module:
            return ConditionalBatchNorm2d(c, embed_dim) if self.label_norm else nn.BatchNorm2d(c)

        width0 = base_channels * 2 ** (n_up - 1)
        self.project = nn.Sequential(
            nn.Linear(in_dim, width0 * start * start, bias=False),
            nn.Unflatten(1, (width0, start, start)),
            norm(width0),
            nn.ReLU(inplace=True),
        )
        blocks: list[nn.Module] = []
        c = width0
        for _ in range(n_up - 1):
            blocks += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), norm(c // 2), nn.ReLU(inplace=True)]
            c //= 2
        blocks += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.upsample = nn.Sequential(*blocks)
        init_weights(self, "normal")

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.embed is None:
            return self.upsample(self.project(z))
        if y is None:
            raise ValueError("this generator is class-conditional: pass labels y")
        if not self.label_norm:
            return self.upsample(self.project(torch.cat([z, self.embed(y)], dim=1)))
        h, condition = z, self.embed(y)
        for layer in (*self.project, *self.upsample):
            h = layer(h, condition) if isinstance(layer, ConditionalBatchNorm2d) else layer(h)
        return h


class DCGANDiscriminator(nn.Module):
    """D(x[, y]) -> one logit per image, shape (B,); with ``aux_classes`` also class logits.

    Args:
        image_shape: (channels, height, width) of the input.
        num_classes: number of labels for a conditional D; ``None`` for DCGAN.
        base_channels: width of the first conv layer; later layers double it.
        conditioning: ``"concat"`` (label map as an input channel) or
            ``"projection"`` (inner product of e(y) with the features).
        norm: normalisation of the hidden layers. Batch norm is DCGAN's; use
            ``"layer"`` (or ``"none"``) with a gradient penalty, which is defined
            per sample (Gulrajani et al. 2017, §4).
        aux_classes: if > 0, add an auxiliary classifier head
            ``aux_head = Linear(features, aux_classes)`` on the same features as the
            source logit, and ``forward`` returns ``(logit (B,), class_logits
            (B, aux_classes))`` (AC-GAN, Odena et al. 2017, §3). 0 (the default):
            no head, one logit per image.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 32, 32),
        num_classes: int | None = None,
        base_channels: int = 64,
        conditioning: Conditioning = "concat",
        norm: NormName = "batch",
        aux_classes: int = 0,
    ) -> None:
        super().__init__()
        channels, height, width = image_shape
        if height != width:
            raise ValueError(f"DCGAN networks need square images, got image_shape={tuple(image_shape)}")
        if aux_classes < 0:
            raise ValueError(f"aux_classes must be >= 0, got {aux_classes}")
        if conditioning not in ("concat", "projection"):
            raise ValueError(f"unknown conditioning {conditioning!r}; valid choices: concat, projection")
        self.num_classes, self.conditioning = num_classes, conditioning
        self.image_size = height
        in_channels = channels
        self.label_map = None
        if num_classes is not None and conditioning == "concat":
            self.label_map = nn.Embedding(num_classes, height * width)
            in_channels += 1
        self.features, feature_dim = dcgan_trunk(in_channels, height, base_channels, norm)
        self.logit = nn.Linear(feature_dim, 1)
        self.label_projection = None
        if num_classes is not None and conditioning == "projection":
            self.label_projection = nn.Embedding(num_classes, feature_dim)
        self.aux_classes = aux_classes
        if aux_classes > 0:  # created only when asked: the default network is unchanged
            self.aux_head = nn.Linear(feature_dim, aux_classes)
        init_weights(self, "normal")

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
        if self.num_classes is not None and y is None:
            raise ValueError("this discriminator is class-conditional: pass labels y")
        if self.label_map is not None:
            label_plane = self.label_map(y).view(-1, 1, self.image_size, self.image_size)
            x = torch.cat([x, label_plane], dim=1)
        h = self.features(x)
        logit = self.logit(h).squeeze(1)
        if self.label_projection is not None:
            logit = logit + (self.label_projection(y) * h).sum(dim=1)
        if self.aux_classes > 0:
            return logit, self.aux_head(h)
        return logit
