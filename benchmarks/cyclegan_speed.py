"""Milliseconds per CycleGAN iteration with the paper's networks, batch size 1.

    python -m benchmarks.cyclegan_speed                    # 256x256 and 64x64
    python -m benchmarks.cyclegan_speed --sizes 128 --steps 10 --device cuda

Budget: about 2 minutes on 2 CPU cores (a 256x256 iteration takes seconds
there). One iteration is the full ``training_step``: G and F forward and
backward with cycle and identity losses, then D_X and D_Y on real and pooled
fakes, both Adam steps. Random RGB images stand in for data (the cost does not
depend on the pixels). Prints one JSON line per size; never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import time

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset

import zoo


class RandomPairs(Dataset):
    """``count`` random unpaired RGB items of side ``size`` in the batch contract."""

    def __init__(self, size: int, count: int) -> None:
        self.size, self.count = size, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        a, b = torch.rand(2, 3, self.size, self.size) * 2 - 1
        return {"A": a, "B": b, "A_label": -1, "B_label": -1, "A_name": f"{index}.png", "B_name": f"{index}.png"}


class StepTimer(pl.Callback):
    """Wall time of the iterations after ``warmup``."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.seconds = warmup, 0.0, 0.0

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.warmup:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, *args) -> None:
        self.seconds = time.perf_counter() - self.start


def measure(size: int, steps: int, warmup: int, device: str) -> dict:
    model = zoo.create_model("cyclegan")  # 9 blocks, 64 channels, instance norm: the paper's
    loader = DataLoader(RandomPairs(size, steps + warmup), batch_size=1)
    timer = StepTimer(warmup)
    trainer = pl.Trainer(max_steps=steps + warmup, accelerator=device, devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[timer])
    trainer.fit(model, train_dataloaders=loader)
    return {"size": size, "batch_size": 1, "device": device, "threads": torch.get_num_threads(),
            "timed_steps": steps, "ms_per_step": round(1000 * timer.seconds / steps, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="256,64", help="comma-separated image sides")
    parser.add_argument("--steps", type=int, default=5, help="timed iterations per size")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        print(json.dumps(measure(size, args.steps, args.warmup, args.device)), flush=True)


if __name__ == "__main__":
    main()
