"""Train the CIFAR-10 judge of ``conditional_accuracy`` (:mod:`zoo.metrics.cifar10`).

    python -m benchmarks.train_cifar10_classifier                          # ../shared/data/cifar10, 12 epochs
    python -m benchmarks.train_cifar10_classifier --epochs 2 --limit 2000  # a smoke run

Trains :class:`~zoo.metrics.cifar10.Cifar10Classifier` on the 50,000 training images of a CIFAR-10
labelled folder (``train/<class>/*.jpg``, the JPEG copy in ``../shared/data/cifar10`` by default)
and measures it on the 10,000 test images, which training never sees. The recipe is the fast
CIFAR-10 one of the DAWNBench ResNet-9 (Page 2018), scaled down: SGD with Nesterov momentum 0.9,
weight decay 5e-4 (times the batch size), batch 512, a one-cycle learning rate (peak 0.4 at 25% of
the run), label smoothing 0.2, random crops of the 4-pixel reflection-padded image and horizontal
flips. One line per epoch (train loss, test accuracy, seconds); the last line is a JSON record.
The weights are saved as float16 (``--out``, default the shipped asset). Decoded images are kept
in ``$ZOO_CACHE_DIR/cifar10_uint8.npz`` for the next run. It never fails on a figure or a time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from zoo.metrics.cifar10 import CLASSES, WEIGHTS, Cifar10Classifier
from zoo.paths import cache_dir

SHARED_CIFAR10 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"


def load_folder(root: Path) -> dict[str, np.ndarray]:
    """``{"train_x", "train_y", "test_x", "test_y"}``: uint8 (N, 32, 32, 3) images and labels, decoded once."""
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    cached = cache_dir(f"cifar10_uint8_{key}.npz")
    if cached.is_file():
        return dict(np.load(cached))
    arrays: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        images, labels = [], []
        for label, name in enumerate(CLASSES):
            for path in sorted((root / split / name).glob("*")):
                with Image.open(path) as image:
                    images.append(np.asarray(image.convert("RGB").resize((32, 32)), dtype=np.uint8))
                labels.append(label)
        arrays[f"{split}_x"], arrays[f"{split}_y"] = np.stack(images), np.asarray(labels, dtype=np.int64)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cached, **arrays)
    return arrays


def to_tensor(images: np.ndarray) -> Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


def augment(x: Tensor, generator: torch.Generator) -> Tensor:
    """A random 32x32 crop of the 4-pixel reflection-padded batch (one offset per image) and random flips."""
    n = x.size(0)
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    dy, dx = torch.randint(0, 9, (2, n), generator=generator)
    rows = (torch.arange(32).unsqueeze(0) + dy.unsqueeze(1))[:, None, :, None].expand(n, 3, 32, 40)
    cropped = padded.gather(2, rows)
    cols = (torch.arange(32).unsqueeze(0) + dx.unsqueeze(1))[:, None, None, :].expand(n, 3, 32, 32)
    cropped = cropped.gather(3, cols)
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], cropped.flip(3), cropped)


@torch.no_grad()
def accuracy(model: Cifar10Classifier, x: Tensor, y: Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = sum((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item() for i in range(0, len(x), batch))
    return correct / len(x)


def train(data: dict[str, np.ndarray], epochs: int, seed: int, batch: int = 512) -> tuple[Cifar10Classifier, list[dict]]:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = Cifar10Classifier()
    train_x, train_y = to_tensor(data["train_x"]), torch.from_numpy(data["train_y"])
    test_x, test_y = to_tensor(data["test_x"]), torch.from_numpy(data["test_y"])
    steps = epochs * ((len(train_x) + batch - 1) // batch)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.4, momentum=0.9, nesterov=True, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.4, total_steps=steps, pct_start=0.25,
                                                   anneal_strategy="linear", cycle_momentum=False)
    history = []
    for epoch in range(epochs):
        start, losses = time.perf_counter(), []
        model.train()
        for index in torch.randperm(len(train_x), generator=generator).split(batch):
            loss = F.cross_entropy(model(augment(train_x[index], generator)), train_y[index], label_smoothing=0.2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        record = {"epoch": epoch + 1, "train_loss": round(float(np.mean(losses)), 4),
                  "test_accuracy": round(accuracy(model, test_x, test_y), 4),
                  "seconds": round(time.perf_counter() - start, 1)}
        history.append(record)
        print("  ".join(f"{k} {v}" for k, v in record.items()), flush=True)
    return model, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(SHARED_CIFAR10), help="CIFAR-10 as a labelled folder (train/, test/)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N training images (smoke runs)")
    parser.add_argument("--out", default=str(WEIGHTS), help="where the float16 state dict is written")
    args = parser.parse_args()
    root = Path(args.data)
    if not (root / "train").is_dir():
        print(json.dumps({"skipped": f"no CIFAR-10 folder at {root}"}))
        return
    start = time.perf_counter()
    data = load_folder(root)
    if args.limit:
        order = np.random.default_rng(args.seed).permutation(len(data["train_x"]))[: args.limit]
        data = {**data, "train_x": data["train_x"][order], "train_y": data["train_y"][order]}
    model, history = train(data, args.epochs, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, out)
    print(json.dumps({"data": str(root), "train_images": len(data["train_x"]), "test_images": len(data["test_x"]),
                      "epochs": args.epochs, "seed": args.seed, "test_accuracy": history[-1]["test_accuracy"],
                      "parameters": sum(p.numel() for p in model.parameters()), "bytes": out.stat().st_size,
                      "seconds": round(time.perf_counter() - start, 1), "threads": torch.get_num_threads(),
                      "out": str(out)}), flush=True)


if __name__ == "__main__":
    main()
