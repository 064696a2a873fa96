"""What the Lightning loop costs: each variant's iteration inside ``zoo.fit`` against a plain PyTorch loop.

    python -m benchmarks.overhead                        # every model, 5 interleaved rounds of 30 iterations
    python -m benchmarks.overhead --models cgan,cyclegan --rounds 7 --iterations 40

Budget: models x rounds x 2 x iterations training iterations (about 10 minutes for
every model at the defaults on 2 CPU cores).

Both loops run **the same computation**: the same module (built by ``zoo.fit`` from
its registry recipe on its embedded data, seed 0), the same batches (the DataModule's
own training loader), the same precision (``zoo.fit``'s choice: ``bf16-mixed`` autocast
on a CPU with native bf16), and the model's own ``training_step``, which is the
paper's algorithm. The plain loop calls it directly, with Lightning's pieces replaced
by their bare torch equivalents: ``manual_backward`` is ``loss.backward()``, an
optimizer step is ``optimizer.step()``, ``log`` does nothing, and the few trainer
attributes a step reads (the optimizers, the batch and step counters, the world
size) come from a small stand-in (:class:`PlainTrainer`). The Lightning loop is a
real ``zoo.fit`` run (loggers, callbacks, progress bar off; sample grids and
checkpoints moved out of the timed window, being periodic I/O rather than loop
cost). The difference is therefore what Lightning adds per iteration: its fit
loop, hooks, ``LightningOptimizer`` and precision-plugin wrappers, and logging.

Rounds alternate Lightning and plain, in one process, so machine noise hits both
alike; each round times ``--iterations`` iterations after ``--warmup`` (the wall
time between the starts of consecutive iterations, data loading included), and
the figure per loop is the median over all timed iterations of all rounds. It
prints one JSON line per model with both medians and their ratio; it never fails
on a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from contextlib import nullcontext
from types import SimpleNamespace

import lightning.pytorch as pl
import torch

import zoo
from zoo.fit import main as fit_main


class PlainOptimizer:
    """A torch optimizer as ``training_step`` sees it (``.optimizer``, ``.step()``, ``.zero_grad()``);
    a step of the iteration optimizer advances the stand-in trainer's ``global_step``."""

    def __init__(self, optimizer: torch.optim.Optimizer, trainer: "PlainTrainer", counts: bool) -> None:
        self.optimizer, self._trainer, self._counts = optimizer, trainer, counts
        self.param_groups = optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure=None):
        out = self.optimizer.step()
        if self._counts:
            self._trainer.global_step += 1
        return out


class PlainTrainer:
    """The attributes ``GANModule.training_step`` reads from its trainer, without a Trainer."""

    def __init__(self, module, optimizers: list[torch.optim.Optimizer]) -> None:
        self.global_step = 0
        self.world_size, self.is_global_zero = 1, True
        self.optimizers = optimizers
        self.lr_scheduler_configs: list = []
        self.log_every_n_steps, self.max_steps, self.should_stop = 0, -1, False  # nothing is logged
        wrapped = [PlainOptimizer(o, self, i == module.iteration_optimizer) for i, o in enumerate(optimizers)]
        self.strategy = SimpleNamespace(_lightning_optimizers=wrapped,
                                        optimizer_step=lambda optimizer, closure=None, model=None: optimizer.step())


def synchronize(device: torch.device | str) -> None:
    """Wait for the GPU's queued work (a CPU does it as it goes): wall times then mean what they say."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop(module, loader, iterations: int, warmup: int, precision: str, device: str = "cpu") -> list[float]:
    """Per-iteration wall times of ``module.training_step`` driven by hand (see the module docstring),
    the module and its batches on ``device``."""
    from lightning.pytorch.utilities import move_data_to_device

    module.to(device)
    optimizers = module.configure_optimizers()
    optimizers = optimizers[0] if isinstance(optimizers, tuple) else optimizers
    optimizers = [o["optimizer"] if isinstance(o, dict) else o for o in optimizers]
    trainer = PlainTrainer(module, optimizers)
    module._trainer = trainer
    module.manual_backward = lambda loss, *args, **kwargs: loss.backward()
    module.log = module.log_dict = lambda *args, **kwargs: None
    module.train()
    autocast = (torch.autocast(torch.device(device).type, dtype=torch.bfloat16) if precision == "bf16-mixed"
                else nullcontext())
    starts: list[float] = []
    batches = iter(loader)
    batch_idx = 0
    while len(starts) < warmup + iterations + 1:
        synchronize(device)
        starts.append(time.perf_counter())
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            batch = next(batches)
        batch = move_data_to_device(batch, device)
        step = trainer.global_step
        while trainer.global_step == step:  # one iteration = one step of the iteration optimizer
            module.on_train_batch_start(batch, batch_idx)  # the module counts its batches (n_critic, lazy R1)
            with autocast:
                module.training_step(batch, batch_idx)
            batch_idx += 1
            if trainer.global_step == step:
                batch = move_data_to_device(next(batches, None) or next(iter(loader)), device)
    times = [b - a for a, b in zip(starts, starts[1:])]
    return times[warmup:]


class IterationStarts(pl.Callback):
    """Wall time between the starts of consecutive iterations (``global_step`` changes)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self._step = -1

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if trainer.global_step != self._step:
            synchronize(module.device)
            self._step = trainer.global_step
            self.starts.append(time.perf_counter())


