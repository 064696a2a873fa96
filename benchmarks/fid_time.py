"""Wall time of one FID / IS / KID evaluation (budget: about 15 minutes at 10k samples on 2 CPU cores).

    python -m benchmarks.fid_time --num-samples 10000
    python -m benchmarks.fid_time --num-samples 10000 --inception-weights /path/weights-inception-2015-12-05-6726825d.pth
    python -m benchmarks.fid_time --compare 200       # the zoo's extractor against torch-fidelity's, side by side

Generates ``--num-samples`` 32x32 images with an (untrained) cGAN and scores
them against the digits training split, as the ``--metrics`` callback does:
reporting the one-off cost of the real statistics (then cached) and the cost
of the generated side, which is what each periodic evaluation pays. The cost is
dominated by Inception's 299x299 forward pass and does not depend on the
weights' values, so without the real weights file the benchmark times a file
with the same architecture and random parameters (the printed FID is then
meaningless; the time is not). It prints figures; it never fails on a time.

``--compare N`` instead times the feature extraction alone, on N CIFAR-10-sized uint8 images
(random pixels, or the CIFAR-10 test images when ``../shared/data`` is present), with torch-fidelity's
``FeatureExtractorInceptionV3`` as it ships and the zoo's (:func:`zoo.metrics.inception.for_inference`:
batch norm folded into the convolutions, ``channels_last``), alternating batches so that both see
the same machine load: images/s each, the ratio, the largest difference of the 2048-d features,
the network's FLOPs per image (``torch.utils.flop_counter.FlopCounterMode``) and the GFLOP/s achieved
beside a large 3x3 convolution's (:func:`benchmarks.peak.convolution_gflops`, the machine's
convolution peak in float32).
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
from benchmarks.peak import convolution_gflops
from datamodules import DigitsDataModule
from zoo.metrics.fidelity import FidelityEvaluator
from zoo.metrics.inception import MissingWeightsError, resolve_inception_weights


def random_weights(path: Path) -> Path:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.metrics.inception_weights import write_random_inception_weights

    return write_random_inception_weights(path)


def cifar10_test_images(count: int) -> tuple[torch.Tensor, str]:
    """``count`` uint8 (N, 3, 32, 32) images and what they are: CIFAR-10 test JPEGs (every class, evenly
    spaced) when ../shared/data has them, else random pixels."""
    import numpy as np
    from PIL import Image

    from benchmarks.fid_floors import SHARED_CIFAR10

    paths = sorted((SHARED_CIFAR10 / "test").glob("*/*.jpg"))[:: max(1, 10000 // max(count, 1))][:count]
    if len(paths) < count:
        noise = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
        return noise, "random pixels"
    images = [torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1) for path in paths]
    return torch.stack(images), f"CIFAR-10 test images ({SHARED_CIFAR10})"


def compare(count: int, batch_size: int, weights: Path) -> dict:
    """torch-fidelity's extractor against the zoo's on the same images, batches alternating."""
    from torch.utils.flop_counter import FlopCounterMode
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    from zoo.metrics.inception import NETWORK, inception_feature_extractor, torch_fidelity_weights_file

    ours = inception_feature_extractor(str(weights), download=False)
    loadable = torch_fidelity_weights_file(ours.weights)
    plain = FeatureExtractorInceptionV3(NETWORK, ["2048"], feature_extractor_weights_path=str(loadable)).eval()
    images, source = cifar10_test_images(count)
    seconds, largest_difference = {"torch-fidelity": 0.0, "zoo": 0.0}, 0.0
    with torch.inference_mode():
        plain(images[:2]), ours(images[:2])  # warm-up: oneDNN picks its kernels
        with FlopCounterMode(display=False) as counter:
            ours(images[:1])
        flops_per_image = counter.get_total_flops()
        for batch in images.split(batch_size):
            start = time.perf_counter()
            reference = plain(batch)[0]
            seconds["torch-fidelity"] += time.perf_counter() - start
            start = time.perf_counter()
            features = ours(batch)[0]
            seconds["zoo"] += time.perf_counter() - start
            largest_difference = max(largest_difference, (features - reference).abs().max().item())
    peak = convolution_gflops()
    rates = {name: count / spent for name, spent in seconds.items()}
    return {
        "images": count, "source": source,
        "batch_size": batch_size, "threads": torch.get_num_threads(), "load": os.getloadavg()[0],
        "images_per_second": {name: round(rate, 2) for name, rate in rates.items()},
        "speed_up": round(rates["zoo"] / rates["torch-fidelity"], 3),
        "max_abs_feature_difference": largest_difference,
        "gflops_per_image": round(flops_per_image / 1e9, 2),
        "gflops_per_second": {name: round(rate * flops_per_image / 1e9, 1) for name, rate in rates.items()},
        "convolution_peak_gflops_per_second": round(peak, 1),
        "fraction_of_peak": {name: round(rate * flops_per_image / 1e9 / peak, 3) for name, rate in rates.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--metrics", default="fid,is,kid")
    parser.add_argument("--inception-weights", default=None)
    parser.add_argument("--compare", type=int, default=0, metavar="N",
                        help="time the feature extraction alone on N images: torch-fidelity's against the zoo's")
    args = parser.parse_args()

    try:
        found = resolve_inception_weights(args.inception_weights, download=False, need_logits="is" in args.metrics)
        weights, real_weights = found.source, True
    except MissingWeightsError:
        weights, real_weights = random_weights(Path(tempfile.mkdtemp()) / "random-inception.pth"), False
    if args.compare:
        print(json.dumps(compare(args.compare, min(args.batch_size, args.compare), weights)))
        return
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
