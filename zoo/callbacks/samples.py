"""``SampleGrid``: write a PNG grid of samples from fixed noise every N iterations.

The grids come from the model's ``progress_grids()`` (``GANModule``): its
``sample_grid()`` (one row per class for the conditional models), so consecutive
grids are directly comparable, and whatever the model adds (InfoGAN: one sweep
per continuous code, written as ``<name>_step_000500.png``). A model also gets a
grid whenever ``grid_requested()`` says the step just taken asks for one
(ProGAN: the last step of each resolution phase). Files land
in ``<run dir>/samples/step_000500.png``; the same image is sent to a
TensorBoard or Weights & Biases logger when one is attached. Only rank 0
writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid, save_image

if TYPE_CHECKING:
    from zoo.models.base import GANModule


class SampleGrid(pl.Callback):
    """Save a sample grid every ``every_n_steps`` iterations and at the end of training.

    Args:
        every_n_steps: interval in training iterations (``trainer.global_step``,
            i.e. generator updates; see ``docs/architecture.md``). 0 disables
            the periodic grids.
        at_train_end: also write a final grid when training stops.
    """

    def __init__(self, every_n_steps: int = 500, at_train_end: bool = True) -> None:
        if every_n_steps < 0:
            raise ValueError(f"every_n_steps must be >= 0, got {every_n_steps}")
        self.every_n_steps = every_n_steps
        self.at_train_end = at_train_end
        self._last_step = -1
        self.last_path: Path | None = None

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: GANModule, *args) -> None:
        step = trainer.global_step
        periodic = self.every_n_steps and step > 0 and step % self.every_n_steps == 0
        requested = pl_module.grid_requested()  # same on every rank
        if (periodic or requested) and step != self._last_step:
            self.write(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: GANModule) -> None:
        if self.at_train_end and trainer.global_step != self._last_step:
            self.write(trainer, pl_module)

    @staticmethod
    def directory(trainer: pl.Trainer) -> Path:
        return Path(trainer.log_dir or trainer.default_root_dir) / "samples"

    def write(self, trainer: pl.Trainer, pl_module: GANModule) -> Path | None:
        """Render the grid at the current step; returns the PNG path on rank 0."""
        step = trainer.global_step
        self._last_step = step
        directory = self.directory(trainer)  # log_dir is broadcast: call it on every rank
        if not trainer.is_global_zero:
            return None
        directory.mkdir(parents=True, exist_ok=True)
        grids = pl_module.progress_grids()
        for name, (images, nrow) in grids.items():
            grid = make_grid(images.float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1), padding=2)
            path = directory / (f"step_{step:06d}.png" if name == "samples" else f"{name}_step_{step:06d}.png")
            save_image(grid, path)
            self._send_to_loggers(trainer, name, grid, path, step)
            if name == "samples":
                self.last_path = path
        return self.last_path

    @staticmethod
    def _send_to_loggers(trainer: pl.Trainer, name: str, grid: torch.Tensor, path: Path, step: int) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image(name, grid, global_step=step)
            elif isinstance(logger, WandbLogger):
                logger.log_image(key=name, images=[str(path)], step=step)
