"""Logging the losses of a step, and stopping at the first non-finite one (a mixin of ``GANModule``).

* ``self.log_losses(d_loss=..., g_loss=...)`` logs ``train/<name>`` for every model (one key
  scheme), with a ``step`` column that counts training iterations (``global_step``: the same
  number as checkpoint names, grid files and ``--trainer.max_steps``).
* Losses are handed to Lightning only on the steps whose logs it writes (every
  ``log_every_n_steps`` batches): ``self.log`` costs about a millisecond per key in Python, as
  much as a whole iteration of the 2-D toy (``benchmarks.overhead`` measured it). When training
  ends between two written steps, :meth:`LossLog.write_final_losses` writes the last step's
  values, so ``metrics.csv`` always ends at the step ``last.ckpt`` holds.
* A non-finite loss raises :class:`DivergenceError`, naming the iteration, the loss and its
  network. ``backward_step`` checks each total *before* its backward, so a diverged update never
  reaches the weights: the checkpoint written at the stop is the last good state.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or weight; the message names the iteration, loss and network.

    ``weights_intact`` says whether the weights are still those of the last good step (the loss
    was caught before its update), so that a checkpoint of them may be written.
    """

    def __init__(self, message: str, *, weights_intact: bool = False) -> None:
        super().__init__(message)
        self.weights_intact = weights_intact


class LossLog:
    """``log_losses``, ``check_finite`` and the last step's row of ``metrics.csv``."""

    def init_loss_log(self) -> None:
        self._latest_losses: dict[str, Tensor] = {}  # the last value of each train/ loss
        self._written_step = -1  # the last global_step whose losses reached the loggers

    def log_losses(self, **losses: Tensor) -> None:
        """Log ``train/<name>`` for each keyword after checking that every loss is finite.

        A loss computed only on some steps (lazy R1, ``n_critic``) is logged with its latest value.
        """
        self.check_finite(losses, weights_intact=False)
        self._latest_losses.update({f"train/{k}": v.detach() for k, v in losses.items()})
        if self.writes_logs_now():
            self._hand_to_lightning(written=True)
        elif self.has_trainer and 0 < self.trainer.max_steps <= self.global_step:
            self._hand_to_lightning(written=False)  # the last step: its values reach callback_metrics

    def _hand_to_lightning(self, written: bool) -> None:
        self.log_dict(self._latest_losses, prog_bar=True)
        # the row's step counts iterations, not batches (and the epoch column, which Lightning then leaves empty)
        self.log_dict({"step": float(self.global_step), "epoch": float(self.current_epoch)})
        if written:
            self._written_step = self.global_step

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """A run stopped by a callback (``max_time``: Lightning's ``Timer``) ends on this batch, and Lightning
        writes its logs now: hand it this step's losses, not the last written ones again."""
        if self.trainer.should_stop and self._latest_losses and self._written_step != self.global_step:
            self._hand_to_lightning(written=True)

    def writes_logs_now(self) -> bool:
        """Whether Lightning writes this training step's logs: every ``log_every_n_steps`` batches
        (counted by :attr:`batch_number`, as Lightning counts them); ``True`` outside a Trainer."""
        if not self.has_trainer:
            return True
        every = self.trainer.log_every_n_steps
        return every > 0 and (self.batch_number + 1) % every == 0

    def write_final_losses(self) -> None:
        """When training ends on a step whose losses were not written, send them to the loggers now."""
        if not self.has_trainer or not self._latest_losses or self._written_step == self.global_step:
            return
        values = {k: float(v) for k, v in self._latest_losses.items()} | {"epoch": self.current_epoch}
        for logger in self.loggers:
            logger.log_metrics(values, step=self.global_step)
            logger.save()
        self._written_step = self.global_step

    def check_finite(self, losses: dict[str, Tensor], *, weights_intact: bool = True) -> None:
        """Stop training at the first non-finite loss, naming the iteration, the loss and its network.

        One host synchronisation per call (all losses checked in one reduction). ``weights_intact``:
        the check runs before the losses' update (``backward_step``), so the weights are the last good
        ones and the stop may save them; ``log_losses`` checks after the updates (``False``).
        """
        if not losses or torch.stack([v.detach().float().reshape(()) for v in losses.values()]).isfinite().all():
            return
        bad = {k: float(v) for k, v in losses.items() if not torch.isfinite(v.detach()).all()}
        names = ", ".join(f"train/{k} = {v}" for k, v in bad.items())
        owners = sorted({"generator" if k.startswith("g_") else "discriminator" for k in bad})
        kept = ("The weights are those before this update; the stop saves them as last.ckpt."
                if weights_intact else "Nothing from this step was saved; the last checkpoint is the last good one.")
        raise DivergenceError(
            f"training diverged at iteration {self.global_step} (batch {self.batch_number}): {names} "
            f"(the {' and '.join(owners)}'s loss). {kept} Lower the learning rate, or add "
            "--model.gradient_clip_val / a gradient penalty.",
            weights_intact=weights_intact,
        )
