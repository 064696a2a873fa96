"""``python -m zoo.evaluate``: score a checkpoint, or two image sets, with FID / IS / KID.

    # a checkpoint written by zoo.fit, against the data set it was trained on
    python -m zoo.evaluate --ckpt runs/cgan/cifar10/version_0/checkpoints/last.ckpt --metrics fid,is,kid --num-samples 10000
    # a folder of generated images against a registered data set (name[:split]) or another folder
    python -m zoo.evaluate --fake samples/ --real cifar10:train --metrics fid,kid
    python -m zoo.evaluate --fake samples/ --real other_samples/ --metrics fid

It prints a table and writes the values, with the number of samples and the
reference split, to a JSON file (``--output``; by default ``evaluation.json``
beside the checkpoint or the fake folder). Real-data statistics come from the
same on-disk cache as training's metrics callback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from zoo.commands import command_parser
from zoo.metrics.fidelity import METRICS, FidelityEvaluator, check_metric_names, real_data_key


class EvaluationError(Exception):
    """A bad request (unknown data set, empty folder, ...); the CLI prints it and exits with status 2."""


def _folder_key(folder: Path, dataset) -> dict[str, Any]:
    stats = [f.stat() for f in dataset.files]
    return {"dataset": f"folder:{folder.resolve()}", "files": len(stats),
            "bytes": sum(s.st_size for s in stats), "mtime": max(s.st_mtime for s in stats)}


def real_dataset(spec: str, split: str, data_kwargs: dict[str, Any] | None = None, channels: int = 3):
    """(dataset, cache key, description) for ``spec``: a folder or a registered data set ``name[:split]``.

    A folder's unreadable files are left out with one warning (``ImageFolderDataset``); the
    description then counts them as ``"skipped"``."""
    from datamodules import DATAMODULES
    from datamodules.image_datasets import ImageFolderDataset

    path = Path(spec)
    if path.is_dir():
        from datamodules import detect_layout

        if detect_layout(path) == "labelled" and (path / split).is_dir():  # train/<class>/..., test/<class>/...
            path = path / split
        dataset = ImageFolderDataset(path, channels=channels)
        info: dict[str, Any] = {"folder": str(path), "count": len(dataset)}
        if dataset.skipped:
            info["skipped"] = len(dataset.skipped)
        return dataset, _folder_key(path, dataset), info
    name, _, explicit_split = spec.partition(":")
    split = explicit_split or split
    if name not in DATAMODULES:
        raise EvaluationError(
            f"--real/--data {spec!r} is neither a folder nor a data set; valid data sets: {', '.join(DATAMODULES.names())}"
        )
    datamodule = DATAMODULES.get(name)(**(data_kwargs or {}))
    dataset = datamodule.split_dataset(split)
    key = real_data_key(name, datamodule, split)
    return dataset, key, {"data": name, "split": split, "count": len(dataset)}


def judge_for(spec: str, split: str, data_kwargs: dict[str, Any] | None = None) -> str:
    """``cifar10`` when the real images ``spec`` are CIFAR-10 (the data set, or a folder of its class folders),
    else ``digits``: the classifier behind the domain metrics (:mod:`zoo.metrics.cifar10`). A folder DataModule
    named by its registry name (``labelled_folder``, as a checkpoint records it) is judged by its ``root``
    in ``data_kwargs``."""
    from zoo.metrics.cifar10 import is_cifar10

    path = Path(spec)
    root = (data_kwargs or {}).get("root")
    if not path.is_dir() and root is not None and Path(root).expanduser().is_dir():
        path = Path(root).expanduser()
    if path.is_dir():
        folder = next((f for f in (path / split, path / "train") if f.is_dir()), path)  # the class folders
        names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        return "cifar10" if is_cifar10(None, names) else "digits"
    return "cifar10" if is_cifar10(spec.partition(":")[0], None) else "digits"


def folder_sampler(folder: Path, channels: int) -> tuple[Callable[[int], tuple[torch.Tensor, None]], int]:
    """A ``sample(n)`` function reading the readable images of ``folder`` in order, and their number
    (unreadable files are left out with one warning, ``ImageFolderDataset``; ``sample.skipped`` counts them)."""
    from datamodules.image_datasets import ImageFolderDataset

    dataset = ImageFolderDataset(folder, channels=channels)
    position = 0

    def sample(n: int):
        nonlocal position
        images = torch.stack([dataset[i][0] for i in range(position, position + n)])
        position += n
        return images, None

    sample.skipped = len(dataset.skipped)  # type: ignore[attr-defined]  # unreadable files left out
    return sample, len(dataset)


def evaluate(
    *,
    ckpt: str | None = None,
    fake: str | None = None,
    real: str | None = None,
    data: str | None = None,
    split: str = "train",
    metrics: Sequence[str] = ("fid", "is", "kid"),
    num_samples: int = 10000,
    batch_size: int = 100,
    inception_weights: str | None = None,
    device: str | None = None,
    seed: int = 12345,
    kid_subset_size: int = 1000,
    kid_subsets: int = 100,
    isc_splits: int = 10,
) -> dict[str, Any]:
    """Score a checkpoint (``ckpt``) or a folder of images (``fake``) against real images.

    Returns ``{"metrics": {...}, "num_samples", "real": {...}, "fake": {...}, "seconds"}``.
    """
    if (ckpt is None) == (fake is None):
        raise EvaluationError("give exactly one of --ckpt (a checkpoint) or --fake (a folder of images)")
    names = check_metric_names(metrics)
    start = time.perf_counter()
    if ckpt is not None:
        dataset, key, real_info, sample, judge = checkpoint_sampler(ckpt, real, data, split, device)
        count, fake_info = num_samples, {"checkpoint": str(ckpt)}
    else:
        if real is None and data is None:
            raise EvaluationError("--fake needs --real (a folder or a data set name[:split])")
        spec = real or data
        dataset, key, real_info = real_dataset(spec, split)
        judge = judge_for(spec, split)
        channels = dataset[0][0].shape[0]
        sample, count = folder_sampler(Path(fake), channels)
        fake_info = {"folder": str(fake), "count": count}
        if getattr(sample, "skipped", 0):
            fake_info["skipped"] = sample.skipped  # unreadable files left out (one warning names them)
    evaluator = FidelityEvaluator(names, inception_weights, True, batch_size, kid_subset_size=kid_subset_size,
                                  kid_subsets=kid_subsets, isc_splits=isc_splits, device=device, progress=True,
                                  judge=judge)
    real_stats = evaluator.real_statistics(dataset, key)
    real_info["cache"] = {"path": str(evaluator.last_cache_path), "hit": evaluator.last_cache_hit}
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        values = evaluator.evaluate(sample, count, real_stats)
    seconds = time.perf_counter() - start
    return {
        "metrics": {k: v for k, v in values.items() if k not in ("num_samples", "seconds")},
        "extractors": evaluator.extractors,
        "num_samples": values["num_samples"], "real": real_info, "fake": fake_info,
        "seconds": seconds, "generation_and_features_seconds": values["seconds"],
    }


def checkpoint_sampler(ckpt: str, real: str | None, data: str | None, split: str, device: str | None):
    """The real images to compare with (``real``, ``data``, else the data set the checkpoint records) and the
    model's ``sample_for_metrics``: ``(dataset, cache key, real info, sampler, the judge's name)`` (:func:`judge_for`)."""
    import zoo

    model = zoo.load(ckpt, map_location=device or ("cuda" if torch.cuda.is_available() else "cpu"))
    capabilities = type(model).capabilities
    if not capabilities.samples:
        raise EvaluationError(
            f"{type(model).__name__} does not sample from noise ({capabilities.task}): score its outputs as a "
            "folder (--fake, e.g. written by python -m zoo.translate) against --real; training logs its val/ metrics"
        )
    trained_on = torch.load(ckpt, map_location="cpu", weights_only=True).get("zoo", {}).get("data", {})
    spec = real or data or trained_on.get("name")
    if spec is None:
        raise EvaluationError("the checkpoint does not record its data set: pass --data NAME or --real")
    kwargs = trained_on.get("init_args") if spec.partition(":")[0] == trained_on.get("name") else None
    channels = model.hparams.image_shape[0] if "image_shape" in model.hparams else 3
    dataset, key, real_info = real_dataset(spec, split, kwargs, channels)
    return dataset, key, real_info, model.sample_for_metrics, judge_for(spec, split, kwargs)


def format_table(result: dict[str, Any]) -> str:
    rows = [("metric", "value")] + [(k, f"{v:.6g}") for k, v in result["metrics"].items()]
    width = max(len(r[0]) for r in rows)
    lines = [f"{a:<{width}}  {b}" for a, b in rows]
    lines.insert(1, "-" * (width + 14))
    real = result["real"]
    lines.append(f"generated: {result['num_samples']} samples from {next(iter(result['fake'].values()))}")
    lines.append(f"real: {real.get('data', real.get('folder'))}" + (f":{real['split']}" if "split" in real else "")
                 + f" ({real['count']} images)")
    lines += [f"{what} features: {description}" for what, description in result.get("extractors", {}).items()]
    lines.append(f"time: {result['seconds']:.1f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = command_parser("zoo.evaluate", __doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="checkpoint written by `python -m zoo.fit`")
    source.add_argument("--fake", help="folder of generated images")
    parser.add_argument("--real", help="real images: a folder, or a data set NAME[:SPLIT] (default: the checkpoint's data)")
    parser.add_argument("--data", help="data set NAME[:SPLIT] of the real images (same as --real NAME)")
    parser.add_argument("--split", default="train", help="split of the real data set (default: train)")
    parser.add_argument("--metrics", default="fid,is,kid", help=f"comma-separated, among: {', '.join(METRICS)}")
    parser.add_argument("--num-samples", type=int, default=10000, help="generated samples for --ckpt (default 10000)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--inception-weights", help="local Inception weights file (else ZOO_INCEPTION_WEIGHTS, torch hub cache, the fid extra's file, download)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the generator's noise")
    parser.add_argument("--kid-subset-size", type=int, default=1000)
    parser.add_argument("--kid-subsets", type=int, default=100)
    parser.add_argument("--isc-splits", type=int, default=10)
    parser.add_argument("--output", help="JSON file to write (default: evaluation.json beside --ckpt / --fake)")
    args = parser.parse_args(argv)
    try:
        result = evaluate(
            ckpt=args.ckpt, fake=args.fake, real=args.real, data=args.data, split=args.split,
            metrics=args.metrics.split(","), num_samples=args.num_samples, batch_size=args.batch_size,
            inception_weights=args.inception_weights, device=args.device, seed=args.seed,
            kid_subset_size=args.kid_subset_size, kid_subsets=args.kid_subsets, isc_splits=args.isc_splits,
        )
    except (EvaluationError, ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    anchor = Path(args.ckpt).parent if args.ckpt else Path(args.fake).resolve().parent
    output = Path(args.output) if args.output else anchor / "evaluation.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2))
    print(format_table(result))
    print(f"written: {output}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
