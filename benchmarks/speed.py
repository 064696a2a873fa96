"""Milliseconds per training iteration, and how close it runs to the machine's peak (about 20 s a model on 2 CPU cores).

    python -m benchmarks.speed --model cgan
    python -m benchmarks.speed --models all --markdown          # every registered model, the docs' table
    python -m benchmarks.speed --model dcgan --precision 32-true --batch-size 128
    python -m benchmarks.speed --model dcgan --data ../shared/data/cifar10 -- --data.image_size 32
    python -m benchmarks.speed --model dcgan --adam-steps 50       # one Adam step: default / foreach / fused

Each model runs as ``python -m zoo.fit --model NAME`` runs it (its registry recipe, its
embedded data unless ``--data`` is given, ``--precision`` or ``zoo.fit``'s choice on this
machine), for ``--warmup`` untimed and ``--steps`` timed training batches, then ``--count``
more under ``torch.utils.flop_counter.FlopCounterMode``, which counts the forward and
backward FLOPs of every matrix product and convolution (a multiply-add is 2 FLOPs; the
optimizer's element-wise updates are not counted). A *batch* is one ``training_step`` call:
one D and one G update for most models, one critic update for those with ``n_critic`` > 1.

Printed per model: ``ms_per_batch`` (median), ``gflop_per_batch`` (mean over the counted
batches), ``gflops_per_second`` (their ratio), the machine's peak in the same precision
(:mod:`benchmarks.peak`: the better of a 2048² matrix product and a large 3x3 convolution,
float32, or bfloat16 under ``bf16-mixed``) and ``fraction_of_peak``. ``--markdown`` adds the
table of all models. It prints figures; it never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import lightning.pytorch as pl
import torch
from torch.utils.flop_counter import FlopCounterMode

import zoo
from benchmarks.overhead import synchronize
from benchmarks.peak import peak_gflops
from zoo.fit import main as fit_main


class _GlobalOnly:
    """A stand-in for ``FlopCounterMode``'s module tracker that files every FLOP under "Global".

    The real tracker hooks every module's backward, and those hooks break ``torch.autograd.grad``
    (R1 and WGAN-GP penalties: "A leaf node was passed to _will_engine_execute_node"); the
    per-module breakdown is not needed here, the total is.
    """

    parents = ("Global",)

    def __enter__(self) -> "_GlobalOnly":
        return self

    def __exit__(self, *args) -> None:
        return None


def flop_counter() -> FlopCounterMode:
    """``FlopCounterMode`` counting the total only (see :class:`_GlobalOnly`)."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    return counter


class IterationCost(pl.Callback):
    """Times ``timed`` training batches after ``warmup``, then counts the FLOPs of ``counted`` more and stops."""

    def __init__(self, warmup: int = 5, timed: int = 20, counted: int = 4) -> None:
        self.warmup, self.timed, self.counted = warmup, timed, counted
        self.seen = 0
        self.seconds: list[float] = []
        self.flops: list[int] = []
        self.device = "cpu"
        self.peak_memory_mb: float | None = None  # torch.cuda.max_memory_allocated, on a GPU
        self._counter: FlopCounterMode | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        self.device = str(pl_module.device)
        if pl_module.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(pl_module.device)

    def on_train_end(self, trainer, pl_module) -> None:
        if pl_module.device.type == "cuda":
            self.peak_memory_mb = torch.cuda.max_memory_allocated(pl_module.device) / 2**20

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.seen >= self.warmup + self.timed:
            self._counter = flop_counter()
            self._counter.__enter__()
        synchronize(pl_module.device)
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        synchronize(pl_module.device)
        seconds = time.perf_counter() - self._start
        self.seen += 1
        if self._counter is not None:
            self._counter.__exit__(None, None, None)
            self.flops.append(self._counter.get_total_flops())
            self._counter = None
            trainer.should_stop = len(self.flops) >= self.counted
        elif self.seen > self.warmup:
            self.seconds.append(seconds)


