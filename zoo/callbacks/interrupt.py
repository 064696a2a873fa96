"""``StopOnSignal``: SIGTERM / SIGINT stop training at the next step boundary with a checkpoint.

A scheduler's SIGTERM (pre-emption, ``scancel``, a time limit) or a Ctrl-C should
cost at most the step in flight, never the run. Lightning already turns SIGTERM
into a ``SIGTERMException`` at the next batch boundary (and broadcasts it to every
DDP rank); this callback routes SIGINT the same way, then writes
``<checkpoints>/last.ckpt`` at the current iteration (to a temporary name, then
renamed, so an interrupted write never leaves half a file) and records the exit
status the command should end with: 128 + the signal number (SIGTERM 143,
SIGINT 130), as a shell reports a process killed by that signal. A second Ctrl-C
interrupts at once, without a checkpoint. ``python -m zoo.fit`` adds it to every
run. SLURM's requeue signal (SIGUSR1) is Lightning's own: pass
``--trainer.plugins`` a ``SLURMEnvironment(requeue_signal=signal.SIGUSR1)``.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities.exceptions import SIGTERMException


class StopOnSignal(pl.Callback):
    """Checkpoint and stop on SIGTERM / SIGINT; :attr:`exit_code` and :attr:`checkpoint` say what happened."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.exit_code: int | None = None
        self.checkpoint: Path | None = None
        self._previous: Any = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, lambda signum, frame: self._on_sigint())

    def _on_sigint(self) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C interrupts at once
        self.signal = signal.SIGINT
        signal.raise_signal(signal.SIGTERM)  # Lightning's handler: stop at the next batch boundary

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore_handler()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._restore_handler()
        if not isinstance(exception, (SIGTERMException, KeyboardInterrupt)):
            return
        if isinstance(exception, KeyboardInterrupt):  # the second Ctrl-C: mid-step, no checkpoint
            self.signal, self.exit_code = signal.SIGINT, 128 + signal.SIGINT
            return
        self.signal = self.signal or signal.SIGTERM
        self.exit_code = 128 + self.signal
        directory = getattr(trainer.checkpoint_callback, "dirpath", None) or Path(trainer.default_root_dir) / "checkpoints"
        self.checkpoint = save_atomically(trainer, Path(directory) / "last.ckpt")

    def _restore_handler(self) -> None:
        if self._previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def save_atomically(trainer: pl.Trainer, path: Path) -> Path:
    """``trainer.save_checkpoint`` to ``path.tmp``, then rename it over ``path`` (on every rank: a collective)."""
    tmp = path.with_name(path.name + ".tmp")
    trainer.save_checkpoint(tmp, weights_only=False)  # the whole training state, to resume from
    if trainer.is_global_zero:
        os.replace(tmp, path)
    trainer.strategy.barrier("save_atomically")
    return path
