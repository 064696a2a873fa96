"""The truncation trick's trade-off (BigGAN §3.1, Fig. 4 and 17): fidelity and variety against the threshold.

    python -m benchmarks.truncation --model biggan --weights digits
    python -m benchmarks.truncation --model biggan --weights digits --plot docs/images/biggan_truncation.png \\
        --grid docs/images/biggan_truncation_grid.png
    python -m benchmarks.truncation --ckpt runs/biggan/cifar10/version_0/checkpoints/last.ckpt

Brock, Donahue & Simonyan (ICLR 2019) sample z from a normal truncated at ±t (values outside
resampled): a smaller t trades variety for fidelity, and their Fig. 4 draws IS against FID as t
falls. Here, for every threshold ``t`` of ``--thresholds`` (``none``: the plain normal), a class-
conditional model draws ``--samples`` images, an equal number per class, with
``model.sample(n, labels=..., truncation=t)``, and an independent classifier judges them (the
*judge*: the shipped digits classifier, or the CIFAR-10 judge of :mod:`zoo.metrics.cifar10` when
the model was trained on CIFAR-10):

* ``fd``: the Fréchet distance between the judge's features of the samples and of the real
  training images (the 1439 embedded digits; 5000 CIFAR-10 training images): fidelity *and*
  variety, lower is better. In the judge's space, not Inception's: a sweep of Inception FIDs would
  cost minutes per point on a CPU (``python -m zoo.evaluate`` gives the standard FID of one setting);
* ``is``: the judge's Inception Score exp(E KL(p(y|x) ‖ p(y))) (:func:`zoo.metrics.domain.classifier_inception_score`),
  the paper's fidelity axis; the number of classes is its ceiling;
* ``conditional_accuracy``: how often the judge reads the class asked for;
* ``diversity``: the mean distance between the judge's features of two samples of the same class
  (divided by the same figure for real images): the variety truncation removes; 1 is the data's.

It prints a table and a JSON line; ``--plot`` writes the two panels (FD and IS against t), ``--grid``
one row per threshold with the same classes across. Budget: about a minute for the digits weights
on 2 CPU cores (seven thresholds, 1000 samples each). It never fails on a figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch import Tensor, nn
from torchvision.utils import save_image

import zoo
from zoo.metrics.domain import classifier_inception_score, conditional_accuracy, digit_features, frechet_distance

DEFAULT_THRESHOLDS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, None)


def parse_thresholds(text: str) -> list[float | None]:
    """``"0.5,1,none"`` -> ``[0.5, 1.0, None]``; each threshold must be > 0."""
    values: list[float | None] = []
    for item in text.split(","):
        item = item.strip().lower()
        if item == "none":
            values.append(None)
            continue
        try:
            value = float(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"threshold {item!r} is neither a number nor 'none'") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"a truncation threshold must be > 0, got {value}")
        values.append(value)
    return values


def judge_and_real(model, ckpt: str | None, real_count: int = 5000) -> tuple[nn.Module | None, Tensor, Tensor, str]:
    """The judge (``None``: the shipped digits classifier), the real training images it compares with and
    their labels, and the judge's name: CIFAR-10's when the checkpoint was trained on CIFAR-10, else the digits'."""
    if ckpt is not None:
        from zoo.evaluate import judge_for, real_dataset

        trained_on = torch.load(ckpt, map_location="cpu", weights_only=True).get("zoo", {}).get("data", {})
        spec = trained_on.get("name") or "digits"
        if judge_for(spec, "train", trained_on.get("init_args")) == "cifar10":
            from zoo.metrics.cifar10 import load_cifar10_classifier

            dataset, _, _ = real_dataset(spec, "train", trained_on.get("init_args"), 3)
            picks = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:real_count]
            items = [dataset[int(i)] for i in picks]
            real = torch.stack([image for image, _ in items])
            labels = torch.as_tensor([int(label) for _, label in items])
            return load_cifar10_classifier(), real, labels, "cifar10"
    from benchmarks.class_conditional import all_images
    from datamodules import DigitsDataModule

    image_size = model.hparams.image_shape[-1]
    real, labels = all_images(DigitsDataModule(image_size=image_size), "train")
    return None, real, labels, "digits"


def intra_class_distance(features: Tensor, labels: Tensor) -> float:
    """The mean Euclidean distance between two feature vectors of the same class, over the classes."""
    means = []
    for label in labels.unique():
        group = features[labels == label].double()
        if len(group) > 1:
            distances = torch.cdist(group, group)
            means.append(distances.sum() / (len(group) * (len(group) - 1)))
    return float(torch.stack(means).mean())