def measure(name: str, steps: int = 20, warmup: int = 5, count: int = 4, precision: str | None = None,
            data: str | None = None, batch_size: int | None = None, extra: list[str] | None = None,
            peaks: dict[str, dict[str, float]] | None = None, accelerator: str | None = None) -> dict:
    """One model's figures (the module docstring); ``peaks`` caches :func:`~benchmarks.peak.peak_gflops` per dtype."""
    batches = warmup + steps + count
    args = ["--model", name, "--runs_dir", tempfile.mkdtemp(prefix="speed_"), "--seed_everything", "0",
            "--trainer.max_steps", str(10 * batches), "--trainer.max_epochs", "-1",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--samples.every_n_steps", str(100 * batches),
            "--trainer.callbacks+=benchmarks.speed.IterationCost", "--trainer.callbacks.warmup", str(warmup),
            "--trainer.callbacks.timed", str(steps), "--trainer.callbacks.counted", str(count)]
    if data:
        args += ["--data", data]
    if batch_size:
        args += ["--data.batch_size", str(batch_size)]
    if precision:
        args += ["--trainer.precision", precision]
    if accelerator:
        args += ["--trainer.accelerator", accelerator]
    cli = fit_main(args + list(extra or []))
    cost = next(c for c in cli.trainer.callbacks if type(c).__name__ == "IterationCost")  # __main__ or not
    used = str(cli.trainer.precision)
    dtype = "bfloat16" if used.startswith("bf16") else "float32"
    peaks = {} if peaks is None else peaks
    if dtype not in peaks:
        peaks[dtype] = peak_gflops(getattr(torch, dtype), device=cost.device)
    ms = 1000 * statistics.median(cost.seconds)
    gflop = statistics.fmean(cost.flops) / 1e9
    achieved = gflop / (ms / 1000)
    return {
        "model": name, "data": type(cli.datamodule).__name__, "batch_size": cli.datamodule.batch_size,
        "image_shape": list(getattr(cli.datamodule, "image_shape", ()) or ()), "timed_batches": len(cost.seconds),
        "ms_per_batch": round(ms, 1), "images_per_second": round(cli.datamodule.batch_size / (ms / 1000), 1),
        "gflop_per_batch": round(gflop, 3), "gflops_per_second": round(achieved, 1),
        "peak_gflops_per_second": peaks[dtype]["peak"], "fraction_of_peak": round(achieved / peaks[dtype]["peak"], 3),
        "precision": used, "threads": torch.get_num_threads(), "device": cost.device,
    } | ({} if cost.peak_memory_mb is None else {"peak_memory_mb": round(cost.peak_memory_mb, 1)})


def adam_step_ms(name: str, steps: int = 50, warmup: int = 5) -> dict:
    """Milliseconds of one Adam step over all of ``name``'s parameters (built for the embedded digits),
    in torch's three implementations: the default per-tensor loop, ``foreach`` and ``fused``."""
    model = zoo.create_model(name, image_shape=(1, 32, 32))
    parameters = list(model.parameters())
    for parameter in parameters:
        parameter.grad = torch.randn_like(parameter)
    result = {"model": name, "parameters": sum(p.numel() for p in parameters), "tensors": len(parameters),
              "threads": torch.get_num_threads()}
    for implementation, options in (("default", {}), ("foreach", {"foreach": True}), ("fused", {"fused": True})):
        optimizer = torch.optim.Adam(parameters, lr=1e-4, **options)
        for _ in range(warmup):
            optimizer.step()
        start = time.perf_counter()
        for _ in range(steps):
            optimizer.step()
        result[f"{implementation}_ms"] = round(1000 * (time.perf_counter() - start) / steps, 2)
    return result


def markdown(results: list[dict]) -> str:
    """The docs' table: one row per model."""
    lines = ["| model | data, batch | ms / batch | GFLOP / batch | GFLOP/s | peak GFLOP/s | fraction of peak |",
             "|--|--|--:|--:|--:|--:|--:|"]
    for r in results:
        shape = "x".join(str(s) for s in r["image_shape"][1:]) if r["image_shape"] else ""
        lines.append(f"| {r['model']} | {r['data']} {shape}, {r['batch_size']} | {r['ms_per_batch']} | "
                     f"{r['gflop_per_batch']} | {r['gflops_per_second']} | {r['peak_gflops_per_second']} | "
                     f"{r['fraction_of_peak']:.1%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="one registered model (default cgan)")
    parser.add_argument("--models", default=None, help="comma-separated registered models, or all")
    parser.add_argument("--data", default=None, help="a DataModule name or folder (default: each model's embedded data)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the DataModule's (64)")
    parser.add_argument("--steps", type=int, default=20, help="timed training batches")
    parser.add_argument("--warmup", type=int, default=5, help="untimed training batches first")
    parser.add_argument("--count", type=int, default=4, help="batches whose FLOPs are counted (after the timed ones)")
    parser.add_argument("--precision", default=None, help="Trainer precision (default: zoo.fit's choice here)")
    parser.add_argument("--markdown", action="store_true", help="print the table of all models at the end")
    parser.add_argument("--adam-steps", type=int, default=0, metavar="N",
                        help="instead: time N Adam steps over each model's parameters, default / foreach / fused")
    parser.add_argument("extra", nargs="*", help="zoo.fit flags after --, applied to every model")
    args = parser.parse_args(argv)
    if args.model and args.models:
        parser.error("give --model or --models, not both")
    listed = args.models or args.model or "cgan"
    models = zoo.list_models() if listed == "all" else listed.split(",")
    unknown = sorted(set(models) - set(zoo.list_models()))
    if unknown:
        parser.error(f"unknown model {unknown[0]!r}; valid choices: {', '.join(zoo.list_models())}, all")
    if args.adam_steps:
        results = [adam_step_ms(name, args.adam_steps) for name in models]
        for result in results:
            print(json.dumps(result))
        return results
    results, peaks = [], {}
    for name in models:
        results.append(measure(name, args.steps, args.warmup, args.count, args.precision, args.data,
                               args.batch_size, args.extra, peaks))
        print(json.dumps(results[-1]), flush=True)
    if args.markdown:
        print(markdown(results))
    return results


if __name__ == "__main__":
    main()
