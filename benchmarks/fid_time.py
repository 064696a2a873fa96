"""Wall time of one FID / IS / KID evaluation (budget: about 15 minutes at 10k samples on 2 CPU cores).

    python -m benchmarks.fid_time --num-samples 10000
    python -m benchmarks.fid_time --num-samples 10000 --inception-weights /path/weights-inception-2015-12-05-6726825d.pth

Generates ``--num-samples`` 32x32 images with an (untrained) cGAN and scores
them against the digits training split, as the ``--metrics`` callback does:
reporting the one-off cost of the real statistics (then cached) and the cost
of the generated side, which is what each periodic evaluation pays. The cost is
dominated by Inception's 299x299 forward pass and does not depend on the
weights' values, so without the real weights file the benchmark times a file
with the same architecture and random parameters (the printed FID is then
meaningless; the time is not). It prints figures; it never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

import zoo
from datamodules import DigitsDataModule
from zoo.metrics.fidelity import FidelityEvaluator
from zoo.metrics.inception import MissingWeightsError, resolve_inception_weights


def random_weights(path: Path) -> Path:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.metrics.inception_weights import write_random_inception_weights

    return write_random_inception_weights(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--metrics", default="fid,is,kid")
    parser.add_argument("--inception-weights", default=None)
    args = parser.parse_args()

    try:
        found = resolve_inception_weights(args.inception_weights, download=False, need_logits="is" in args.metrics)
        weights, real_weights = found.source, True
    except MissingWeightsError:
        weights, real_weights = random_weights(Path(tempfile.mkdtemp()) / "random-inception.pth"), False
    os.environ["ZOO_CACHE_DIR"] = tempfile.mkdtemp()  # start from an empty real-statistics cache

    dm = DigitsDataModule()
    model = zoo.create_model("cgan", image_shape=dm.image_shape, num_classes=dm.num_classes).eval()
    evaluator = FidelityEvaluator(args.metrics.split(","), str(weights), download=False,
                                  batch_size=args.batch_size, device="cpu", progress=True)
    key = {"dataset": "digits", "split": "train", "image_shape": list(dm.image_shape)}
    results = {"num_samples": args.num_samples, "real_inception_weights": real_weights,
               "threads": torch.get_num_threads()}
    start = time.perf_counter()
    real = evaluator.real_statistics(dm.split_dataset("train"), key)
    results["real_statistics_seconds"] = round(time.perf_counter() - start, 1)  # paid once, then cached
    results["real_images"] = int(real["count"])
    values = evaluator.evaluate(model.sample_for_metrics, args.num_samples, real)
    # what every later evaluation costs (real statistics come from the cache)
    results["evaluation_seconds_warm_cache"] = round(values.pop("seconds"), 1)
    results["evaluation_seconds_cold_cache"] = round(results["real_statistics_seconds"]
                                                     + results["evaluation_seconds_warm_cache"], 1)
    results.update({k: round(v, 4) for k, v in values.items() if k != "num_samples"})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
