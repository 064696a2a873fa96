"""``RunProvenance``: record in every checkpoint which data set trained it.

The model records what it is (``checkpoint["zoo"]["name"]``, ``["class_path"]``);
this callback adds ``checkpoint["zoo"]["data"] = {"name", "init_args"}`` for a
registered DataModule, so ``python -m zoo.evaluate --ckpt`` can rebuild the
training data without flags. It lives here rather than in ``GANModule`` so that
models never import :mod:`datamodules` (docs/architecture.md#layers);
``zoo.fit`` adds it to every run. It also copies the list of unreadable image
files a folder DataModule skipped (:mod:`datamodules.verify`) into the run directory.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl

from datamodules import DATAMODULES
from datamodules.verify import copy_bad_files_list


def data_provenance(datamodule: Any) -> dict[str, Any] | None:
    """``{"name", "init_args"}`` of a registered DataModule instance, else ``None``."""
    entry = DATAMODULES.find_class(type(datamodule)) if datamodule is not None else None
    if entry is None:
        return None
    init_args = {k: v for k, v in dict(getattr(datamodule, "hparams", {})).items() if not k.startswith("_")}
    return {"name": entry.name, "init_args": init_args}


class RunProvenance(pl.Callback):
    """Adds the training data set's registered name and constructor arguments to each checkpoint,
    and copies a folder DataModule's list of unreadable files into the run directory
    (``<run dir>/bad_files.txt``) when training starts."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        log_dir = trainer.log_dir  # a collective under DDP: every rank asks
        if trainer.is_global_zero and log_dir:
            copy_bad_files_list(getattr(trainer, "datamodule", None), log_dir)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        data = data_provenance(getattr(trainer, "datamodule", None))
        if data is not None:
            checkpoint.setdefault("zoo", {})["data"] = data
