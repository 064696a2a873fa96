"""Fully connected generator and discriminator (the multilayer perceptrons of Goodfellow et al. 2014).

Plain torch. ``layers`` counts the hidden layers, each ``Linear(hidden) -> LeakyReLU(0.2)``;
an output ``Linear`` follows. PyTorch's default initialisation is kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn


def _mlp(in_dim: int, out_dim: int, hidden: int, layers: int) -> nn.Sequential:
    if in_dim < 1 or out_dim < 1 or hidden < 1 or layers < 1:
        raise ValueError(
            f"MLP sizes must be >= 1, got in_dim={in_dim}, out_dim={out_dim}, hidden={hidden}, layers={layers}"
        )
    modules: list[nn.Module] = []
    width = in_dim
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    modules.append(nn.Linear(width, out_dim))
    return nn.Sequential(*modules)


class MLPGenerator(nn.Module):
    """G(z): z (B, latent_dim) -> x (B, out_dim), or (B, *out_shape) when ``out_shape`` is given.

    Args:
        latent_dim: size of z.
        out_dim: size of a sample (the product of ``out_shape`` when that is given).
        hidden: width of the hidden layers.
        layers: number of hidden layers.
        out_shape: reshape the output to ``(B, *out_shape)`` (e.g. ``(1, 32, 32)`` for images).
        tanh: end with ``tanh`` (outputs in [-1, 1], for images); otherwise linear outputs.
    """

    def __init__(
        self,
        latent_dim: int,
        out_dim: int,
        hidden: int = 128,
        layers: int = 3,
        *,
        out_shape: Sequence[int] | None = None,
        tanh: bool = False,
    ) -> None:
        super().__init__()
        self.out_shape = tuple(out_shape) if out_shape is not None else (out_dim,)
        if math.prod(self.out_shape) != out_dim:
            raise ValueError(f"out_shape {self.out_shape} does not hold out_dim={out_dim} values")
        self.latent_dim = latent_dim
        self.net = _mlp(latent_dim, out_dim, hidden, layers)
        self.activation = nn.Tanh() if tanh else nn.Identity()

    def forward(self, z: Tensor) -> Tensor:
        return self.activation(self.net(z)).view(z.size(0), *self.out_shape)


class MLPDiscriminator(nn.Module):
    """D(x): x (B, in_dim) or (B, ...) flattened to in_dim values -> one logit per sample, shape (B,)."""

    def __init__(self, in_dim: int, hidden: int = 128, layers: int = 3) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.net = _mlp(in_dim, 1, hidden, layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1)).squeeze(1)
