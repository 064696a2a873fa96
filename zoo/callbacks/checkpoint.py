"""``RunCheckpoint``: Lightning's ``ModelCheckpoint``, with ``last.ckpt`` at the step the run ended on.

``ModelCheckpoint(every_n_train_steps=500, save_last=True)`` writes ``last.ckpt`` with each
periodic checkpoint, so a run that ends between two of them (``--trainer.max_time``,
``max_epochs``, a ``max_steps`` that is not a multiple of the interval) would leave up to an
interval of work unsaved. This subclass also writes ``last.ckpt`` when training ends, and when it
stops at a non-finite loss caught before its update (``DivergenceError.weights_intact``: the
weights are still the last good step's). A signal's checkpoint is ``StopOnSignal``'s. Every write
goes through :func:`zoo.callbacks.interrupt.save_atomically` (a temporary file, then a rename).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint

from zoo.callbacks.interrupt import save_atomically
from zoo.models.loss_log import DivergenceError


class RunCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose ``last.ckpt`` always holds the step the run ended on (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.saved_step = -1  # the global_step of the newest checkpoint written by this run

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> dict:
        self.saved_step = trainer.global_step
        return super().on_save_checkpoint(trainer, pl_module, checkpoint)

    def last_path(self, trainer: pl.Trainer) -> Path:
        directory = self.dirpath or Path(trainer.default_root_dir) / "checkpoints"
        return Path(directory) / f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}"

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        if self.save_last and self.saved_step != trainer.global_step and not trainer.fast_dev_run:
            save_atomically(trainer, self.last_path(trainer))

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        super().on_exception(trainer, pl_module, exception)
        if isinstance(exception, DivergenceError) and exception.weights_intact and self.save_last:
            if self.saved_step != trainer.global_step:
                save_atomically(trainer, self.last_path(trainer))
