"""Real-vs-real FID / KID floors and noise / constant-image ceilings, on the standard Inception weights.

    python -m benchmarks.fid_floors                                   # digits, and CIFAR-10 when ../shared/data/cifar10 exists
    python -m benchmarks.fid_floors --datasets digits
    python -m benchmarks.fid_floors --datasets cifar10 --cifar10 PATH --num-samples 5000 --ceiling-samples 1000

Budget: digits about 5 minutes, CIFAR-10 (10,000 reference images, 5,000 + 2 x 1,000
scored) about 30-45 minutes on 2 CPU cores: Inception's 299x299 forward pass runs at
roughly 5-11 images/s there. The real statistics are cached (``$ZOO_CACHE_DIR/real_stats``)
under the same key as ``zoo.fit --metrics`` and ``zoo.evaluate``, so later model
evaluations against the same split reuse them.

Protocol, per data set (a model's FID should be read against these):

* ``digits``: reference = the 1,439 training digits (32x32, grey repeated to RGB); scored
  sets of ``--digits-samples`` (default 179, the test split's size): the 179 **test**
  digits (the floor), uniform noise in [-1, 1], constant mid-grey images (ceilings).
* ``cifar10``: the labelled JPEG copy in ``../shared/data/cifar10`` (``--cifar10 PATH``;
  read by the ``labelled_folder`` DataModule at 32x32); reference = the 10,000 **test**
  images; scored: a fixed random subset (seed 0) of ``--num-samples`` (default 5,000)
  training images (the floor, at the count the CIFAR-10 model results use), and
  ``--ceiling-samples`` (default 1,000) uniform-noise and constant-grey images.

Every figure is FID and KID (KID's subsets: min(1000, the smaller set)) with the weights
``zoo.metrics.inception`` resolves (the ``fid`` extra's file, unless another is given);
the JSON line names them. It prints figures; it never fails on a value or a time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.utils.data import Dataset

from zoo.metrics.fidelity import FidelityEvaluator, real_data_key

SHARED_CIFAR10 = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10"


def dataset_sampler(dataset: Dataset, indices: list[int]):
    """``sample(n)`` serving the images ``dataset[i]`` for ``i`` in ``indices``, in order."""
    position = 0

    def sample(n: int):
        nonlocal position
        chunk = indices[position : position + n]
        position += n
        return torch.stack([dataset[i][0] for i in chunk]), None

    return sample


def synthetic_sampler(kind: str, shape: tuple[int, ...], seed: int = 0):
    """Uniform noise in [-1, 1] or constant mid-grey images of ``shape`` (C, H, W)."""
    generator = torch.Generator().manual_seed(seed)

    def sample(n: int):
        if kind == "noise":
            return torch.rand(n, *shape, generator=generator) * 2 - 1, None
        return torch.zeros(n, *shape), None

    return sample


def score_sets(evaluator: FidelityEvaluator, name: str, datamodule, reference: str,
               sets: dict[str, tuple[object, int]]) -> dict:
    start = time.perf_counter()
    real = evaluator.real_statistics(datamodule.split_dataset(reference), real_data_key(name, datamodule, reference))
    out = {"dataset": name, "reference": f"{reference} ({int(real['count'])} images)",
           "reference_seconds": round(time.perf_counter() - start, 1), "cache_hit": evaluator.last_cache_hit,
           "extractor": evaluator.extractors["inception"]}
    for label, (sample, count) in sets.items():
        evaluator.kid_subset_size = min(1000, count, int(real["count"]))
        values = evaluator.evaluate(sample, count, real)
        out[label] = {"n": count, "fid": round(values["fid"], 3), "kid": round(values["kid"], 5),
                      "seconds": round(values["seconds"], 1)}
        print(f"  {name} {label}: {out[label]}", flush=True)
    return out


def digits(evaluator: FidelityEvaluator, n: int) -> dict:
    from datamodules import DigitsDataModule

    dm = DigitsDataModule()
    dm.setup()
    test = dm.split_dataset("test")
    count = min(n, len(test))
    sets = {"test_split (floor)": (dataset_sampler(test, list(range(count))), count),
            "uniform_noise": (synthetic_sampler("noise", dm.image_shape), n),
            "constant_grey": (synthetic_sampler("constant", dm.image_shape), n)}
    return score_sets(evaluator, "digits", dm, "train", sets)


def cifar10(evaluator: FidelityEvaluator, root: Path, n: int, n_ceiling: int) -> dict:
    from datamodules import LabelledFolderDataModule

    dm = LabelledFolderDataModule(str(root), image_size=32)
    dm.setup()
    train = dm.split_dataset("train")
    subset = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:n].sort().values.tolist()
    sets = {"train_subset (floor)": (dataset_sampler(train, subset), len(subset)),
            "uniform_noise": (synthetic_sampler("noise", dm.image_shape), n_ceiling),
            "constant_grey": (synthetic_sampler("constant", dm.image_shape), n_ceiling)}
    return score_sets(evaluator, "labelled_folder", dm, "test", sets) | {"data": str(root)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="digits,cifar10", help="comma-separated: digits, cifar10")
    parser.add_argument("--cifar10", default=str(SHARED_CIFAR10), help="CIFAR-10 as a labelled image folder")
    parser.add_argument("--num-samples", type=int, default=5000, help="CIFAR-10 training images scored (the floor)")
    parser.add_argument("--ceiling-samples", type=int, default=1000, help="CIFAR-10 noise / constant images scored")
    parser.add_argument("--digits-samples", type=int, default=179, help="digits images per scored set")
    parser.add_argument("--inception-weights", default=None, help="weights file (else the lookup of zoo.metrics.inception)")
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()

    evaluator = FidelityEvaluator(["fid", "kid"], args.inception_weights, download=False, batch_size=args.batch_size,
                                  device="cpu", progress=True)
    for name in [n.strip() for n in args.datasets.split(",") if n.strip()]:
        if name == "digits":
            result = digits(evaluator, args.digits_samples)
        elif name == "cifar10":
            if not Path(args.cifar10).is_dir():
                print(json.dumps({"dataset": "cifar10", "skipped": f"no folder at {args.cifar10}"}))
                continue
            result = cifar10(evaluator, Path(args.cifar10), args.num_samples, args.ceiling_samples)
        else:
            raise SystemExit(f"unknown data set {name!r}; valid choices: digits, cifar10")
        print(json.dumps(result | {"threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
