"""One command for a GPU: every model's throughput in four settings, peak memory, the loop's overhead and a short
CIFAR-10 run scored with FID (budget: ``--budget-seconds``, 480 by default, on one GPU).

    python -m benchmarks.gpu                                        # on a GPU: writes runs/benchmarks_gpu/gpu.{json,md}
    python -m benchmarks.gpu --device cpu --budget-seconds 5        # the same code on the CPU (the test suite runs it)
    python -m benchmarks.gpu --models dcgan,cgan --out results/gpu

Sections, each with a share of the budget (a section that runs out of its share records what it
skipped; each section measures at least one thing):

1. **environment**: the device's name, compute capability and memory, the driver and CUDA
   versions, torch and Lightning versions, the precision ``zoo.fit`` picks by default there.
2. **throughput** (55%): each model (its registry recipe on its embedded data, as ``zoo.fit``
   runs it) through :func:`benchmarks.speed.measure` in ``float32`` (``32-true``), ``bf16-mixed``,
   ``bf16-mixed`` + :class:`~zoo.callbacks.ChannelsLast`, and that + :class:`~zoo.callbacks.Compile`
   (``torch.compile``; its compilation falls in the untimed warm-up, and it runs last, for as many
   models as the budget allows): ms per training batch, images/s, GFLOP/s against
   :mod:`benchmarks.peak`, and on a GPU ``torch.cuda.max_memory_allocated``.
3. **overhead** (10%): :func:`benchmarks.overhead.measure` (Lightning's loop against a plain
   loop doing the same computation) for ``--overhead-models`` (dcgan and cyclegan).
4. **cifar10** (35%, a GPU and the CIFAR-10 folder needed, or ``--cifar10-minutes`` given):
   DCGAN and ACGAN (the best class-conditional FID of the CPU runs, docs/metrics.md) trained
   ``--cifar10-minutes`` each (default 2) through :func:`benchmarks.cifar10.run`, scored with
   FID / KID at ``--fid-samples`` (10,000) against the 10,000 test images, with the time the
   scoring took.

It writes ``gpu.json`` (every record) and ``gpu.md`` (the tables, headed by the environment) in
``--out`` and prints the Markdown. It never fails on a time or a figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

import lightning
import torch

import zoo
from zoo.precision import explain_default_precision

#: the four settings of the throughput table: zoo.fit flags
SETTINGS: dict[str, list[str]] = {
    "float32": ["--trainer.precision", "32-true"],
    "bf16-mixed": ["--trainer.precision", "bf16-mixed"],
    "bf16-mixed + channels_last": ["--trainer.precision", "bf16-mixed",
                                   "--trainer.callbacks+=zoo.callbacks.ChannelsLast"],
    "bf16-mixed + channels_last + compile": ["--trainer.precision", "bf16-mixed",
                                             "--trainer.callbacks+=zoo.callbacks.ChannelsLast",
                                             "--trainer.callbacks+=zoo.callbacks.Compile"],
}
SHARES = {"throughput": 0.55, "overhead": 0.10, "cifar10": 0.35}


def environment(device: str) -> dict:
    """What ran the benchmark: device, driver, versions, the default precision there."""
    info = {"device": device, "torch": torch.__version__, "lightning": lightning.__version__,
            "python": platform.python_version(), "threads": torch.get_num_threads(),
            "default_precision": " - ".join(explain_default_precision("gpu" if device == "cuda" else "cpu"))}
    if device == "cuda":
        properties = torch.cuda.get_device_properties(0)
        info |= {"name": properties.name, "compute_capability": f"{properties.major}.{properties.minor}",
                 "memory_gib": round(properties.total_memory / 2**30, 1), "cuda": torch.version.cuda,
                 "cudnn": torch.backends.cudnn.version(), "driver": _driver()}
    else:
        info["name"] = platform.processor() or platform.machine()
    return info


def _driver() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


class Budget:
    """Seconds left to a section; at least one measurement always runs."""

    def __init__(self, seconds: float) -> None:
        self.end, self.used = time.perf_counter() + seconds, 0

    def allows(self) -> bool:
        allowed = self.used == 0 or time.perf_counter() < self.end
        self.used += allowed
        return allowed


def throughput(models: list[str], budget: Budget, accelerator: str, steps: int, warmup: int) -> list[dict]:
    from benchmarks.speed import measure

    records, peaks = [], {}
    plan = [(setting, name) for setting in list(SETTINGS)[:-1] for name in models]
    plan += [(list(SETTINGS)[-1], name) for name in models]  # compile last: its compilation is the slow part
    for setting, name in plan:
        if not budget.allows():
            records.append({"model": name, "setting": setting, "skipped": "the section's budget was spent"})
            continue
        try:
            result = measure(name, steps, warmup, 1, None, None, None, SETTINGS[setting], peaks, accelerator)
            records.append({"setting": setting, **result})
        except Exception as err:  # a setting a model cannot run in is a finding, not the end of the benchmark
            records.append({"model": name, "setting": setting, "error": f"{type(err).__name__}: {err}"[:300]})
        print(json.dumps(records[-1]), flush=True)
    return records


def overhead(models: list[str], budget: Budget, device: str, iterations: int, warmup: int) -> list[dict]:
    from benchmarks.overhead import measure

    records = []
    for name in models:
        if not budget.allows():
            records.append({"model": name, "skipped": "the section's budget was spent"})
            continue
        records.append(measure(name, 1, iterations, warmup, None, device))
        print(json.dumps(records[-1]), flush=True)
    return records


def cifar10(root: Path, minutes: float, samples: int, budget: Budget, device: str, out: Path) -> list[dict]:
    from benchmarks.cifar10 import run

    records = []
    for name in ("dcgan", "acgan"):
        if not budget.allows():
            records.append({"model": name, "skipped": "the section's budget was spent"})
            continue
        records.append(run(name, root, minutes, samples, out / "cifar10_runs", [], device))
        print(json.dumps(records[-1]), flush=True)
    return records


def markdown(report: dict) -> str:
    env = report["environment"]
    lines = [f"Device: **{env['name']}** ({env['device']}"
             + (f", compute capability {env['compute_capability']}, {env['memory_gib']} GiB, driver {env['driver']}, "
                f"CUDA {env['cuda']}, cuDNN {env['cudnn']}" if env["device"] == "cuda" else f", {env['threads']} threads")
             + f"); torch {env['torch']}, Lightning {env['lightning']}; zoo.fit's default precision: "
             f"{env['default_precision']}. Budget {report['budget_seconds']} s, took {report['seconds']} s.", "",
             "| model | setting | ms / batch | images/s | GFLOP/s | fraction of peak | peak memory (MB) |",
             "|--|--|--:|--:|--:|--:|--:|"]
    for r in report["throughput"]:
        if "ms_per_batch" in r:
            lines.append(f"| {r['model']} | {r['setting']} | {r['ms_per_batch']} | {r['images_per_second']} | "
                         f"{r['gflops_per_second']} | {r['fraction_of_peak']:.1%} | {r.get('peak_memory_mb', '')} |")
        else:
            lines.append(f"| {r['model']} | {r['setting']} | {r.get('skipped') or r.get('error')} | | | | |")
    lines += ["", "| model | Lightning ms | plain loop ms | ratio |", "|--|--:|--:|--:|"]
    lines += [f"| {r['model']} | {r['lightning_ms']} | {r['plain_ms']} | {r['ratio']} |" if "ratio" in r
              else f"| {r['model']} | {r['skipped']} | | |" for r in report["overhead"]]
    if isinstance(report["cifar10"], str):
        lines += ["", f"CIFAR-10: {report['cifar10']}"]
    else:
        lines += ["", "| CIFAR-10 model | iterations | train s | FID | KID | samples | FID time (s) |",
                  "|--|--:|--:|--:|--:|--:|--:|"]
        lines += [f"| {r['model']} | {r['steps']} | {r['train_seconds']} | {r['fid']} | {r['kid']} | "
                  f"{r['num_samples']} | {r['evaluation_seconds']} |" if "fid" in r else f"| {r['model']} | {r['skipped']} |"
                  for r in report["cifar10"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    from benchmarks.fid_floors import SHARED_CIFAR10

    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--budget-seconds", type=float, default=480.0, help="the whole benchmark's wall time")
    parser.add_argument("--models", default="all", help="comma-separated registered models, or all")
    parser.add_argument("--overhead-models", default="dcgan,cyclegan")
    parser.add_argument("--steps", type=int, default=None, help="timed batches a measurement (default 20; 2 on a CPU)")
    parser.add_argument("--cifar10", default=str(SHARED_CIFAR10), help="CIFAR-10 as a labelled folder")
    parser.add_argument("--cifar10-minutes", type=float, default=None,
                        help="training minutes a model (default 2 on a GPU; on a CPU the section runs only if given)")
    parser.add_argument("--fid-samples", type=int, default=10000)
    parser.add_argument("--out", default="runs/benchmarks_gpu", help="folder for gpu.json and gpu.md")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU is visible here (run with --device cpu to try the code path)")
    models = zoo.list_models() if args.models == "all" else args.models.split(",")
    unknown = sorted(set(models + args.overhead_models.split(",")) - set(zoo.list_models()))
    if unknown:
        parser.error(f"unknown model {unknown[0]!r}; valid choices: {', '.join(zoo.list_models())}, all")
    cpu = args.device == "cpu"
    steps, warmup = (args.steps or (2 if cpu else 20)), (1 if cpu else 5)
    accelerator = "cpu" if cpu else "gpu"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    report: dict = {"environment": environment(args.device), "budget_seconds": args.budget_seconds}
    share = {name: args.budget_seconds * fraction for name, fraction in SHARES.items()}  # each from its own start
    report["throughput"] = throughput(models, Budget(share["throughput"]), accelerator, steps, warmup)
    report["overhead"] = overhead(args.overhead_models.split(","), Budget(share["overhead"]), args.device, steps, warmup)
    minutes = args.cifar10_minutes if args.cifar10_minutes is not None else (None if cpu else 2.0)
    root = Path(args.cifar10)
    if minutes is None:
        report["cifar10"] = "skipped on a CPU (give --cifar10-minutes to run it; scoring 10,000 samples takes ~8 minutes)"
    elif not (root / "train").is_dir():
        report["cifar10"] = f"skipped: no CIFAR-10 folder at {root}"
    else:
        report["cifar10"] = cifar10(root, minutes, args.fid_samples, Budget(share["cifar10"]), args.device, out)
    report["seconds"] = round(time.perf_counter() - start, 1)
    (out / "gpu.json").write_text(json.dumps(report, indent=1))
    table = markdown(report)
    (out / "gpu.md").write_text(table + "\n")
    print(table)
    return report


if __name__ == "__main__":
    main()
