"""Equalized learning-rate layers of ProGAN (plain torch).

Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", ICLR 2018 (arXiv:1710.10196), §4.1
("Equalized learning rate"): the weights are stored as w ~ N(0, 1) and scaled
at run time, ŵ_i = w_i / c, by the per-layer constant of He et al. (2015),
c⁻¹ = ``scale`` = gain / sqrt(fan_in). Adaptive optimisers (Adam) normalise
an update by the gradient's own scale, so the dynamic range, and with it the
effective learning rate, is then the same for every weight.

Code name -> paper / reference (tkarras/progressive_growing_of_gans ``networks.py``):

* ``weight``: w, stored ~ N(0, 1) (``use_wscale=True``: ``get_weight`` with
  ``init_std = 1`` and runtime coefficient ``wscale``);
* ``scale``: c⁻¹ = gain / sqrt(fan_in), ``fan_in`` = in_features for a linear layer,
  in_channels x k x k for a convolution;
* ``gain``: √2 by default (ReLU-family activations); 1 for linear outputs
  (toRGB, D's last dense layer);
* ``bias``: initialised to 0 and *not* scaled (``apply_bias``).

The layers are deliberately not subclasses of ``nn.Conv2d`` / ``nn.Linear``, so
:func:`zoo.nn.init.init_weights` never re-initialises them: their N(0, 1)
initialisation is part of the method and happens here (:meth:`reset_parameters`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

SQRT2 = math.sqrt(2.0)


class _Equalized(nn.Module):
    """The shared part: a weight of ``shape`` ~ N(0, 1), its runtime ``scale`` and a zero bias."""

    def _init_weight(self, shape: tuple[int, ...], bias: bool, gain: float) -> None:
        self.gain = gain
        self.fan_in = math.prod(shape[1:])
        self.scale = gain / math.sqrt(self.fan_in)
        self.weight = nn.Parameter(torch.empty(shape))
        self.bias = nn.Parameter(torch.empty(shape[0])) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, 0.0, 1.0)
        if self.bias is not None:
            nn.init.zeros_(self.bias)


class EqualizedLinear(_Equalized):
    """y = x (w · scale)ᵀ + b with w ~ N(0, 1), scale = gain / sqrt(in_features), b = 0 at init."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, gain: float = SQRT2) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"in_features and out_features must be >= 1, got {in_features}, {out_features}")
        self.in_features, self.out_features = in_features, out_features
        self._init_weight((out_features, in_features), bias, gain)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, gain={self.gain:.4g}, scale={self.scale:.4g}"
        )


class EqualizedConv2d(_Equalized):
    """A 2-D convolution with weight w · scale, w ~ N(0, 1), scale = gain / sqrt(in_channels k²), b = 0 at init.

    ``padding`` defaults to ``kernel_size // 2`` ("same" for odd kernels, as the
    reference's ``padding='SAME'``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | None = None,
        bias: bool = True,
        gain: float = SQRT2,
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1 or kernel_size < 1:
            raise ValueError(
                f"in_channels, out_channels and kernel_size must be >= 1, got {in_channels}, {out_channels}, {kernel_size}"
            )
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride = stride
        self.padding = kernel_size // 2 if padding is None else padding
        self._init_weight((out_channels, in_channels, kernel_size, kernel_size), bias, gain)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, bias={self.bias is not None}, gain={self.gain:.4g}, scale={self.scale:.4g}"
        )
