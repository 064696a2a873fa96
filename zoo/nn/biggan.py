"""BigGAN's generator and discriminator, lite widths (plain torch).

Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity Natural Image Synthesis",
ICLR 2019 (arXiv:1809.11096), in the 32x32 / 64x64 layout of the references' CIFAR-10
configurations (ajbrock/BigGAN-PyTorch ``BigGAN.py``, StudioGAN ``big_resnet.py``), built from the
zoo's blocks (:mod:`zoo.nn.blocks`):

* **G**: the noise z (``latent_dim``) is split into ``n_blocks + 1`` equal chunks (the hierarchical
  latent, §3.3 / Appendix B): the first goes through a linear layer to a 4x4 map; every residual
  up-block (:class:`~zoo.nn.blocks.ResBlockUp`) doubles the resolution and gets its own chunk, joined
  to a **shared** class embedding (``embed_dim``, 128 in the paper), as the conditioning vector of its
  conditional batch norms; self-attention (SAGAN) after the block that reaches
  ``attention_resolution``; then BN-ReLU-conv3-tanh. The shared embedding is marked
  ``spectral_norm_exempt``: spectral norm goes on every other conv and linear of G, not on it.
* **D**: residual down-blocks (:class:`~zoo.nn.blocks.ResBlockDown`, the first without its leading
  ReLU) down to 8x8, then two more at 8x8; self-attention at ``attention_resolution``; ReLU and a
  spatial sum give φ(x); the output is the projection D(x, y) = ψ(φ(x)) + ⟨e(y), φ(x)⟩ (Miyato &
  Koyama 2018). Spectral norm everywhere, the embedding included (the model applies it).

Initialisation: every conv, linear and embedding weight orthogonal (:func:`orthogonal_init`, the
references' ``G_init`` / ``D_init`` ``'ortho'``): under spectral norm this keeps every singular value
at 1 (a default-initialised matrix divided by its largest singular value shrinks every other
direction), and the shared embedding's rows start at norm 1, so the class does not drown the z chunk
it is joined to in the conditional batch norms.

Widths: every block of G has ``4 · width`` channels and every block of D ``4 · width`` (the
references use width 96 and 128 at 32x32; the model's lite default is 8: see docs/models/biggan.md for
what it costs).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from zoo.nn.blocks import ResBlockDown, ResBlockUp, SelfAttention


def up_blocks(image_size: int) -> int:
    """How many doublings take 4x4 to ``image_size`` (a power of two >= 8)."""
    blocks = int(math.log2(image_size)) - 2
    if image_size < 8 or 4 * 2**blocks != image_size:
        raise ValueError(f"BigGAN needs a square power-of-two image side >= 8, got {image_size}")
    return blocks


def orthogonal_init(network: nn.Module) -> nn.Module:
    """Orthogonal weights (``torch.nn.init.orthogonal_``) and zero biases for every conv, linear and
    embedding of ``network`` (BigGAN-PyTorch ``init_weights`` with ``'ortho'``; StudioGAN the same)."""
    for module in network.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
            nn.init.orthogonal_(module.weight)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
    return network


class BigGANGenerator(nn.Module):
    """G(z, y) -> images in [-1, 1] of ``image_shape``; see the module docstring.

    Args:
        latent_dim: size of z, split into ``up_blocks + 1`` equal chunks (a multiple of that).
        num_classes: number of classes y.
        image_shape: (C, H, W), H == W a power of two >= 8.
        width: channel unit: every block has ``4 · width`` channels.
        embed_dim: size of the shared class embedding.
        attention_resolution: the resolution after which self-attention is applied (0: none).
    """

    def __init__(self, latent_dim: int = 80, num_classes: int = 10, image_shape: tuple[int, int, int] = (3, 32, 32),
                 width: int = 32, embed_dim: int = 128, attention_resolution: int = 16) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        if height != width_px:
            raise ValueError(f"BigGAN needs square images, got image_shape {tuple(image_shape)}")
        n_blocks = up_blocks(height)
        if latent_dim % (n_blocks + 1):
            raise ValueError(f"latent_dim {latent_dim} must split into {n_blocks + 1} equal chunks (one for the "
                             f"input and one per block at {height}x{height}), e.g. {20 * (n_blocks + 1)}")
        self.chunk = latent_dim // (n_blocks + 1)
        self.latent_dim, self.channels = latent_dim, 4 * width
        self.shared = nn.Embedding(num_classes, embed_dim)
        self.shared.spectral_norm_exempt = True  # the paper: spectral norm on G's convs and linears, not here
        self.linear = nn.Linear(self.chunk, self.channels * 4 * 4)
        self.blocks = nn.ModuleList(ResBlockUp(self.channels, self.channels, condition_dim=embed_dim + self.chunk)
                                    for _ in range(n_blocks))
        self.attention_after = int(math.log2(attention_resolution)) - 3 if attention_resolution else -1
        self.attention = SelfAttention(self.channels) if 0 <= self.attention_after < n_blocks else None
        self.output = nn.Sequential(nn.BatchNorm2d(self.channels), nn.ReLU(),
                                    nn.Conv2d(self.channels, channels, 3, padding=1), nn.Tanh())
        orthogonal_init(self)

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        chunks = z.split(self.chunk, dim=1)
        embedding = self.shared(y)
        h = self.linear(chunks[0]).view(z.size(0), self.channels, 4, 4)
        for index, (block, chunk) in enumerate(zip(self.blocks, chunks[1:])):
            h = block(h, torch.cat([embedding, chunk], dim=1))
            if index == self.attention_after and self.attention is not None:
                h = self.attention(h)
        return self.output(h)


class BigGANDiscriminator(nn.Module):
    """D(x, y) -> one logit per image, ψ(φ(x)) + ⟨e(y), φ(x)⟩; see the module docstring.

    Args:
        num_classes: number of classes y.
        image_shape: (C, H, W), H == W a power of two >= 8.
        width: channel unit: every block has ``4 · width`` channels.
        attention_resolution: self-attention on the map of this resolution (0: none).
    """

    def __init__(self, num_classes: int = 10, image_shape: tuple[int, int, int] = (3, 32, 32), width: int = 32,
                 attention_resolution: int = 16) -> None:
        super().__init__()
        channels, height, _ = image_shape
        downs = up_blocks(height) - 1  # down to 8x8
        c = 4 * width
        blocks: list[nn.Module] = []
        size = height
        for index in range(downs + 2):
            down = index < downs
            blocks.append(ResBlockDown(channels if index == 0 else c, c, downsample=down, first=index == 0))
            size = size // 2 if down else size
            if attention_resolution and size == attention_resolution and not any(
                    isinstance(b, SelfAttention) for b in blocks):
                blocks.append(SelfAttention(c))
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(c, 1)
        self.embed = nn.Embedding(num_classes, c)
        orthogonal_init(self)

    def features(self, x: Tensor) -> Tensor:
        """φ(x): the blocks, a ReLU and a sum over the positions, (B, 4 · width)."""
        return torch.relu(self.blocks(x)).sum(dim=(2, 3))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        h = self.features(x)
        return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)


def truncated_noise(n: int, dim: int, threshold: float | None, device: torch.device | str = "cpu") -> Tensor:
    """z ~ N(0, I) of shape (n, dim), each value outside [-threshold, threshold] redrawn until it falls inside:
    the truncation trick of Brock et al. 2019 (§3.1). ``threshold=None`` is plain N(0, I)."""
    z = torch.randn(n, dim, device=device)
    if threshold is None:
        return z
    if threshold <= 0:
        raise ValueError(f"the truncation threshold must be > 0 (or None), got {threshold}")
    outside = z.abs() > threshold
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), device=device)
        outside = z.abs() > threshold
    return z
