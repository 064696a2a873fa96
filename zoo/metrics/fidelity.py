"""FID, IS and KID of generated images (plus the digits domain metrics), correct under DDP.

How a value is computed
-----------------------
1. Each rank generates its share of ``num_samples`` images (sample ``i`` goes to
   rank ``i % world_size``), converts them to uint8 RGB (:func:`to_uint8_rgb`)
   and extracts features: Inception pool-2048 and logits for FID / KID / IS;
   the digits classifier's features and logits for FD-digits, classifier IS and
   conditional accuracy.
2. :class:`FeatureBank`, a torchmetrics ``Metric`` with ``cat`` states, gathers
   the features of all ranks and puts them back in sample order, so every rank
   holds exactly what a single process would have computed.
3. The formulas are torch-fidelity's own (``fid_statistics_to_metric``,
   ``kid_features_to_metric``, ``isc_features_to_metric``) with its defaults
   (KID: 100 subsets of 1000, polynomial kernel of degree 3; IS: 10 splits,
   shuffled with seed 2020), so values match ``torch_fidelity.calculate_metrics``.

Real-data statistics (FID's mean and covariance, up to ``kid_max_real`` feature
vectors for KID, the digits features) are computed once per (data set, split,
image shape, number of images, extractor weights' sha256) and cached on disk under
``$ZOO_CACHE_DIR`` (default ``~/.cache/zoo``) ``/real_stats/``.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from zoo.metrics.inception import inception_feature_extractor, to_uint8_rgb
from zoo.paths import cache_dir

INCEPTION_METRICS = ("fid", "is", "kid")
DIGITS_METRICS = ("fd_digits", "cis", "conditional_accuracy")
METRICS = INCEPTION_METRICS + DIGITS_METRICS
CACHE_VERSION = 1


def check_metric_names(names: Sequence[str]) -> list[str]:
    """Lower-cased, de-duplicated metric names; an unknown one lists the valid ones."""
    names = list(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}; valid choices: {', '.join(METRICS)}")
    return names


def world() -> tuple[int, int]:
    """(rank, world size) of the default process group, (0, 1) when not distributed."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def real_data_key(dataset: str, datamodule: Any, split: str) -> dict[str, Any]:
    """The cache key of a DataModule split's real statistics: the data set's name, the split, the
    image shape and the folder it reads (``data_dir`` or ``root``). :meth:`FidelityEvaluator.real_statistics`
    adds the image count and the extractors. ``zoo.fit``'s callback, ``zoo.evaluate`` and the
    benchmarks build it the same way, so they share one cache file."""
    folder = getattr(datamodule, "data_dir", None) or getattr(datamodule, "root", None)
    return {"dataset": dataset, "split": split, "image_shape": list(getattr(datamodule, "image_shape", [])),
            "data_dir": str(Path(folder).expanduser().resolve()) if folder else ""}


class FeatureBank(Metric):
    """Per-sample feature tensors gathered from every rank, returned in sample order."""

    full_state_update = False

    def __init__(self, keys: Sequence[str]) -> None:
        super().__init__()
        self.keys = tuple(keys)
        self.add_state("index", default=[], dist_reduce_fx="cat")
        for key in self.keys:
            self.add_state(key, default=[], dist_reduce_fx="cat")

    def update(self, index: Tensor, **features: Tensor) -> None:
        self.index.append(index.to(self.device))
        for key in self.keys:
            getattr(self, key).append(features[key].detach().to(self.device, torch.float32))

    def compute(self) -> dict[str, Tensor]:
        order = torch.argsort(dim_zero_cat(self.index))
        return {key: dim_zero_cat(getattr(self, key))[order] for key in self.keys}


