"""``ProgressLines``: training progress as whole lines, for logs (CI, ``nohup``, a file) rather than terminals.

Lightning's progress bar redraws itself with carriage returns many times a second; written to a
file that is hundreds of kilobytes of overwritten lines (``make demo > log`` was 850 KB). When
standard error is not a terminal, ``python -m zoo.fit`` uses this callback instead: one line every
``every_percent`` of the run (of ``max_steps``, else of ``max_time``) and at least every
``every_seconds``, with the iteration speed, the time left and the latest losses::

    step 500/2000 (25%)  9.8 it/s  elapsed 0:51  left 2:33  d_loss 1.204  g_loss 0.812

Only rank 0 writes.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import TextIO

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Timer


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds))).removeprefix("0:")


class ProgressLines(pl.Callback):
    """One progress line every ``every_percent`` % of the run and at least every ``every_seconds`` s."""

    def __init__(self, every_percent: float = 5.0, every_seconds: float = 60.0, stream: TextIO | None = None) -> None:
        if every_percent <= 0 or every_seconds <= 0:
            raise ValueError(f"every_percent and every_seconds must be > 0, got {every_percent}, {every_seconds}")
        self.every_percent, self.every_seconds = every_percent, every_seconds
        self.stream = stream
        self.lines = 0
        self._start = self._last_time = 0.0
        self._first_step = 0
        self._start_fraction = self._last_fraction = 0.0
        self._last_step = -1

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        if self._start == 0.0:  # the clock starts with the first batch, after the set-up
            self._start = self._last_time = time.monotonic()
            self._first_step = trainer.global_step
            self._start_fraction = self._last_fraction = self.fraction(trainer)

    @staticmethod
    def fraction(trainer: pl.Trainer) -> float:
        """How much of the run is done: of ``max_steps`` when set, else of ``max_time`` (Lightning's
        ``Timer``) when set, else 0."""
        if trainer.max_steps and trainer.max_steps > 0:
            return min(1.0, trainer.global_step / trainer.max_steps)
        timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        remaining = timer.time_remaining() if timer is not None else None
        if remaining is None:
            return 0.0
        elapsed = timer.time_elapsed()
        return min(1.0, elapsed / max(elapsed + remaining, 1e-9))

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        now = time.monotonic()
        fraction = self.fraction(trainer)
        due = fraction - self._last_fraction >= self.every_percent / 100 or now - self._last_time >= self.every_seconds
        if due and trainer.is_global_zero:
            self.write(trainer, now, fraction)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero and trainer.global_step != self._last_step:
            self.write(trainer, time.monotonic(), self.fraction(trainer))

    def write(self, trainer: pl.Trainer, now: float, fraction: float) -> None:
        step, elapsed = trainer.global_step, now - self._start
        rate = (step - self._first_step) / elapsed if elapsed > 0 else 0.0
        total = f"/{trainer.max_steps}" if trainer.max_steps and trainer.max_steps > 0 else ""
        parts = [f"step {step}{total} ({fraction:.0%})", f"{rate:.1f} it/s", f"elapsed {_clock(elapsed)}"]
        done = fraction - self._start_fraction
        if 0 < fraction < 1 and done > 0:
            parts.append(f"left {_clock(elapsed * (1 - fraction) / done)}")
        losses = {k.removeprefix("train/"): float(v) for k, v in trainer.callback_metrics.items()
                  if k.startswith("train/") and v.numel() == 1}
        parts += [f"{k} {v:.3f}" for k, v in sorted(losses.items())[:6]]
        print("  ".join(parts), file=self.stream or sys.stderr, flush=True)
        self.lines += 1
        self._last_time, self._last_fraction, self._last_step = now, fraction, step
