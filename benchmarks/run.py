"""Compare the variants on the same data and budget: one ``zoo.fit`` run per model and seed, one table.

    python -m benchmarks.run                                   # every model, its embedded data, 2 min each, 3 seeds
    python -m benchmarks.run --quick                           # every model, 1 seed, a few seconds each (< 3 min)
    python -m benchmarks.run --models cgan,acgan,progan --budget 20m --seeds 5
    python -m benchmarks.run --models cgan,dcgan --data ../shared/data/cifar10 --metrics fid,kid --budget 20m \
        -- --data.image_size 32                                # zoo.fit flags after --, for every run
    python -m benchmarks.run --models cgan,dcgan --sweep batch=16,32,64,128
    python -m benchmarks.run --models dcgan,progan --sweep resolution=32,64,128
    python -m benchmarks.run --quick --docs                    # also regenerate docs/benchmarks.md's table
    python -m benchmarks.run --models dcgan --seeds 0 --sweep batch=16,32 --docs sweeps   # a section of its own

Budget: ``--budget`` of training wall time per run (``90s``, ``2m``, ``1h``), times
models x seeds, plus the quality measurements (not counted in the budget: a few
seconds each on the digits; Inception FID takes minutes). ``--quick``: 1 seed,
``2s`` per model, the end-of-budget measurement only.

Each run is a real ``python -m zoo.fit`` run (same code path, same registry
recipes; ``--trainer.max_steps``/``max_epochs`` lifted so the budget decides),
each in a process of its own (:func:`run_isolated`: its peak memory is its own),
with one extra callback, :class:`~benchmarks.probe.Probe`: it times every iteration, samples the
process's resident memory (or ``max_memory_allocated`` on a GPU), measures the variant's quality at iterations 50, 100, 200, 400, ...
and at the end (those seconds are kept out of the budget and the times), and
stops the run when the budget is spent. Quality on the embedded data is the
variant's acceptance figures (``benchmarks.pretrained_recipes.acceptance``: FD-digits
ratio, conditional / code / identity / test accuracy, ...); on other data,
``--metrics`` (FID / KID on the standard Inception weights) of the last
checkpoint against the test split, as ``zoo.evaluate`` computes them.

The runs (checkpoints, sample grids) are kept under ``--out`` (default
``benchmarks/results/run``) and linked from the table; ``results.json`` holds
every figure with the environment (commit, versions, CPU / GPU, threads,
precision), ``results.md`` the table, and the plots are PNG files beside them:
quality vs wall time (one line per seed), and with ``--sweep`` ms / iteration
and memory against the batch size or the resolution. ``--docs`` copies table
and plots into docs/benchmarks.md and docs/images/benchmarks/ (all of it written
by :mod:`benchmarks.report`).

It never fails on a figure or a time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import statistics
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

import torch

from zoo.registry import MODELS, UnknownNameError
from benchmarks.probe import MILESTONES, Probe  # re-exported: the callback of every run
from benchmarks.report import (  # re-exported: the record, the tables, plots and docs
    DOCS_SECTION,
    REPO,
    RunResult,
    environment,
    equal_iteration_point,
    table,
    write_docs,
    write_outputs,
)

QUICK_BUDGET = 2.0  # seconds of training per model with --quick


def parse_budget(text: str) -> float:
    """``"90s"``, ``"2m"``, ``"1.5h"`` or a number of seconds -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smh]?)\s*", str(text))
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"budget {text!r} is not a duration such as 90s, 2m or 1h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def parameter_counts(module) -> tuple[int, int]:
    """(G, D) parameters: every network named ``generator*`` is G, the others D."""
    g = d = 0
    for name in module.networks:
        count = sum(p.numel() for p in getattr(module, name).parameters())
        if name.startswith("generator"):
            g += count
        else:
            d += count
    return g, d


def loader_speed(datamodule, batches: int = 30) -> float | None:
    """Images per second the training loader delivers on its own (first ``batches`` batches)."""
    try:
        loader = datamodule.train_dataloader()
    except Exception:  # a DataModule without a plain train loader
        return None
    count, start = 0, time.perf_counter()
    for i, batch in enumerate(loader):
        first = batch["A"] if isinstance(batch, dict) else batch[0]
        count += len(first)
        if i + 1 >= batches:
            break
    seconds = time.perf_counter() - start
    return count / seconds if seconds > 0 else None


def batch_size_of(datamodule) -> int:
    return int(getattr(datamodule, "batch_size", 0) or getattr(datamodule.hparams, "batch_size", 0) or 0)


