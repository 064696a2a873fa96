"""The ``zoo.fit`` callback of ``benchmarks.run``: iteration times, memory, quality at milestones, the budget.

:class:`Probe` times every iteration (the first ``warmup`` left out of the figures),
samples the process's resident memory (:func:`current_memory_bytes`; on a GPU
``max_memory_allocated``), measures the variant's quality on its embedded data
(:func:`quality`: ``benchmarks.pretrained_recipes.acceptance``) at :data:`MILESTONES`
and at the end, keeping those seconds out of the budget and the times, and stops
the run when ``budget_seconds`` of training are spent. ``benchmarks.run`` adds it to
every run (``--trainer.callbacks+=benchmarks.probe.Probe``) and re-exports it.
"""

from __future__ import annotations

import os
import time
from typing import Any

import lightning.pytorch as pl
import torch
from tqdm.auto import tqdm

from datamodules import DigitsDataModule
from zoo.registry import MODELS

MILESTONES = tuple(50 * 2**k for k in range(12))  # 50, 100, 200, ... iterations: the equal-iteration points


def current_memory_bytes() -> int:
    """This process's resident set size now (Linux ``/proc``; elsewhere its peak so far)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def quality(model_name: str, module) -> dict[str, float]:
    """The variant's acceptance figures on its embedded data (see ``benchmarks.pretrained_recipes``); a model
    without a recipe (one outside the package) that samples the digits gets FD-digits and its floor."""
    from benchmarks.pretrained_recipes import RECIPES, acceptance, digits_scores

    tags = [t for t, r in RECIPES.items() if r.model == model_name]
    rng = torch.random.get_rng_state()  # the run itself must not depend on the probe
    was_training = module.training
    try:
        if tags:
            return acceptance(tags[0], module)
        if not (type(module).capabilities.samples and MODELS.entry(model_name).default_data == "digits"):
            return {}
        module.eval()
        return {k: float(v) for k, v in digits_scores(model_name, module, DigitsDataModule()).items()
                if k in ("fd", "fd_floor", "fd_ratio")}
    finally:
        torch.random.set_rng_state(rng)
        module.train(was_training)


class Probe(pl.Callback):
    """A ``zoo.fit`` callback: iteration times, memory, quality at milestones, and the budget.

    Args:
        budget_seconds: stop after this much training wall time (measurements excluded), after one
            whole iteration at least (a model with n_critic > 1 counts one after its G step).
        measure: measure the variant's embedded-data quality at :data:`MILESTONES` and at the end.
        warmup: first iterations left out of the per-iteration times.
    """

    def __init__(self, budget_seconds: float, measure: bool = True, warmup: int = 5, progress: bool = True) -> None:
        self.budget_seconds, self.measure, self.warmup, self.progress = budget_seconds, measure, warmup, progress
        self._bar: tqdm | None = None
        self.iteration_seconds: list[float] = []
        self.curve: list[dict[str, Any]] = []
        self.peak_memory, self.measure_seconds, self.train_seconds = 0, 0.0, 0.0
        self._start = self._batch_start = 0.0
        self._next_milestone = 0
        self._last_step = -1

    def on_train_start(self, trainer, module) -> None:
        if module.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(module.device)
        self._bar = tqdm(total=round(self.budget_seconds), unit="s", desc=f"{MODELS.name_of(module)} (budget)",
                         disable=not self.progress or not trainer.is_global_zero, leave=True)
        self._start = time.perf_counter()

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        self.iteration_seconds.append(now - self._batch_start)
        if module.device.type != "cuda":
            self.peak_memory = max(self.peak_memory, current_memory_bytes())
        self.train_seconds = now - self._start - self.measure_seconds
        step = trainer.global_step
        if self.measure and step != self._last_step and self._next_milestone < len(MILESTONES) \
                and step >= MILESTONES[self._next_milestone]:
            self._next_milestone += 1
            self._record(module, step)
        self._last_step = step
        if self._bar is not None and int(self.train_seconds) > self._bar.n:
            self._bar.n = min(int(self.train_seconds), self._bar.total)
            self._bar.set_postfix(iteration=step, refresh=False)
            self._bar.refresh()
        if self.train_seconds >= self.budget_seconds and step >= 1:  # at least one whole iteration (n_critic D steps + G)
            trainer.should_stop = True

    def on_train_end(self, trainer, module) -> None:
        if self._bar is not None:
            self._bar.close()
        if module.device.type == "cuda":
            self.peak_memory = torch.cuda.max_memory_allocated(module.device)
        if self.measure and (not self.curve or self.curve[-1]["iteration"] != trainer.global_step):
            self._record(module, trainer.global_step)

    def _record(self, module, step: int) -> None:
        start = time.perf_counter()
        scores = quality(MODELS.name_of(module), module)
        self.curve.append({"iteration": step, "seconds": round(self.train_seconds, 2), **scores})
        self.measure_seconds += time.perf_counter() - start

    def timed_iterations(self) -> list[float]:
        return self.iteration_seconds[self.warmup:] or self.iteration_seconds
