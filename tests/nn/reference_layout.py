"""Test-only networks laid out like the CycleGAN / pix2pix reference implementation.

They reproduce the module nesting, the layer order (hence the state-dict key
names such as ``model.10.conv_block.1.weight`` or ``model.model.1.model.3.model.2.weight``)
and the bias rules of ``models/networks.py`` in junyanz/pytorch-CycleGAN-and-pix2pix,
including its in-place activations, so that a state dict they produce is what the
authors' released files hold and their outputs are the reference's. Written from
those facts for the tests; only the building blocks the tests need.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _norm(norm: str, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels)  # affine=False, no running statistics
    return nn.Identity()


class RefResnetBlock(nn.Module):
    def __init__(self, channels: int, norm: str, bias: bool) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), _norm(norm, channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), _norm(norm, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)


class RefResnetGenerator(nn.Module):
    """One flat ``model`` Sequential: stem (0-3), two downsamplings (4-9), blocks, two upsamplings, head."""

    def __init__(self, in_channels: int, out_channels: int, ngf: int, num_blocks: int, norm: str = "instance") -> None:
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), _norm(norm, ngf),
                                   nn.ReLU(True)]
        for c in (ngf, 2 * ngf):
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), _norm(norm, 2 * c), nn.ReLU(True)]
        layers += [RefResnetBlock(4 * ngf, norm, bias) for _ in range(num_blocks)]
        for c in (4 * ngf, 2 * ngf):
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias), _norm(norm, c // 2),
                       nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class RefUnetLevel(nn.Module):
    """One nested U-Net level; all but the outermost return ``cat([x, model(x)])``."""

    def __init__(self, outer: int, inner: int, kind: str, norm: str, sub: nn.Module | None = None,
                 in_channels: int | None = None, dropout: bool = False) -> None:
        super().__init__()
        bias = norm == "instance"
        self.outermost = kind == "outermost"
        down = nn.Conv2d(in_channels or outer, inner, 4, 2, 1, bias=bias)
        if kind == "outermost":
            layers = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1), nn.Tanh()]
        elif kind == "innermost":
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias), _norm(norm, outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, _norm(norm, inner), sub, nn.ReLU(True),
                      nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1, bias=bias), _norm(norm, outer)]
            layers += [nn.Dropout(0.5)] if dropout else []
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)  # x has been LeakyReLU'd in place by model[0]


class RefUnetGenerator(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, num_downs: int, ngf: int, norm: str = "batch",
                 dropout: bool = True) -> None:
        super().__init__()
        level = RefUnetLevel(8 * ngf, 8 * ngf, "innermost", norm)
        for _ in range(num_downs - 5):
            level = RefUnetLevel(8 * ngf, 8 * ngf, "middle", norm, level, dropout=dropout)
        for mult in (4, 2, 1):
            level = RefUnetLevel(mult * ngf, 2 * mult * ngf, "middle", norm, level)
        self.model = RefUnetLevel(out_channels, ngf, "outermost", norm, level, in_channels=in_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


def randomise(net: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial 1-d parameters and batch-norm statistics (conv weights keep PyTorch's
    default init), so that a wrong mapping shows in the outputs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if name.endswith("num_batches_tracked") or tensor.dim() > 1:
                continue
            noise = torch.randn(tensor.shape, generator=generator) * 0.2
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif name.endswith("weight"):  # a norm's scale
                tensor.copy_(1 + noise)
            else:
                tensor.copy_(noise)
    return net
