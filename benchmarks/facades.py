"""Pix2Pix labels -> photo on the CMP facades at 128 px, on a fixed CPU budget.

    python -m benchmarks.facades                                   # ../shared/data/facades, 10 minutes
    python -m benchmarks.facades --root path/to/facades --minutes 30 --grid docs/images/pix2pix_facades.png

Budget: ``--minutes`` of training (default 10) on whatever machine runs it,
plus about a minute of evaluation. The data is the pix2pix "aligned" folder
(``train/`` 400 and ``test/`` 106 images, photo | label map side by side), so
labels -> photo is ``--data.direction BtoA``. Training is ``python -m zoo.fit
--model pix2pix`` at ``--data.image_size 128`` (loaded at 143, random 128
crops and flips; a 7-level U-Net), batch size 1 as in the paper, with the
paper's schedule compressed into ``--epochs`` (half constant, half decay).
Then the **test** split is scored (L1, PSNR, SSIM against the real photos,
images resized to 128) and a grid of ``label | G(label) | photo`` rows is
written. Skips with a message when the folder is absent; never fails on a
figure or a time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
from torchvision.utils import make_grid, save_image

from zoo.fit import main as fit_main

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "facades"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the facades folder (train/, test/)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget in minutes")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of the compressed schedule")
    parser.add_argument("--grid", type=Path, default=None, help="write the test grid PNG here")
    parser.add_argument("--rows", type=int, default=6, help="test images in the grid")
    args = parser.parse_args()
    if not (args.root / "train").is_dir():
        print(f"skipped: no facades folder at {args.root} (needs train/ and test/)")
        return
    half = max(1, args.epochs // 2)
    budget = f"00:00:{int(args.minutes):02d}:{int(args.minutes % 1 * 60):02d}"
    with tempfile.TemporaryDirectory() as runs:
        start = time.perf_counter()
        cli = fit_main([
            "--model", "pix2pix", "--data", str(args.root), "--data.direction", "BtoA", "--data.image_size", "128",
            "--model.n_epochs", str(half), "--model.n_epochs_decay", str(args.epochs - half),
            "--trainer.max_steps", "-1", "--trainer.max_epochs", str(args.epochs), "--trainer.max_time", budget,
            "--trainer.limit_val_batches", "0", "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--samples.every_n_steps", "0", "--runs_dir", runs,
        ])
        seconds = time.perf_counter() - start
    model, datamodule = cli.model, cli.datamodule
    tester = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    scores = tester.test(model, datamodule=datamodule, verbose=False)[0]
    result = {"steps": cli.trainer.global_step, "epochs": cli.trainer.current_epoch, "train_seconds": round(seconds, 1),
              "ms_per_step": round(1000 * seconds / max(1, cli.trainer.global_step), 1),
              **{k: round(v, 4) for k, v in scores.items()}}
    print(json.dumps(result))
    if args.grid is not None:
        test = datamodule.split_dataset("test")
        rows = []
        for index in range(args.rows):
            item = test[index]
            rows += [item["A"], model.translate(item["A"]).cpu(), item["B"]]
        args.grid.parent.mkdir(parents=True, exist_ok=True)
        grid = make_grid(torch.stack(rows), nrow=3, normalize=True, value_range=(-1, 1), padding=2)
        save_image(grid, args.grid)
        print(f"grid: {args.grid}")


if __name__ == "__main__":
    main()
