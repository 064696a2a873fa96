"""Train the digits classifier of the domain metrics (:mod:`zoo.metrics.digits`).

    python -m benchmarks.train_digits_classifier [--out PATH] [--epochs N] [--seed S]

Trains :class:`~zoo.metrics.digits.DigitsClassifier` on the TRAIN split of the
embedded digits data set only, with random translations of up to +-2 pixels
(padding with the background value -1, then a random crop), so that it is
robust to slightly off-centre generator samples.  The val split selects the
epoch (best val accuracy, ties broken by val loss); the test split is only
evaluated, at the end.  Runs are deterministic for a given seed (the weight
init, the data order, the shifts and dropout all come from it).  Prints the
train/val/test accuracy of the selected weights and saves their state dict.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.metrics.digits import WEIGHTS, DigitsClassifier

MAX_SHIFT = 2


def load_split(split: str) -> tuple[Tensor, Tensor]:
    """All images ``(N, 1, 32, 32)`` in ``[-1, 1]`` and labels ``(N,)`` of one digits split."""
    from datamodules import DigitsDataModule

    dm = DigitsDataModule(image_size=32)
    dm.setup("fit")
    dataset = dm.split_dataset(split)
    items = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]
    return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


def random_shift(images: Tensor, generator: torch.Generator, max_shift: int = MAX_SHIFT) -> Tensor:
    """Translate each image by a random integer offset in ``[-max_shift, max_shift]`` (background -1)."""
    n, _, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4, value=-1.0)
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator).tolist()
    return torch.stack([padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offsets)])


@torch.no_grad()
def evaluate(model: DigitsClassifier, images: Tensor, labels: Tensor) -> tuple[float, float]:
    """``(accuracy, mean cross-entropy)`` of ``model`` in eval mode."""
    model.eval()
    logits = model(images)
    return (logits.argmax(1) == labels).float().mean().item(), F.cross_entropy(logits, labels).item()


def train(epochs: int = 30, seed: int = 0, batch_size: int = 64, lr: float = 2e-3) -> tuple[dict, dict]:
    """Train and return ``(best state dict, {split: accuracy})``."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    splits = {name: load_split(name) for name in ("train", "val", "test")}
    x_train, y_train = splits["train"]
    model = DigitsClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    best: tuple[float, float] = (-1.0, float("inf"))
    best_state: dict = {}
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(random_shift(x_train[idx], generator)), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scheduler.step()
        val_acc, val_loss = evaluate(model, *splits["val"])
        if val_acc > best[0] or (val_acc == best[0] and val_loss < best[1]):
            best = (val_acc, val_loss)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            print(f"epoch {epoch:3d}: val acc {val_acc:.4f} loss {val_loss:.4f} (best)", flush=True)
    model.load_state_dict(best_state)
    accuracy = {name: evaluate(model, *data)[0] for name, data in splits.items()}
    return best_state, accuracy


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS, help=f"where to save the state dict (default {WEIGHTS})")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    state, accuracy = train(epochs=args.epochs, seed=args.seed)
    print(" ".join(f"{name} accuracy {acc:.4f}" for name, acc in accuracy.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.out)
    print(f"saved {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - start:.0f} s")
    return accuracy


if __name__ == "__main__":
    main()
