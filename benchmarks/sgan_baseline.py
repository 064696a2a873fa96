"""SGAN vs. a purely supervised classifier on the same labels (budget: about 6 minutes on 2 CPU cores).

    python -m benchmarks.sgan_baseline --num-labeled 100 --steps 1000

Both classifiers are SGAN's discriminator (same trunk, same dropout, same Adam
settings) trained for ``--steps`` iterations on the same ``--num-labeled``
class-balanced digits: SGAN also sees the unlabelled training images and the
generator's fakes; the baseline sees only the labelled images (cross-entropy,
batches drawn with replacement). It prints the test accuracies; it never fails.
"""

from __future__ import annotations

import argparse
import json
import time

import lightning.pytorch as pl
import torch
import torch.nn.functional as F

from datamodules import DigitsDataModule
from zoo.models.sgan import SGAN


def test_accuracy(model: SGAN, dm: DigitsDataModule) -> float:
    correct = total = 0
    for x, y in dm.test_dataloader():
        correct += (model.classify(x).argmax(1) == y).sum().item()
        total += len(y)
    return correct / total


def supervised_baseline(num_labeled: int, steps: int, seed: int) -> float:
    torch.manual_seed(seed)
    dm = DigitsDataModule()
    model = SGAN(num_labeled=num_labeled)
    model.choose_labeled(dm.split_dataset("train"))
    d = model.discriminator.train()
    optimizer = torch.optim.Adam(d.parameters(), lr=model.hparams.lr, betas=tuple(model.hparams.betas))
    for _ in range(steps):
        pick = torch.randint(len(model.labeled_labels), (model.hparams.labeled_batch_size,))
        loss = F.cross_entropy(d(model.labeled_images[pick])[0], model.labeled_labels[pick])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return test_accuracy(model, dm)


def sgan(num_labeled: int, steps: int, seed: int) -> float:
    pl.seed_everything(seed, verbose=False)
    dm = DigitsDataModule()
    model = SGAN(num_labeled=num_labeled)
    trainer = pl.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0)
    trainer.fit(model, datamodule=dm)
    return test_accuracy(model, dm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-labeled", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = {"num_labeled": args.num_labeled, "steps": args.steps, "seed": args.seed}
    for name, run in (("supervised", supervised_baseline), ("sgan", sgan)):
        start = time.perf_counter()
        results[f"{name}_test_accuracy"] = round(run(args.num_labeled, args.steps, args.seed), 4)
        results[f"{name}_seconds"] = round(time.perf_counter() - start, 1)
        print(name, results[f"{name}_test_accuracy"], f"{results[f'{name}_seconds']} s", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