def run_one(model: str, seed: int, budget: float, out: Path, data: str | None = None, metrics: list[str] | None = None,
            device: str = "auto", measure: bool = True, extra: list[str] | None = None, progress: bool = True,
            num_samples: int = 10000) -> RunResult:
    """One ``zoo.fit`` run of ``model`` with ``seed`` for ``budget`` seconds of training; its figures."""
    from zoo.fit import main as fit_main

    args = ["--model", model, "--runs_dir", str(out / "runs"), "--seed_everything", str(seed),
            "--trainer.max_steps", "-1", "--trainer.max_epochs", "-1", "--trainer.accelerator", device,
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--trainer.callbacks+=benchmarks.probe.Probe", "--trainer.callbacks.budget_seconds", str(budget),
            "--trainer.callbacks.measure", str(measure and data is None).lower(),
            "--trainer.callbacks.progress", str(progress).lower()]
    if data is not None:
        args += ["--data", data]
    cli = fit_main([*args, *(extra or [])])
    probe = next(c for c in cli.trainer.callbacks if isinstance(c, Probe))  # one module: no __main__ copy
    module, datamodule = cli.model, cli.datamodule
    run_dir = Path(cli.trainer.log_dir)
    if data is not None and metrics:
        from zoo.evaluate import evaluate

        scores = evaluate(ckpt=str(run_dir / "checkpoints" / "last.ckpt"), split="test", metrics=metrics,
                          num_samples=num_samples, device="cpu" if device in ("auto", "cpu") else device)
        final = {k: float(v) for k, v in scores["metrics"].items()}
    else:
        final = {k: v for k, v in (probe.curve[-1] if probe.curve else {}).items() if k not in ("iteration", "seconds")}
    times = probe.timed_iterations()
    batch = batch_size_of(datamodule)
    ms = 1000 * statistics.median(times) if times else float("nan")
    grids = sorted((run_dir / "samples").glob("step_*.png"))
    g, d = parameter_counts(module)
    return RunResult(
        model=model, seed=seed, data=data or f"{type(datamodule).__name__} (embedded)", batch_size=batch,
        iterations=cli.trainer.global_step, train_seconds=round(probe.train_seconds, 2), ms_per_iteration=round(ms, 2),
        images_per_second=round(batch / (ms / 1000), 1) if times and batch else float("nan"),
        loader_images_per_second=(round(v, 1) if (v := loader_speed(datamodule)) else None),
        peak_memory_mb=round(probe.peak_memory / 2**20, 1),
        memory_kind="max_memory_allocated" if module.device.type == "cuda" else "RSS",
        params_g=g, params_d=d, precision=str(cli.trainer.precision),
        metrics={k: round(v, 4) for k, v in final.items()}, curve=probe.curve,
        grid=str(grids[-1]) if grids else None, run_dir=str(run_dir),
    )


def start_method() -> str:
    """``fork`` where there is one and CUDA is not initialised here (the child starts at once, with torch and
    Lightning already imported), else ``spawn``."""
    if "fork" in multiprocessing.get_all_start_methods() and not torch.cuda.is_initialized():
        return "fork"
    return "spawn"


def _run_in_child(connection, args: tuple, kwargs: dict) -> None:
    try:
        connection.send(("ok", run_one(*args, **kwargs)))
    except BaseException:  # noqa: BLE001 - handed to the parent, which raises it
        connection.send(("error", traceback.format_exc()))
    finally:
        connection.close()


def run_isolated(*args, **kwargs) -> RunResult:
    """:func:`run_one` in a process of its own, so that its peak memory is its own: the resident set of a
    process that has run earlier models never shrinks back (freed memory stays with the allocator), so in one
    process every run would report at least the largest before it."""
    context = multiprocessing.get_context(start_method())
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_run_in_child, args=(sender, args, kwargs))
    child.start()
    sender.close()
    try:
        while not receiver.poll(0.5):
            if not child.is_alive():
                raise RuntimeError(f"benchmarks.run: the run {args[:2]} died without a result "
                                   f"(exit code {child.exitcode})")
        status, payload = receiver.recv()
    finally:
        child.join()
    if status == "error":
        raise RuntimeError(f"benchmarks.run: the run {args[:2]} failed in its process:\n{payload}")
    return payload


# --- sweeps ------------------------------------------------------------------------------------


