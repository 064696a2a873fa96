"""Helpers shared by the model tests: a bounded training run and a parameter snapshot."""

from __future__ import annotations

import lightning.pytorch as pl
import torch

from datamodules import DigitsDataModule


def train(model: pl.LightningModule, max_steps: int, batch_size: int = 16, datamodule=None, **trainer_kwargs):
    """Fit ``model`` for ``max_steps`` iterations on the digits (or ``datamodule``), quietly, on the CPU."""
    trainer_kwargs.setdefault("logger", False)
    trainer = pl.Trainer(
        max_steps=max_steps, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", num_sanity_val_steps=0, limit_val_batches=0,
        **trainer_kwargs,
    )
    trainer.fit(model, datamodule=datamodule or DigitsDataModule(batch_size=batch_size))
    return trainer


def params(net: torch.nn.Module) -> torch.Tensor:
    """All parameters of ``net`` as one flat copy."""
    return torch.cat([p.detach().flatten().clone() for p in net.parameters()])
