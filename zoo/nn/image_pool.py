"""A history of generated images for the discriminator (Shrivastava et al. 2017).

Shrivastava et al., "Learning from Simulated and Unsupervised Images through
Adversarial Training", CVPR 2017 (arXiv:1612.07828), §2.3, as used by CycleGAN
(Zhu et al. 2017, §4 "Training details"): "we update the discriminators using
a history of generated images rather than the ones produced by the latest
generators. We keep an image buffer that stores the 50 previously created
images."

Each image of a queried batch is, with probability ½ once the pool is full,
swapped for a random stored image (which leaves the pool, the new image taking
its place); otherwise the image itself is returned. While the pool fills up,
every image is stored and returned as is. ``size=0`` disables the pool.
"""

from __future__ import annotations

import torch
from torch import Tensor


class ImagePool:
    """A buffer of up to ``size`` past fakes; :meth:`query` mixes them into the D batch.

    Args:
        size: capacity in images (CycleGAN: 50); 0 returns every batch unchanged.
        swap_probability: chance that a queried image is exchanged for a stored one once
            the pool is full (CycleGAN: 0.5).

    The stored images live on the device of the batches (detached). ``state_dict`` /
    ``load_state_dict`` let a resumed run continue with the same history.
    """

    def __init__(self, size: int = 50, swap_probability: float = 0.5) -> None:
        if size < 0:
            raise ValueError(f"image pool size must be >= 0, got {size}")
        if not 0.0 <= swap_probability <= 1.0:
            raise ValueError(f"swap_probability must be in [0, 1], got {swap_probability}")
        self.size = size
        self.swap_probability = swap_probability
        self.images: list[Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        """A batch of the same shape as ``images``: each one new or (½ once full) a past fake."""
        if self.size == 0:
            return images.detach()
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()).item() < self.swap_probability:
                slot = int(torch.randint(self.size, ()).item())
                out.append(self.images[slot].to(image.device))
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict:
        """The stored images as one tensor (on the CPU) plus the settings."""
        stacked = torch.stack(self.images).cpu() if self.images else torch.empty(0)
        return {"size": self.size, "swap_probability": self.swap_probability, "images": stacked}

    def load_state_dict(self, state: dict) -> None:
        """Restore the history saved by :meth:`state_dict` (a stored image moves to a batch's device when used)."""
        self.size = int(state["size"])
        self.swap_probability = float(state["swap_probability"])
        images = state["images"]
        self.images = list(images.unbind(0)) if images.numel() else []