def build(name: str, steps: int, precision: str | None, accelerator: str | None = None) -> list[str]:
    """The ``zoo.fit`` flags of a run of ``name`` for ``steps`` iterations (grids out of the way)."""
    import tempfile

    args = ["--model", name, "--runs_dir", tempfile.mkdtemp(prefix="overhead_"), "--seed_everything", "0",
            "--trainer.max_steps", str(steps), "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--samples.every_n_steps", str(10 * steps),
            "--trainer.callbacks+=benchmarks.overhead.IterationStarts"]
    if precision:
        args += ["--trainer.precision", precision]
    if accelerator:
        args += ["--trainer.accelerator", accelerator]
    return args


def lightning_loop(name: str, iterations: int, warmup: int, precision: str | None,
                   accelerator: str | None = None) -> tuple[list[float], str]:
    args = build(name, warmup + iterations + 1, precision, accelerator)
    cli = fit_main(args)
    timer = next(c for c in cli.trainer.callbacks if type(c).__name__ == "IterationStarts")
    times = [b - a for a, b in zip(timer.starts, timer.starts[1:])]
    return times[warmup:], str(cli.trainer.precision)


def fresh_module_and_loader(name: str, precision: str | None, accelerator: str | None = None):
    """The module and loader ``zoo.fit`` builds for ``name`` (no training: ``max_steps`` 0)."""
    args = build(name, 0, precision, accelerator)
    cli = fit_main(args + ["--trainer.max_steps", "0"])
    cli.datamodule.setup("fit")
    return cli.model, cli.datamodule.train_dataloader(), str(cli.trainer.precision)


def measure(name: str, rounds: int, iterations: int, warmup: int, precision: str | None,
            device: str | None = None) -> dict:
    """Both loops' median ms per iteration and their ratio; ``device`` ``"cpu"`` / ``"cuda"``
    (default: where ``zoo.fit`` puts the run)."""
    lightning_times: list[float] = []
    plain_times: list[float] = []
    used = precision
    accelerator = {"cuda": "gpu", "cpu": "cpu", None: None}[device]
    for _ in range(rounds):
        times, used = lightning_loop(name, iterations, warmup, precision, accelerator)
        lightning_times += times
        pl.seed_everything(0, verbose=False)
        module, loader, used = fresh_module_and_loader(name, precision, accelerator)
        target = device or ("cuda" if torch.cuda.is_available() else "cpu")
        plain_times += plain_loop(module, loader, iterations, warmup, used, target)
    lightning_ms = 1000 * statistics.median(lightning_times)
    plain_ms = 1000 * statistics.median(plain_times)
    return {"model": name, "lightning_ms": round(lightning_ms, 2), "plain_ms": round(plain_ms, 2),
            "ratio": round(lightning_ms / plain_ms, 3), "rounds": rounds, "iterations_per_round": iterations,
            "precision": used, "threads": torch.get_num_threads()}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overhead", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="all", help="comma-separated registered models, or all (default)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--iterations", type=int, default=30, help="timed iterations per round and loop (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed iterations first (default 5)")
    parser.add_argument("--precision", default=None, help="default: zoo.fit's choice on this machine")
    args = parser.parse_args(argv)
    models = zoo.list_models() if args.models == "all" else args.models.split(",")
    results = []
    for name in models:
        results.append(measure(name, args.rounds, args.iterations, args.warmup, args.precision))
        print(json.dumps(results[-1]), flush=True)
    return results


if __name__ == "__main__":
    main()
