"""Opt-in speed-ups for GPUs: ``torch.compile`` of the networks and the channels-last memory format.

    python -m zoo.fit --model dcgan --trainer.callbacks+=Compile                   # inductor, on a GPU
    python -m zoo.fit --model dcgan --trainer.callbacks+=ChannelsLast --trainer.precision 16-mixed

Both act on the model's networks (``GANModule.networks``: each generator and discriminator) before
the strategy wraps them (DDP included), in place, so parameter names, checkpoints, EMA and
``zoo.load`` are unchanged: a compiled run resumes without the callback and the other way round.
Neither pays off on a CPU (measure with ``benchmarks.run``); the test suite runs both there
(``Compile(backend="eager")``) to check that the paths train.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch


class Compile(pl.Callback):
    """``nn.Module.compile()`` each network of the model (``torch.compile`` in place).

    Args:
        backend: the ``torch.compile`` backend (``"inductor"``, the default; ``"eager"`` only traces,
            a check that the networks compile without the cost of code generation).
        mode: ``torch.compile`` mode (``None``, ``"reduce-overhead"``, ``"max-autotune"``).
        dynamic: ``torch.compile``'s ``dynamic`` (``None``: decide; ProGAN's resolutions change shape).
    """

    def __init__(self, backend: str = "inductor", mode: str | None = None, dynamic: bool | None = None) -> None:
        self.backend, self.mode, self.dynamic = backend, mode, dynamic

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        options: dict[str, Any] = {"backend": self.backend, "dynamic": self.dynamic}
        if self.mode is not None:
            options["mode"] = self.mode
        for name in pl_module.networks:
            getattr(pl_module, name).compile(**options)


class ChannelsLast(pl.Callback):
    """Keep each network's weights in ``torch.channels_last`` (NHWC) memory format.

    Convolutions then run in NHWC, the layout tensor cores prefer under ``16-mixed`` / ``bf16-mixed``;
    a convolution's output follows its weight's format, so the images need no conversion.
    """

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for name in pl_module.networks:
            getattr(pl_module, name).to(memory_format=torch.channels_last)