def load_judge(judge: str, metrics: Sequence[str], device: torch.device) -> torch.nn.Module:
    """The classifier of the domain ``metrics``: the digits one, or the CIFAR-10 judge (conditional accuracy only)."""
    if judge == "digits":
        from zoo.metrics.digits import load_digits_classifier

        return load_digits_classifier(device)
    if judge != "cifar10":
        raise ValueError(f"unknown judge {judge!r}; valid choices: digits, cifar10")
    refused = [m for m in metrics if m != "conditional_accuracy"]
    if refused:
        raise ValueError(f"{', '.join(refused)} are metrics of the digits; on CIFAR-10 the judge gives "
                         "conditional_accuracy (and Inception: fid, is, kid)")
    from zoo.metrics.cifar10 import load_cifar10_classifier

    return load_cifar10_classifier(device)


class FidelityEvaluator:
    """Computes the chosen metrics of a generator against a real data split.

    Args:
        metrics: names among ``fid``, ``is``, ``kid``, ``fd_digits``, ``cis``
            (classifier IS on digits), ``conditional_accuracy``.
        inception_weights: local Inception weights (see :mod:`zoo.metrics.inception` for the lookup
            order: this path, ``ZOO_INCEPTION_WEIGHTS``, torch hub's cache, the ``fid`` extra's file).
        download: allow downloading torch-fidelity's Inception weights when none is on disk.
        batch_size: images per feature-extraction batch.
        kid_subset_size / kid_subsets: KID's subset size and count (torch-fidelity: 1000, 100).
        kid_max_real: real feature vectors kept for KID (a fixed random subset when the split is larger).
        isc_splits: IS splits (torch-fidelity and the original code: 10).
        feature_extractor: a module mapping uint8 RGB images to ``(pool, logits)`` used
            instead of Inception (for quick experiments and tests; its values are not FID).
        progress: show a progress bar (rank 0) while extracting features.
        device: where features are extracted (``None``: CUDA when available).
        judge: the classifier of the domain metrics: ``digits`` (:mod:`zoo.metrics.digits`: FD-digits,
            classifier IS, conditional accuracy) or ``cifar10`` (:mod:`zoo.metrics.cifar10`: conditional
            accuracy on CIFAR-10; FD-digits and classifier IS are digits metrics and refused with it).
    """

    def __init__(
        self,
        metrics: Sequence[str] = ("fid",),
        inception_weights: str | None = None,
        download: bool = True,
        batch_size: int = 100,
        kid_subset_size: int = 1000,
        kid_subsets: int = 100,
        kid_max_real: int = 10000,
        isc_splits: int = 10,
        feature_extractor: torch.nn.Module | None = None,
        device: str | torch.device | None = None,
        progress: bool = False,
        judge: str = "digits",
    ) -> None:
        self.progress = progress
        self.metrics = check_metric_names(metrics)
        self.batch_size = batch_size
        self.kid_subset_size, self.kid_subsets, self.kid_max_real = kid_subset_size, kid_subsets, kid_max_real
        self.isc_splits = isc_splits
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.inception = feature_extractor.to(self.device) if feature_extractor is not None else None
        if self.inception is None and any(m in INCEPTION_METRICS for m in self.metrics):
            self.inception = inception_feature_extractor(inception_weights, download, need_logits="is" in self.metrics)
            self.inception.to(self.device)
        if "is" in self.metrics and not getattr(self.inception, "has_logits", True):
            raise ValueError(f"IS needs Inception's logits layer; the feature extractor has none "
                             f"({getattr(self.inception, 'description', type(self.inception).__name__)})")
        self.digits = None  # the domain metrics' classifier: the digits one, or the CIFAR-10 judge
        self.judge = judge
        if any(m in DIGITS_METRICS for m in self.metrics):
            self.digits = load_judge(judge, [m for m in self.metrics if m in DIGITS_METRICS], self.device)

    # ------------------------------------------------------------- features
    @property
    def extractors(self) -> dict[str, str]:
        """The networks behind the values: ``{"inception": description, "digits": ...}`` (those in use)."""
        out = {}
        if self.inception is not None:
            out["inception"] = getattr(self.inception, "description", f"custom {type(self.inception).__name__}")
        if self.digits is not None:
            what = "digits classifier" if self.judge == "digits" else "CIFAR-10 classifier"
            out[self.judge] = f"zoo {what} (sha256 {(self.digits.fingerprint or '?')[:12]})"
        return out

    @property
    def feature_keys(self) -> tuple[str, ...]:
        keys: list[str] = []
        if self.inception is not None:
            keys += ["pool", "logits"] if getattr(self.inception, "has_logits", True) else ["pool"]
        if self.digits is not None:
            keys += ["digits_features", "digits_logits"]
        return tuple(keys)

    @torch.inference_mode()
    def features(self, images: Tensor) -> dict[str, Tensor]:
        """Features of one batch of images in [-1, 1] (B, C, H, W)."""
        images = images.to(self.device)
        out: dict[str, Tensor] = {}
        if self.inception is not None:
            out.update(zip(("pool", "logits"), self.inception(to_uint8_rgb(images))))
        if self.digits is not None:
            quantised = to_uint8_rgb(images)[:, : images.shape[1]].float() / 127.5 - 1  # same 8-bit images
            out["digits_features"] = self.digits.features(quantised)
            out["digits_logits"] = self.digits(quantised)
        return out

    def _bank(self, batches: Iterator[tuple[Tensor, Tensor, Tensor]], total: int, what: str) -> dict[str, Tensor]:
        from tqdm.auto import tqdm

        bank = FeatureBank(self.feature_keys + ("labels",)).to(self.device)
        rank, world_size = world()
        bar = tqdm(total=total, desc=what, unit="img", disable=not self.progress or rank != 0, leave=False)
        for index, images, labels in batches:
            bar.update(len(index) * world_size)
            bank.update(index, labels=labels.float(), **self.features(images))
        bar.close()
        return bank.compute()

    # ----------------------------------------------------------- real data
    def real_statistics(self, dataset: Dataset, key: dict[str, Any], use_cache: bool = True) -> dict[str, Tensor]:
        """Statistics of a real split, from the on-disk cache when present (computed and saved otherwise).

        ``key`` identifies the data (data set, split, image shape); the number of
        images and the extractors are added to it. Under DDP each rank extracts
        a shard; only rank 0 writes the cache file.
        """
        full_key = {
            **key, "count": len(dataset), "keys": self.feature_keys, "kid_max_real": self.kid_max_real,
            "inception": getattr(self.inception, "fingerprint", None),
            "digits": getattr(self.digits, "fingerprint", None), "version": CACHE_VERSION,
        }
        digest = hashlib.sha1(json.dumps(full_key, sort_keys=True, default=str).encode()).hexdigest()[:16]
        name = "-".join(str(key.get(k, "")) for k in ("dataset", "split")).strip("-") or "real"
        path = cache_dir() / "real_stats" / f"{name}-{digest}.pt"
        self.last_cache_path, self.last_cache_hit = path, False
        if use_cache and path.is_file():
            self.last_cache_hit = True
            return torch.load(path, map_location="cpu", weights_only=True)
        stats = self._summarise_real(self._bank(self._dataset_batches(dataset), len(dataset), "real features"))
        rank, _ = world()
        if use_cache and rank == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            torch.save(stats, tmp)
            tmp.replace(path)
        return stats

    def _summarise_real(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        stats: dict[str, Tensor] = {"count": torch.tensor(len(features["labels"]))}
        if "pool" in features:
            pool = features["pool"].cpu()
            stats["pool_mu"] = torch.from_numpy(np.mean(pool.numpy(), axis=0))
            stats["pool_sigma"] = torch.from_numpy(np.cov(pool.numpy(), rowvar=False))
            if len(pool) > self.kid_max_real:
                keep = torch.randperm(len(pool), generator=torch.Generator().manual_seed(0))[: self.kid_max_real]
                pool = pool[keep.sort().values]
            stats["pool"] = pool.contiguous()
        if "digits_features" in features:
            stats["digits_features"] = features["digits_features"].cpu()
        return stats

    def _dataset_batches(self, dataset: Dataset) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        rank, world_size = world()
        indices = list(range(rank, len(dataset), world_size))
        loader = DataLoader(Subset(dataset, indices), batch_size=self.batch_size, shuffle=False)
        start = 0
        for images, labels in loader:
            index = torch.tensor(indices[start : start + len(images)])
            start += len(images)
            yield index, images, labels

    # ----------------------------------------------------------- generated
    def generated_features(self, sample: Callable[[int], tuple[Tensor, Tensor | None]], num_samples: int) -> dict[str, Tensor]:
        """Features of ``num_samples`` generated images; ``sample(n)`` returns (images, labels or None).

        Rank ``r`` generates samples ``r, r + world, ...``; the result is gathered on every rank.
        """
        rank, world_size = world()
        own = torch.arange(rank, num_samples, world_size)

        def batches():
            for chunk in own.split(self.batch_size):
                images, labels = sample(len(chunk))
                labels = torch.full((len(chunk),), -1) if labels is None else labels
                yield chunk, images, labels.cpu()

        return self._bank(batches(), num_samples, "generated features")

    def translated_features(self, source: Dataset, translate: Callable[[Tensor], Tensor]) -> dict[str, Tensor]:
        """Features of ``translate(x)`` for every image ``x`` of ``source`` (``(image, label)`` items).

        Sharded across ranks like the real images and gathered by index, so the
        result is the same on every rank and equal to a single-process pass.
        """

        def batches():
            for index, images, labels in self._dataset_batches(source):
                yield index, translate(images), labels

        return self._bank(batches(), len(source), "translated features")

    def score(self, fake: dict[str, Tensor], real: dict[str, Tensor]) -> dict[str, float]:
        """The chosen metrics of gathered generated features against real statistics."""
        from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
        from torch_fidelity.metric_isc import isc_features_to_metric
        from torch_fidelity.metric_kid import kid_features_to_metric

        from zoo.metrics import domain

        out: dict[str, float] = {}
        if "fid" in self.metrics:
            real_stats = {"mu": real["pool_mu"].numpy(), "sigma": real["pool_sigma"].numpy()}
            fake_stats = fid_features_to_statistics(fake["pool"].cpu())
            out["fid"] = fid_statistics_to_metric(real_stats, fake_stats, verbose=False)["frechet_inception_distance"]
        if "is" in self.metrics:
            isc = isc_features_to_metric(fake["logits"].cpu(), splits=self.isc_splits, shuffle=True, rng_seed=2020)
            out["is"], out["is_std"] = isc["inception_score_mean"], isc["inception_score_std"]
        if "kid" in self.metrics:
            subset = min(self.kid_subset_size, len(fake["pool"]), len(real["pool"]))
            kid = kid_features_to_metric(  # (generated, real): torch-fidelity's (input1, input2) order
                fake["pool"].cpu(), real["pool"], kid_subsets=self.kid_subsets, kid_subset_size=subset,
                kid_degree=3, kid_gamma=None, kid_coef0=1, kid_kernel="poly", rng_seed=2020, verbose=False,
            )
            out["kid"], out["kid_std"] = kid["kernel_inception_distance_mean"], kid["kernel_inception_distance_std"]
        if "fd_digits" in self.metrics:
            out["fd_digits"] = domain.frechet_distance(real["digits_features"], fake["digits_features"].cpu())
        if "cis" in self.metrics:
            out["cis"] = domain.inception_score_of_logits(fake["digits_logits"])
        if "conditional_accuracy" in self.metrics:
            labels = fake["labels"].long()
            if (labels < 0).any():
                raise ValueError("conditional_accuracy needs a class-conditional model (samples with labels)")
            out["conditional_accuracy"] = (fake["digits_logits"].argmax(1) == labels).float().mean().item()
        return out

    def evaluate(self, sample: Callable[[int], tuple[Tensor, Tensor | None]], num_samples: int,
                 real: dict[str, Tensor]) -> dict[str, float]:
        """Generate, extract, gather and score; adds ``num_samples`` and ``seconds``."""
        start = time.perf_counter()
        values = self.score(self.generated_features(sample, num_samples), real)
        values["num_samples"] = num_samples
        values["seconds"] = time.perf_counter() - start
        return values
