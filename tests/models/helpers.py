"""Helpers shared by the model tests: a bounded training run, a parameter snapshot, small registered models."""

from __future__ import annotations

import inspect

import lightning.pytorch as pl
import torch

import datamodules
import zoo
from datamodules import DigitsDataModule
from zoo.registry import MODELS

#: small networks for every registered model (each model takes the arguments it has)
SMALL = dict(generator_channels=8, discriminator_channels=8, latent_dim=16, noise_dim=16, q_hidden=16, hidden=16,
             generator_width=8, discriminator_width=8,
             num_blocks=1, labeled_batch_size=16)


def train(model: pl.LightningModule, max_steps: int, batch_size: int = 16, datamodule=None, **trainer_kwargs):
    """Fit ``model`` for ``max_steps`` iterations on the digits (or ``datamodule``), quietly, on the CPU."""
    trainer_kwargs.setdefault("logger", False)
    trainer_kwargs.setdefault("log_every_n_steps", 1)  # the tests read every step's logged losses
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


def constructor_args(name: str) -> set[str]:
    """The constructor arguments of the model registered as ``name``: its own and the shared settings it takes."""
    cls = zoo.get_model_class(name)
    own = {n for n, p in inspect.signature(cls.__init__).parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD}
    return (own - {"self"}) | set(cls.settings())


def small_model(name: str, batch_size: int = 8, **kwargs):
    """``(model, datamodule)``: the registered model ``name`` with small networks, built for its default
    data set (its attributes linked into the model as ``zoo.fit`` links them), and that DataModule."""
    from zoo.fit_setup import DATA_LINKS

    datamodule = datamodules.create_datamodule(MODELS.entry(name).default_data, batch_size=batch_size)
    args = constructor_args(name)
    links = {arg: getattr(datamodule, attr) for attr, arg in DATA_LINKS.items()
             if arg in args and hasattr(datamodule, attr)}
    small = {k: v for k, v in SMALL.items() if k in args}
    return zoo.create_model(name, **{**links, **small, **kwargs}), datamodule