def sweep(model, judge: nn.Module | None, real: Tensor, real_labels: Tensor, thresholds: list[float | None],
          samples: int, seed: int = 123) -> list[dict]:
    """One row per threshold: ``{"truncation", "fd", "is", "conditional_accuracy", "diversity"}``."""
    num_classes = model.hparams.num_classes
    per_class = max(2, samples // num_classes)
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    real_features = digit_features(real, judge)
    real_spread = intra_class_distance(real_features, real_labels)
    rows = []
    for t in thresholds:
        torch.manual_seed(seed)
        images = model.sample(len(labels), labels=labels.to(model.device), truncation=t).cpu()
        features = digit_features(images, judge)
        rows.append({
            "truncation": t,
            "fd": frechet_distance(real_features, features),
            "is": classifier_inception_score(images, judge),
            "conditional_accuracy": conditional_accuracy(images, labels, judge),
            "diversity": intra_class_distance(features, labels) / real_spread,
        })
    return rows


def format_table(rows: list[dict]) -> str:
    lines = ["| truncation t | FD (judge) | IS (judge) | conditional accuracy | diversity |", "|---|---|---|---|---|"]
    for row in rows:
        t = "none" if row["truncation"] is None else f"{row['truncation']:g}"
        lines.append(f"| {t} | {row['fd']:.2f} | {row['is']:.2f} | {row['conditional_accuracy']:.3f} | "
                     f"{row['diversity']:.3f} |")
    return "\n".join(lines)


def save_plot(rows: list[dict], path: Path, title: str) -> None:
    """FD and IS against the threshold (``none`` drawn at the right end, as ∞)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = [r["truncation"] for r in rows if r["truncation"] is not None]
    right = (max(finite) * 1.5) if finite else 1.0
    xs = [right if r["truncation"] is None else r["truncation"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, key, label in ((axes[0], "fd", "FD in the judge's features (lower: better)"),
                           (axes[1], "is", "IS by the judge (higher: better)")):
        ax.plot(xs, [r[key] for r in rows], "o-")
        ax.set_xlabel("truncation threshold t")
        ax.set_title(label, fontsize=9)
        ax.set_xticks(xs, ["none" if r["truncation"] is None else f"{r['truncation']:g}" for r in rows])
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_grid(model, thresholds: list[float | None], path: Path, seed: int = 7) -> None:
    """One row per threshold, one column per class (two per class when there are at most 8 classes)."""
    num_classes = model.hparams.num_classes
    per_class = 2 if num_classes <= 8 else 1
    labels = torch.arange(num_classes).repeat_interleave(per_class).to(model.device)
    rows = []
    for t in thresholds:
        torch.manual_seed(seed)
        rows.append(model.sample(len(labels), labels=labels, truncation=t).cpu())
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(torch.cat(rows), path, nrow=len(labels), normalize=True, value_range=(-1, 1), padding=1)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a class-conditional model with truncation (biggan); with --weights")
    source.add_argument("--ckpt", help="a checkpoint of python -m zoo.fit (its data set picks the judge)")
    parser.add_argument("--weights", default="digits", help="declared weights of --model (default: digits)")
    parser.add_argument("--thresholds", type=parse_thresholds,
                        default=list(DEFAULT_THRESHOLDS), help="comma-separated t > 0, or none (default: "
                        + ",".join("none" if t is None else f"{t:g}" for t in DEFAULT_THRESHOLDS) + ")")
    parser.add_argument("--samples", type=int, default=1000, help="samples per threshold, equal per class (1000)")
    parser.add_argument("--plot", type=Path, help="write the FD / IS curves here (a .png)")
    parser.add_argument("--grid", type=Path, help="write a grid here: one row per threshold")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    model = zoo.load(args.ckpt) if args.ckpt else zoo.load(args.model, weights=args.weights)
    capabilities = type(model).capabilities
    if "truncation" not in capabilities.conditions or "labels" not in capabilities.conditions:
        parser.error(f"{type(model).__name__} has no class-conditional truncated sampling (its sample() takes "
                     f"{', '.join(capabilities.conditions) or 'no conditions'}); models with it: biggan")
    judge, real, real_labels, judge_name = judge_and_real(model, args.ckpt)
    rows = sweep(model, judge, real, real_labels, args.thresholds, args.samples)
    name = args.ckpt or f"{args.model}.{args.weights}"
    print(format_table(rows))
    if args.plot:
        save_plot(rows, args.plot, f"{name}: the truncation trick ({args.samples} samples per t, {judge_name} judge)")
    if args.grid:
        save_grid(model, args.thresholds, args.grid)
    print(json.dumps({"source": name, "judge": judge_name, "samples": args.samples, "rows": rows,
                      "seconds": round(time.perf_counter() - start, 1)}, default=lambda v: None if v is None else v))
    return rows


if __name__ == "__main__":
    main()
