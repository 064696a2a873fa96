"""Milliseconds per training iteration of a registered model (budget: about a minute on 2 CPU cores).

    python -m benchmarks.speed --model cgan --batch-size 64 --steps 60
    python -m benchmarks.speed --model dcgan --precision 32-true   # against zoo.fit's default precision

Runs the real ``training_step`` (D and G updates) through a Lightning Trainer
on the embedded digits and reports the median wall time per iteration after
``--warmup`` iterations, in ``--precision`` (default: what ``zoo.fit`` picks on
this machine, ``zoo.fit.default_precision()``). It prints figures; it never
fails on a time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import lightning.pytorch as pl
import torch

import zoo
from datamodules import get_datamodule_class
from zoo.fit import default_precision


class IterationTimer(pl.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_batch_start(self, *args) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, *args) -> None:
        self.times.append(time.perf_counter() - self._start)


def measure(model_name: str, data: str, batch_size: int, steps: int, warmup: int, precision: str | None = None,
            **model_kwargs) -> dict:
    precision = precision or default_precision()
    dm = get_datamodule_class(data)(batch_size=batch_size)
    model = zoo.create_model(model_name, image_shape=dm.image_shape, num_classes=dm.num_classes, **model_kwargs)
    timer = IterationTimer()
    trainer = pl.Trainer(max_steps=steps + warmup, accelerator="auto", devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         precision=precision, callbacks=[timer])
    trainer.fit(model, datamodule=dm)
    timed = timer.times[warmup:]
    return {
        "model": model_name, "data": data, "batch_size": batch_size, "iterations": len(timed),
        "ms_per_iteration_median": 1000 * statistics.median(timed),
        "ms_per_iteration_mean": 1000 * statistics.fmean(timed),
        "threads": torch.get_num_threads(), "device": str(model.device), "precision": precision,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="cgan", choices=zoo.list_models())
    parser.add_argument("--data", default="digits")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--precision", default=None,
                        help="Trainer precision, e.g. 32-true or bf16-mixed (default: zoo.fit's choice here)")
    args = parser.parse_args()
    result = measure(args.model, args.data, args.batch_size, args.steps, args.warmup, args.precision)
    print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
