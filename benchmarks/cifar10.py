"""CIFAR-10 at 32x32: train each model for a wall-clock budget, then FID / KID against the test split.

    python -m benchmarks.cifar10                                          # cgan, acgan, dcgan; 20 min each
    python -m benchmarks.cifar10 --models progan --budget-minutes 30 -- --model.stabilize_kimg 10 --model.fade_kimg 10   # docs/models/progan.md
    python -m benchmarks.cifar10 --models cgan --budget-minutes 1 --num-samples 500   # a smoke run
    python -m benchmarks.cifar10 --models cgan --label cgan_projection -- --model.conditioning projection

Budget: ``--budget-minutes`` of training per model (``--trainer.max_time``), plus the
evaluation: ``--num-samples`` generated images through Inception's 299x299 forward pass,
roughly 5-11 images/s on 2 CPU cores (5,000 samples: 8-15 minutes), and once, the
10,000 test images' statistics (cached in ``$ZOO_CACHE_DIR/real_stats``, shared with
``benchmarks.fid_floors``, ``zoo.fit --metrics`` and ``zoo.evaluate``).

Each model is trained exactly as ``python -m zoo.fit --model NAME --data <cifar10 folder>
--data.image_size 32 --trainer.max_time ...`` trains it (constructor defaults; the
``labelled_folder`` DataModule reads the JPEG copy in ``../shared/data/cifar10``; the
folder has no val split, so val = test, which only the sample grids see), then scored by
``zoo.evaluate.evaluate(ckpt=last.ckpt, split="test", metrics=["fid", "kid"])``: FID and
KID of ``--num-samples`` samples (uniform random labels for the conditional models)
against the 10,000 test images, with the standard Inception weights (the ``fid`` extra).
The run directories (checkpoints, sample grids) are kept under ``--runs-dir``; the last
grid is copied to ``--grids`` (e.g. ``docs/images``) as ``cifar10_<model>.png``.

One JSON line per model; it never fails on a figure or a time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from benchmarks.fid_floors import SHARED_CIFAR10
from zoo.evaluate import evaluate
from zoo.fit import main as fit_main


def run(name: str, root: Path, minutes: float, num_samples: int, runs_dir: Path, extra: list[str],
        device: str = "cpu") -> dict:
    """Train ``name`` for ``minutes`` (``zoo.fit``, its accelerator "auto") and score ``last.ckpt`` on ``device``."""
    seconds = max(1, round(minutes * 60))
    budget = ["--trainer.max_time", f"00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"]
    start = time.perf_counter()
    cli = fit_main(["--model", name, "--data", str(root), "--data.image_size", "32", "--runs_dir", str(runs_dir),
                    "--trainer.max_steps", "-1", "--trainer.max_epochs", "-1", *budget,
                    "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false", *extra])
    train_seconds = time.perf_counter() - start
    run_dir = Path(cli.trainer.log_dir)
    scores = evaluate(ckpt=str(run_dir / "checkpoints" / "last.ckpt"), split="test", metrics=["fid", "kid"],
                      num_samples=num_samples, batch_size=50 if device == "cpu" else 500, device=device)
    grids = sorted((run_dir / "samples").glob("step_*.png"))
    return {
        "model": name, "steps": cli.trainer.global_step, "epochs": cli.trainer.current_epoch,
        "train_seconds": round(train_seconds, 1), "precision": str(cli.trainer.precision),
        "fid": round(scores["metrics"]["fid"], 2), "kid": round(scores["metrics"]["kid"], 5),
        "kid_std": round(scores["metrics"]["kid_std"], 5), "num_samples": scores["num_samples"],
        "reference": f"{scores['real']['split']} ({scores['real']['count']} images)",
        "real_stats_cached": scores["real"]["cache"]["hit"], "evaluation_seconds": round(scores["seconds"], 1),
        "extractor": scores["extractors"]["inception"], "run_dir": str(run_dir),
        "last_grid": str(grids[-1]) if grids else None, "threads": torch.get_num_threads(), "flags": extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="cgan,acgan,dcgan", help="comma-separated registered image models")
    parser.add_argument("--cifar10", default=str(SHARED_CIFAR10), help="CIFAR-10 as a labelled image folder")
    parser.add_argument("--budget-minutes", type=float, default=20.0, help="training wall time per model")
    parser.add_argument("--num-samples", type=int, default=5000, help="generated images scored")
    parser.add_argument("--runs-dir", default="runs/benchmarks_cifar10", help="where the runs are kept")
    parser.add_argument("--grids", default=None, help="copy each model's last grid here as cifar10_<label>.png")
    parser.add_argument("--label", default=None, help="the run's name in the output and the grid's file name "
                                                       "(default: the model's; for one model run with other flags)")
    parser.add_argument("extra", nargs="*", help="zoo.fit flags after --, applied to every model")
    args = parser.parse_args()
    root = Path(args.cifar10)
    if not root.is_dir():
        print(json.dumps({"skipped": f"no CIFAR-10 folder at {root}"}))
        return
    for name in [n.strip() for n in args.models.split(",") if n.strip()]:
        result = run(name, root, args.budget_minutes, args.num_samples, Path(args.runs_dir), args.extra)
        result["label"] = args.label or name
        if args.grids and result["last_grid"]:
            Path(args.grids).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(result["last_grid"], Path(args.grids) / f"cifar10_{result['label']}.png")
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
