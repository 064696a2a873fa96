"""A small CNN that classifies the embedded digits: the feature extractor of the domain metrics.

FID's Inception-v3 was trained on ImageNet photographs; its features say little
about 32x32 grey-scale digits.  The domain metrics of :mod:`zoo.metrics.domain`
(FD-digits, classifier Inception Score, conditional/code/identity accuracy) use
this classifier instead, trained on the TRAIN split of
:class:`datamodules.DigitsDataModule` only (the val split picked the epoch; the
test split was never seen in training).

Measured accuracy of the shipped weights (``assets/digits_classifier.pt``,
seed 0, 30 epochs, epoch 25 selected on val): train 1.0000, val 0.9888
(177/179), held-out test 0.9832 (176/179).

Reproduce the weights bit for bit (15-80 s on two CPU cores)::

    python -m benchmarks.train_digits_classifier --out zoo/metrics/assets/digits_classifier.pt --epochs 30 --seed 0

Architecture (151,306 parameters, a 0.61 MB state dict)::

    input (B, 1 or 3, H, W) in [-1, 1] -> channel mean (if 3) -> bilinear resize to 32x32
    conv 3x3 1->32, ReLU, max-pool 2      -> (32, 16, 16)
    conv 3x3 32->64, ReLU, max-pool 4     -> (64, 4, 4)
    flatten, linear 1024->128, ReLU       -> features (128-d, used for FD-digits)
    dropout 0.3 (training only), linear 128->10 -> logits
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

WEIGHTS = Path(__file__).parent / "assets" / "digits_classifier.pt"
"""The shipped state dict of :class:`DigitsClassifier` (written by ``benchmarks.train_digits_classifier``)."""

INPUT_SIZE = 32
FEATURE_DIM = 128
NUM_CLASSES = 10

_CACHE: dict[str, "DigitsClassifier"] = {}


class DigitsClassifier(nn.Module):
    """Digit classifier for images in ``[-1, 1]``; see the module docstring.

    ``forward(x)`` returns logits ``(B, 10)``; ``features(x)`` returns the
    penultimate 128-d features (after ReLU).  Both accept ``(B, C, H, W)`` with
    ``C`` 1 or 3 (3 channels are averaged to grey) and any ``H, W`` (resized
    bilinearly to 32x32).

    ``fingerprint`` is the first 16 hex digits of the weights file's sha256 when
    loaded by :func:`load_digits_classifier` (``None`` otherwise): a cache key
    for statistics computed with these weights.
    """

    fingerprint: str | None = None

    def __init__(self, dropout: float = 0.3) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(4),
        )
        self.fc = nn.Linear(64 * 4 * 4, FEATURE_DIM)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    @staticmethod
    def prepare(x: Tensor) -> Tensor:
        """``(B, C, H, W)`` in ``[-1, 1]`` -> ``(B, 1, 32, 32)`` float (grey, resized)."""
        if x.ndim != 4:
            raise ValueError(f"images must be (B, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] == 3:
            x = x.mean(dim=1, keepdim=True)
        elif x.shape[1] != 1:
            raise ValueError(f"images must have 1 or 3 channels, got {x.shape[1]}")
        x = x.float()
        if tuple(x.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
            downsample = x.shape[-2] > INPUT_SIZE or x.shape[-1] > INPUT_SIZE
            x = F.interpolate(
                x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=downsample
            )
        return x

    def features(self, x: Tensor) -> Tensor:
        """The 128-d penultimate features (after ReLU), ``(B, 128)``."""
        h = self.conv(self.prepare(x))
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x: Tensor) -> Tensor:
        """Class logits ``(B, 10)``."""
        return self.head(self.dropout(self.features(x)))


def load_digits_classifier(device: str | torch.device = "cpu") -> DigitsClassifier:
    """The shipped :class:`DigitsClassifier` on ``device``, in eval mode with ``requires_grad`` off.

    The weights are read once per device (``torch.load(..., weights_only=True)``)
    and cached: later calls return the same module.  Do not train or modify it.
    Loading it leaves the global random state as it was, so a metric's figures (and a
    training run that computes metrics) do not depend on whether it was loaded before.
    Its ``fingerprint`` attribute identifies the weights file (sha256 prefix).
    """
    key = str(torch.device(device))
    model = _CACHE.get(key)
    if model is None:
        if not WEIGHTS.is_file():
            raise FileNotFoundError(
                f"digits classifier weights not found: {WEIGHTS}; rebuild them with "
                "`python -m benchmarks.train_digits_classifier`"
            )
        state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
        with torch.random.fork_rng(devices=[]):  # its random init (overwritten) must not move anyone's RNG
            model = DigitsClassifier()
        model.load_state_dict(state)
        model.fingerprint = hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()[:16]
        model.requires_grad_(False)
        model = model.to(device).eval()
        _CACHE[key] = model
    return model
