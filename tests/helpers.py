"""Callbacks used by tests through ``--trainer.callbacks`` (importable by subprocesses)."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import torch


class SaveRankWeights(pl.Callback):
    """At the end of training every rank saves its networks' state dicts to ``directory/rank<R>.pt``."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        state = {
            **{name: getattr(pl_module, name).state_dict() for name in pl_module.networks},
            "global_step": trainer.global_step,
            "world_size": trainer.world_size,
            "strategy": type(trainer.strategy).__name__,
            # what the networks' own DDP wrappers search for (GANDDPStrategy wraps each network)
            "find_unused_parameters": any(wrapper.find_unused_parameters for wrapper in pl_module._ddp.values()),
        }
        torch.save(state, self.directory / f"rank{trainer.global_rank}.pt")
