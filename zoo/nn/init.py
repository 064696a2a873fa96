"""Weight initialisation schemes used by the papers (plain torch)."""

from __future__ import annotations

from typing import Literal

from torch import nn

InitName = Literal["normal", "xavier", "kaiming", "orthogonal", "default"]


def init_weights(module: nn.Module, scheme: InitName = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise conv / linear / norm layers of ``module`` in place and return it.

    ``normal`` is DCGAN's N(0, 0.02) for conv weights and N(1, 0.02) for norm
    scales (Radford et al. 2015, §4), also used by pix2pix and CycleGAN.
    ``default`` keeps PyTorch's own initialisation. Embeddings keep N(0, 1) so that a
    label carries as much signal as the noise it is concatenated to.
    """
    valid = ("normal", "xavier", "kaiming", "orthogonal", "default")
    if scheme not in valid:
        raise ValueError(f"unknown init scheme {scheme!r}; valid choices: {', '.join(valid)}")
    if scheme == "default":
        return module
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if scheme == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif scheme == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif scheme == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0.0, mode="fan_in")
            else:
                nn.init.orthogonal_(m.weight, gain=gain)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return module
