"""``GenerativeMetrics``: FID / IS / KID (and digits metrics) during training, right under DDP.

Every ``every_n_steps`` iterations (and when training ends) each rank generates
its share of ``num_samples`` images, features are gathered across ranks, and
the values are logged as ``val/fid``, ``val/is``, ``val/kid``, ... together with
``val/metrics_seconds`` (the cost of the evaluation). Rank 0 also appends one
JSON line per evaluation to ``<run dir>/metrics.jsonl`` recording the number of
generated samples, the reference split and its size, and the extractors (which
Inception weights, which digits classifier); the extractors are also printed at
set-up and logged as hyper-parameters ``metrics/inception``, ``metrics/digits``.

The Inception weights are resolved in :meth:`setup`, before the first training
step: a missing file that cannot be downloaded stops the run at once with a
message naming the URL and the path (see :mod:`zoo.metrics.inception`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities import rank_zero_info
import torch
from torch import Tensor
from torch.utils.data import Dataset

from zoo.metrics.cifar10 import is_cifar10
from zoo.metrics.fidelity import FidelityEvaluator, check_metric_names, real_data_key
from zoo.models.translation import TranslationGAN


def judge_of(datamodule: Any) -> str:
    """The classifier of the domain metrics for ``datamodule``: ``cifar10`` on CIFAR-10 (the ``cifar10``
    DataModule, or a labelled folder of exactly its classes), ``digits`` otherwise."""
    from datamodules import DATAMODULES

    name = DATAMODULES.name_of(datamodule) if datamodule is not None else None
    return "cifar10" if is_cifar10(name, getattr(datamodule, "class_names", None)) else "digits"


def share_rank_zero_buffers(module: torch.nn.Module) -> None:
    """Copy rank 0's buffers (batch-norm running statistics, counters) to every rank.

    Under DDP the parameters are identical on every rank, but each rank's last local
    batches move its own running statistics (DDP re-broadcasts rank 0's only at a wrapped
    forward). Sampling in eval mode reads them, so without this each rank would generate
    its share of the evaluation with slightly different networks; with it, the gathered
    value is the value of rank 0's model, the one the checkpoint saves. Does nothing
    outside a process group of more than one rank.
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    if torch.distributed.get_world_size() == 1:
        return
    for buffer in module.buffers():
        torch.distributed.broadcast(buffer.data, src=0)