def sweep_runs(models: list[str], knob: str, values: list[int], out: Path, device: str, seconds: float,
               extra: list[str] | None = None) -> list[dict]:
    """ms / iteration and peak memory of each model at each ``batch`` or ``resolution`` (short timed runs)."""
    flag = {"batch": "--data.batch_size", "resolution": "--data.image_size"}[knob]
    rows = []
    for model in models:
        for value in values:
            flags = [*(extra or []), flag, str(value)]
            if knob == "batch" and model == "progan":  # ProGAN's own per-resolution batches would override it
                flags += ["--model.batch_sizes", "null"]
            result = run_isolated(model, 0, seconds, out / f"sweep_{knob}", device=device, measure=False,
                                  extra=flags, progress=False)
            rows.append({"model": model, knob: value, "ms_per_iteration": result.ms_per_iteration,
                         "peak_memory_mb": result.peak_memory_mb, "batch_size": result.batch_size})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def chosen_models(spec: str, parser: argparse.ArgumentParser) -> list[str]:
    """``--models``: ``all``, or registered names and class paths (importing a model outside the package
    registers it); an unknown one is a usage error listing the registered models."""
    import zoo

    models = zoo.list_models() if spec == "all" else [m.strip() for m in spec.split(",") if m.strip()]
    try:
        for model in models:
            MODELS.resolve(model)
    except UnknownNameError as err:
        parser.error(f"{err}; valid choices: {', '.join(zoo.list_models())}, all")
    return models


def main(argv: list[str] | None = None) -> dict:
    import zoo

    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="all",
                        help="comma-separated registered models (or class paths of models outside the package), or all")
    parser.add_argument("--data", default=None, help="a zoo.fit --data value for every model (default: each model's "
                                                     "embedded data)")
    parser.add_argument("--budget", type=parse_budget, default=None, help="training wall time per run (default 2m)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per model (default 3; 0: only the sweeps)")
    parser.add_argument("--metrics", default="fid,kid", help="with --data: metrics of the last checkpoint")
    parser.add_argument("--num-samples", type=int, default=10000,
                        help="with --data: generated images per metric evaluation (default 10000)")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda")
    parser.add_argument("--quick", action="store_true", help=f"1 seed, {QUICK_BUDGET:g}s per model, end figures only")
    parser.add_argument("--sweep", action="append", default=[], help="batch=16,32,64 or resolution=32,64,128")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "run"), help="where results go")
    parser.add_argument("extra", nargs="*", metavar="ZOO_FIT_FLAG",
                        help="zoo.fit flags after --, given to every run (e.g. -- --data.image_size 32)")
    parser.add_argument("--docs", nargs="?", const=DOCS_SECTION, default=None, metavar="SECTION",
                        help="regenerate docs/benchmarks.md's table and plots (a named SECTION: its own block)")
    args = parser.parse_args(argv)
    models = chosen_models(args.models, parser)
    budget = args.budget or (QUICK_BUDGET if args.quick else 120.0)
    seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    if seeds < 0:
        parser.error(f"--seeds {seeds}: expected 0 (sweeps only) or more")
    if args.num_samples < 2:
        parser.error(f"--num-samples {args.num_samples}: expected at least 2")
    if args.docs is not None and not args.docs.replace("_", "").replace("-", "").isalnum():
        parser.error(f"--docs {args.docs!r}: a section name is letters, digits, - and _")
    sweeps_asked = {}
    for text in args.sweep:
        knob, _, values = text.partition("=")
        if knob not in ("batch", "resolution") or not values:
            parser.error(f"--sweep {text!r}: expected batch=16,32,... or resolution=32,64,...")
        sweeps_asked[knob] = [int(v) for v in values.split(",")]
    out = Path(args.out)
    command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    results = []
    for model in models:
        for seed in range(seeds):
            print(f"== {model}, seed {seed}, budget {budget:g} s", flush=True)
            result = run_isolated(model, seed, budget, out, args.data, [m for m in args.metrics.split(",") if m],
                                  args.device, measure=True, progress=True, num_samples=args.num_samples,
                                  extra=args.extra)
            results.append(result)
            print(json.dumps({k: v for k, v in asdict(result).items() if k != "curve"}, default=float), flush=True)
    sweeps = {knob: sweep_runs(models, knob, values, out, args.device, min(budget, 10.0), args.extra)
              for knob, values in sweeps_asked.items()}
    payload = write_outputs(results, sweeps, environment(args.device), out, command.strip())
    print(table(results))
    if args.docs is not None:
        write_docs(payload, out, section=args.docs)
    return payload


if __name__ == "__main__":
    main()
