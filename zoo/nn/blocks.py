"""Building blocks of the post-2017 image GANs, written once (plain torch): every model that needs one reuses it.

* :func:`apply_spectral_norm`: spectral normalisation (Miyato, Kataoka, Koyama & Yoshida, ICLR 2018)
  of every convolution, linear and embedding layer of a network, with torch's parametrisation
  (``torch.nn.utils.parametrizations.spectral_norm``: W / σ(W), σ estimated by one power iteration
  per training forward; its vectors are buffers, so checkpoints save and restore them exactly).
* :class:`SelfAttention`: the SAGAN block (Zhang, Goodfellow, Metaxas & Odena, ICML 2019, §3): 1x1
  convolutions to C/8 (query, key) and C/2 (value) channels, keys and values max-pooled 2x2 (the
  BigGAN-PyTorch form), a 1x1 convolution back to C, and a learned scale γ initialised at 0, so the
  block starts as the identity: y = x + γ·o.
* :class:`ConditionalBatchNorm2d`: batch norm without its own affine, whose gain ``1 + W_γ a`` and bias
  ``W_β a`` come from a conditioning vector ``a`` (a class embedding, or z with it: de Vries et al. 2017;
  Miyato & Koyama 2018; BigGAN's shared embedding).
* :class:`ResBlockUp` / :class:`ResBlockDown`: the residual blocks of SNGAN / BigGAN's generator and
  discriminator (BN-ReLU-up-conv-BN-ReLU-conv with an up-sampled 1x1 shortcut; ReLU-conv-ReLU-conv-pool
  with a 1x1 pooled shortcut, the first block of D without its leading ReLU).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrizations

from zoo.nn.equalized import EqualizedConv2d, EqualizedLinear

SPECTRAL_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding, EqualizedConv2d, EqualizedLinear)


def apply_spectral_norm(network: nn.Module, n_power_iterations: int = 1, eps: float = 1e-12) -> nn.Module:
    """Spectrally normalise the weight of every conv / linear / embedding layer of ``network`` in place;
    returns it. Layers already normalised are left alone. ProGAN's equalized-learning-rate layers are
    normalised too: their run-time He constant then scales a weight of spectral norm 1, so each layer's
    Lipschitz constant is that fixed constant. A module marked ``spectral_norm_exempt = True`` is left
    alone (BigGAN's shared class embedding). ``eps`` is the power iteration's (BigGAN: 1e-6)."""
    for module in network.modules():
        if (isinstance(module, SPECTRAL_LAYERS) and not getattr(module, "spectral_norm_exempt", False)
                and not parametrizations.parametrize.is_parametrized(module, "weight")):
            dim = 1 if isinstance(module, nn.ConvTranspose2d) else 0
            parametrizations.spectral_norm(module, n_power_iterations=n_power_iterations, eps=eps, dim=dim)
    return network


def spectrally_normalised(network: nn.Module) -> list[str]:
    """Names of the layers of ``network`` whose weight is spectrally normalised."""
    return [name for name, module in network.named_modules()
            if isinstance(module, SPECTRAL_LAYERS) and parametrizations.parametrize.is_parametrized(module, "weight")]


class SelfAttention(nn.Module):
    """SAGAN self-attention over the positions of a (N, C, H, W) map; the identity at initialisation (γ = 0).

    o = v · softmax(qᵀk) with q = W_q x (C/8 channels), k = maxpool(W_k x) (C/8), v = maxpool(W_v x) (C/2),
    then y = x + γ · W_o o. H and W must be even (keys and values are pooled 2x2).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 8:
            raise ValueError(f"self-attention needs at least 8 channels (C/8 queries), got {channels}")
        self.query = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.key = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.value = nn.Conv2d(channels, channels // 2, 1, bias=False)
        self.out = nn.Conv2d(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        query = self.query(x).flatten(2)  # (N, C/8, HW)
        key = F.max_pool2d(self.key(x), 2).flatten(2)  # (N, C/8, HW/4)
        value = F.max_pool2d(self.value(x), 2).flatten(2)  # (N, C/2, HW/4)
        attention = torch.softmax(query.transpose(1, 2) @ key, dim=-1)  # (N, HW, HW/4)
        out = (value @ attention.transpose(1, 2)).view(n, c // 2, h, w)
        return x + self.gamma * self.out(out)


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose gain and bias are functions of a conditioning vector: y = BN(x)·(1 + W_γ a) + W_β a.

    Args:
        channels: feature maps of x.
        condition_dim: size of the conditioning vector ``a`` (a class embedding, [z_chunk, embedding], ...).
    """

    def __init__(self, channels: int, condition_dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(condition_dim, channels, bias=False)
        self.bias = nn.Linear(condition_dim, channels, bias=False)
        for linear in (self.gain, self.bias):  # near plain batch norm at the start (not exactly: a zero matrix
            nn.init.normal_(linear.weight, 0.0, 0.02)  # has no spectral norm to divide by)

    def forward(self, x: Tensor, condition: Tensor) -> Tensor:
        gain = 1 + self.gain(condition)[:, :, None, None]
        return self.norm(x) * gain + self.bias(condition)[:, :, None, None]


class ResBlockUp(nn.Module):
    """G's residual block, doubling the resolution: x -> CBN-ReLU-up-conv3-CBN-ReLU-conv3, plus up(conv1(x)).

    With ``condition_dim`` the norms are :class:`ConditionalBatchNorm2d` fed by ``forward``'s ``condition``;
    without, plain batch norm.
    """

    def __init__(self, in_channels: int, out_channels: int, condition_dim: int | None = None) -> None:
        super().__init__()
        norm = (lambda c: ConditionalBatchNorm2d(c, condition_dim)) if condition_dim else nn.BatchNorm2d
        self.norm1, self.norm2 = norm(in_channels), norm(out_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def _norm(self, norm: nn.Module, x: Tensor, condition: Tensor | None) -> Tensor:
        return norm(x, condition) if isinstance(norm, ConditionalBatchNorm2d) else norm(x)

    def forward(self, x: Tensor, condition: Tensor | None = None) -> Tensor:
        h = F.interpolate(F.relu(self._norm(self.norm1, x, condition)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self._norm(self.norm2, self.conv1(h), condition)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResBlockDown(nn.Module):
    """D's residual block, halving the resolution (``downsample``): x -> ReLU-conv3-ReLU-conv3-avgpool, plus
    avgpool(conv1(x)). ``first`` leaves out the leading ReLU (D's first block sees the image itself)."""

    def __init__(self, in_channels: int, out_channels: int, downsample: bool = True, first: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels or downsample else None
        self.downsample, self.first = downsample, first

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        skip = self.shortcut(x) if self.shortcut is not None else x
        if self.downsample:
            h, skip = F.avg_pool2d(h, 2), F.avg_pool2d(skip, 2)
        return h + skip
