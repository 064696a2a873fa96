"""Acceptance figures of Pix2Pix and CycleGAN on the embedded digit tasks.

    python -m benchmarks.translation                       # both, default flags
    python -m benchmarks.translation --models cyclegan -- --trainer.max_steps 500

Budget: at most 10 minutes of training per model on 2 CPU cores. Each model is
trained exactly as ``python -m zoo.fit --model NAME`` trains it (its embedded
task and recipe; extra ``zoo.fit`` flags after ``--``), in a temporary runs
directory (``--runs-dir`` keeps it), then scored on the task's **test** split (179 digits) by the model's
``test_step``:

* ``test/identity_accuracy`` (and ``_BtoA``): the shipped digits classifier
  still reads the source digit's class in the translation;
* ``test/l1``, ``test/psnr``, ``test/ssim`` (and ``_BtoA``): against the
  deterministic ground truth (the filled digit; the thickened / thinned digit).

Also printed: the same scores of the identity map (output = input), the floor
a translation must beat. One JSON line per model; it never fails on a figure or a time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import lightning.pytorch as pl
import torch

from zoo.fit import main as fit_main
from zoo.metrics.domain import identity_accuracy


def identity_map_scores(datamodule) -> dict[str, float]:
    """Scores of copying the input: L1 to the ground truth and the classifier on the inputs."""
    batches = list(datamodule.test_dataloader())
    a = torch.cat([b["A"] for b in batches])
    b = torch.cat([b["B"] for b in batches])
    labels = torch.cat([b["A_label"] for b in batches])
    return {"identity_map_l1": (a - b).abs().mean().item(), "input_identity_accuracy": identity_accuracy(a, labels)}


def run(name: str, extra: list[str], runs_dir: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        runs = runs_dir or scratch
        start = time.perf_counter()
        cli = fit_main(["--model", name, "--runs_dir", runs, "--trainer.enable_progress_bar", "false",
                        "--trainer.enable_model_summary", "false", *extra])
        seconds = time.perf_counter() - start
        tester = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
        scores = tester.test(cli.model, datamodule=cli.datamodule, verbose=False)[0]
    result = {"model": name, "steps": cli.trainer.global_step, "epochs": cli.trainer.current_epoch,
              "train_seconds": round(seconds, 1), "flags": extra}
    result.update({k: round(v, 4) for k, v in scores.items()})
    result.update({k: round(v, 4) for k, v in identity_map_scores(cli.datamodule).items()})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="pix2pix,cyclegan", help="comma-separated: pix2pix, cyclegan")
    parser.add_argument("--runs-dir", default=None, help="keep the runs (sample grids, checkpoints) here")
    parser.add_argument("extra", nargs="*", help="zoo.fit flags after --, e.g. -- --trainer.max_steps 500")
    args = parser.parse_args()
    for name in args.models.split(","):
        print(json.dumps(run(name, args.extra, args.runs_dir)), flush=True)


if __name__ == "__main__":
    main()
