"""The InceptionV3 feature extractor of FID / IS / KID, and where its weights come from.

The network is torch-fidelity's port of the TensorFlow Inception graph used by
the original FID and IS code (``inception-v3-compat``, also what torchmetrics
uses), so numbers are comparable with published tables. It takes uint8 images
(B, 3, H, W), resizes them to 299x299 with TensorFlow-1.x-compatible bilinear
interpolation and returns the 2048-d pool features (FID, KID) and the 1008
unbiased logits (IS).

Weights are looked up, in order, at:

1. the ``path`` given (``--metrics.inception_weights PATH``),
2. the environment variable ``ZOO_INCEPTION_WEIGHTS``,
3. torch hub's cache, ``$TORCH_HOME/hub/checkpoints/weights-inception-2015-12-05-6726825d.pth``
   (the file torch-fidelity and torchmetrics download; ``torch.hub.get_dir()``).

If none exists and ``download`` is on, the file is downloaded into the hub cache
(its sha256 prefix is checked). Offline, :class:`MissingWeightsError` names the
URL and the path to put the file at. Weights are checked to load with
``torch.load(weights_only=True)`` before use.
"""

from __future__ import annotations

import hashlib
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path

import torch
from torch import Tensor

INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)
INCEPTION_FILENAME = INCEPTION_URL.rsplit("/", 1)[1]
ENV_VAR = "ZOO_INCEPTION_WEIGHTS"
FEATURES = ("2048", "logits_unbiased")


class MissingWeightsError(FileNotFoundError):
    """Inception weights are neither on disk nor downloadable; the message says what to do."""


def hub_cache_path() -> Path:
    """Where torch-fidelity / torchmetrics keep the weights: ``<torch hub dir>/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILENAME


def _instructions(target: Path) -> str:
    return (
        f"Download {INCEPTION_URL}\n"
        f"and put it at {target}\n"
        f"(or pass --metrics.inception_weights PATH, or set {ENV_VAR}=PATH)."
    )


def resolve_inception_weights(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The local path of the Inception weights, downloading them if allowed and needed."""
    for given, origin in ((path, "inception_weights"), (os.environ.get(ENV_VAR), ENV_VAR)):
        if given:
            given = Path(given).expanduser()
            if not given.is_file():
                raise MissingWeightsError(f"Inception weights not found at {given} (from {origin}).\n" + _instructions(given))
            return given
    target = hub_cache_path()
    if target.is_file():
        return target
    if not download:
        raise MissingWeightsError("Inception weights for FID/IS/KID are not on disk.\n" + _instructions(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with redirect_stdout(sys.stderr):
            torch.hub.download_url_to_file(INCEPTION_URL, str(target), hash_prefix="6726825d", progress=True)
    except Exception as err:  # offline: URLError, timeouts, proxies, ...
        raise MissingWeightsError(
            f"Inception weights for FID/IS/KID are not on disk and could not be downloaded "
            f"({type(err).__name__}: {err}).\n" + _instructions(target)
        ) from None
    return target


def weights_fingerprint(path: Path) -> str:
    """A short sha256 of the weights file (part of the real-statistics cache key)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def inception_feature_extractor(path: str | os.PathLike | None = None, download: bool = True) -> torch.nn.Module:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` returning (pool 2048, logits 1008) for uint8 input."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    weights = resolve_inception_weights(path, download)
    try:
        torch.load(weights, map_location="cpu", weights_only=True)  # refuse files that would run code
    except Exception as err:
        raise ValueError(f"{weights} is not a plain state dict of Inception weights: {err}") from None
    extractor = FeatureExtractorInceptionV3("inception-v3-compat", list(FEATURES), feature_extractor_weights_path=str(weights))
    extractor.fingerprint = weights_fingerprint(weights)
    return extractor


def to_uint8_rgb(images: Tensor) -> Tensor:
    """Images in [-1, 1] -> uint8 RGB (B, 3, H, W): the conventions FID / IS are defined on.

    Values are quantised as an 8-bit PNG would store them; grayscale is repeated
    to three channels.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (B, 1 or 3, H, W), got {tuple(images.shape)}")
    images = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