class GenerativeMetrics(pl.Callback):
    """Periodic sample-quality metrics.

    Args:
        names: metrics to compute: ``fid``, ``is``, ``kid`` (Inception) and
            ``fd_digits``, ``cis``, ``conditional_accuracy`` (digits classifier).
            Empty: the callback does nothing.
        every_n_steps: interval in training iterations; 0 evaluates only at the end.
        num_samples: generated images per evaluation (published CIFAR-10 tables: 50000).
        real_split: the DataModule split the generated images are compared with.
        inception_weights: local Inception weights file (else ``ZOO_INCEPTION_WEIGHTS``,
            then torch hub's cache, then the ``fid`` extra's file, then a download).
        batch_size: images per generation / feature-extraction batch.
        at_train_end: also evaluate when training stops.
        seed: the generator's noise for evaluation is drawn from ``seed + rank``,
            so successive evaluations use the same noise and training's RNG is untouched.
        kid_subset_size, kid_subsets, isc_splits: as torch-fidelity.
    """

    def __init__(
        self,
        names: list[str] | None = None,
        every_n_steps: int = 1000,
        num_samples: int = 10000,
        real_split: str = "train",
        inception_weights: str | None = None,
        batch_size: int = 100,
        at_train_end: bool = True,
        seed: int = 12345,
        kid_subset_size: int = 1000,
        kid_subsets: int = 100,
        isc_splits: int = 10,
    ) -> None:
        self.names = check_metric_names(names or [])
        if every_n_steps < 0 or num_samples < 2:
            raise ValueError(f"need every_n_steps >= 0 and num_samples >= 2, got {every_n_steps}, {num_samples}")
        self.every_n_steps, self.num_samples, self.real_split = every_n_steps, num_samples, real_split
        self.inception_weights, self.batch_size, self.at_train_end, self.seed = (
            inception_weights, batch_size, at_train_end, seed)
        self.kid = dict(kid_subset_size=kid_subset_size, kid_subsets=kid_subsets, isc_splits=isc_splits)
        self.evaluator: FidelityEvaluator | None = None
        self.history: list[dict[str, Any]] = []
        self._last_step = -1

    @property
    def enabled(self) -> bool:
        return bool(self.names)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if not self.enabled or self.evaluator is not None:
            return
        # Rank 0 may download the weights; the others wait, then only read.
        judge = judge_of(trainer.datamodule)
        if trainer.is_global_zero:
            self.evaluator = self._evaluator(pl_module, download=True, judge=judge)
        trainer.strategy.barrier("zoo-metrics-weights")
        if not trainer.is_global_zero:
            self.evaluator = self._evaluator(pl_module, download=False, judge=judge)
        extractors = self.evaluator.extractors
        rank_zero_info("metrics " + ", ".join(self.names) + " computed with: "
                       + "; ".join(f"{what}: {description}" for what, description in extractors.items()))
        for logger in trainer.loggers:
            logger.log_hyperparams({f"metrics/{what}": description for what, description in extractors.items()})

    def _evaluator(self, pl_module: pl.LightningModule, download: bool, judge: str = "digits") -> FidelityEvaluator:
        return FidelityEvaluator(self.names, self.inception_weights, download, self.batch_size,
                                 device=pl_module.device, judge=judge, **self.kid)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        step = trainer.global_step
        if self.enabled and self.every_n_steps and step > 0 and step % self.every_n_steps == 0 and step != self._last_step:
            self._publish(trainer, self.evaluate(trainer, pl_module))

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.enabled and self.at_train_end and trainer.global_step != self._last_step:
            self._publish(trainer, self.evaluate(trainer, pl_module))

    @staticmethod
    def _publish(trainer: pl.Trainer, values: dict[str, float]) -> None:
        """Send ``val/<name>`` to the loggers once (at this batch's logging step) and to the
        callback metrics that ``ModelCheckpoint(monitor="val/fid")`` reads."""
        metrics = {f"val/{name}": float(value) for name, value in values.items()}
        trainer.callback_metrics.update({k: torch.tensor(v) for k, v in metrics.items()})
        for logger in trainer.loggers:  # the step column counts iterations, as the training rows' does
            logger.log_metrics(metrics, step=trainer.global_step)

    def evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, float]:
        """Compute the metrics now; every rank must call it. Returns the values (same on every rank)."""
        self._last_step = trainer.global_step
        self.evaluator.device = pl_module.device
        datamodule = trainer.datamodule
        if datamodule is None or not hasattr(datamodule, "split_dataset"):
            raise ValueError("GenerativeMetrics needs a zoo DataModule (with split_dataset) for the real images")
        from datamodules import DATAMODULES

        entry = DATAMODULES.find_class(type(datamodule))
        key = real_data_key(entry.name if entry else type(datamodule).__name__, datamodule, self.real_split)
        share_rank_zero_buffers(pl_module)
        if isinstance(pl_module, TranslationGAN):
            return self._evaluate_translation(trainer, pl_module, datamodule.split_dataset(self.real_split), key)
        real = self.evaluator.real_statistics(datamodule.split_dataset(self.real_split), key)
        rank = trainer.global_rank
        with torch.random.fork_rng(devices=[pl_module.device] if pl_module.device.type == "cuda" else []):
            torch.manual_seed(self.seed + rank)
            values = self.evaluator.evaluate(pl_module.sample_for_metrics, self.num_samples, real)
        self._record(trainer, {**values, "real_count": int(real["count"]), "cache_hit": self.evaluator.last_cache_hit})
        scores = {k: v for k, v in values.items() if k not in ("num_samples", "seconds")}
        return scores | {"metrics_seconds": values["seconds"]}

    def _evaluate_translation(self, trainer: pl.Trainer, pl_module: pl.LightningModule, dataset, key: dict) -> dict:
        """Image-to-image models: per direction, the translations of one side of ``real_split``
        against the real images of the other side (``val/fid`` for AtoB, ``val/fid_BtoA``, ...)."""
        start = time.perf_counter()
        scores: dict[str, float] = {}
        for direction in pl_module.directions:
            source, target = ("A", "B") if direction == "AtoB" else ("B", "A")
            real = self.evaluator.real_statistics(domain_side(dataset, target), {**key, "side": target})
            fake = self.evaluator.translated_features(
                domain_side(dataset, source), lambda images, d=direction: pl_module.translate(images, d)
            )
            suffix = "" if direction == "AtoB" else "_BtoA"
            scores.update({f"{name}{suffix}": value for name, value in self.evaluator.score(fake, real).items()})
        seconds = time.perf_counter() - start
        self._record(trainer, {**scores, "seconds": seconds})
        return scores | {"metrics_seconds": seconds}

    def _record(self, trainer: pl.Trainer, values: dict[str, Any]) -> None:
        """Keep one evaluation in :attr:`history` and, on rank 0, append it to ``metrics.jsonl``."""
        record = {"step": trainer.global_step, **values, "real_split": self.real_split,
                  "extractors": self.evaluator.extractors}
        self.history.append(record)
        log_dir = trainer.log_dir  # collective under DDP: every rank asks
        if trainer.is_global_zero and log_dir:
            with open(Path(log_dir) / "metrics.jsonl", "a") as handle:
                handle.write(json.dumps(record) + "\n")


class DomainSide(Dataset):
    """One side (``"A"`` or ``"B"``) of an image-to-image split as ``(image, label)`` items."""

    def __init__(self, dataset: Dataset, side: str) -> None:
        self.dataset, self.side = dataset, side

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        item = self.dataset[index]
        return item[self.side], torch.as_tensor(item[f"{self.side}_label"])


class SampleSide(Dataset):
    """A list-like side of ``(image, label, name)`` samples as ``(image, label)`` items."""

    def __init__(self, side: Dataset) -> None:
        self.side = side

    def __len__(self) -> int:
        return len(self.side)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        image, label, _ = self.side[index]
        return image, torch.as_tensor(label)


def domain_side(dataset: Dataset, side: str) -> Dataset:
    """The images of one domain of a split, each once: an unpaired split that repeats the
    shorter domain (length max(|A|, |B|)) is read from its own side instead."""
    own = getattr(dataset, "side_a", None), getattr(dataset, "side_b", None)
    if all(part is not None for part in own):
        first, second = own if not getattr(dataset, "swap", False) else own[::-1]
        return SampleSide(first if side == "A" else second)
    return DomainSide(dataset, side)
