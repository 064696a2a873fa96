"""A small CIFAR-10 classifier: the judge of conditional accuracy on CIFAR-10 (plain torch).

``--metrics conditional_accuracy`` asks how often the class a class-conditional GAN was asked for is
the class an independent classifier sees in the sample. On the digits the judge is
:mod:`zoo.metrics.digits`; on CIFAR-10 (the ``cifar10`` DataModule, or a labelled folder whose
classes are CIFAR-10's) it is this network, trained once on the 50,000 CIFAR-10 training images
by ``python -m benchmarks.train_cifar10_classifier`` and shipped as ``assets/cifar10_classifier.pt``
(float16, about 2 MB). Its measured test accuracy is in docs/metrics.md (with the copy of CIFAR-10
it was measured on).

Architecture (a ResNet-9 of the DAWNBench kind, narrowed to about a million parameters)::

    input (B, 3, H, W) in [-1, 1] -> bilinear resize to 32x32 (if needed)
    prep   conv3 3->32, BN, ReLU                              (32, 32, 32)
    layer1 conv3 32->64, BN, ReLU, max-pool 2 + residual 2x   (64, 16, 16)
    layer2 conv3 64->128, BN, ReLU, max-pool 2                (128, 8, 8)
    layer3 conv3 128->192, BN, ReLU, max-pool 2 + residual 2x (192, 4, 4)
    global max-pool -> 192-d features, linear 192->10 (x 0.125) -> logits
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

WEIGHTS = Path(__file__).parent / "assets" / "cifar10_classifier.pt"
"""The shipped state dict of :class:`Cifar10Classifier` (written by ``benchmarks.train_cifar10_classifier``)."""

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
"""CIFAR-10's classes in the official order (the labels the classifier predicts)."""

INPUT_SIZE = 32


def is_cifar10(name: str | None, class_names: list[str] | tuple[str, ...] | None) -> bool:
    """Whether data named ``name`` (a registered DataModule) with ``class_names`` (a labelled folder's sorted
    class folders) is CIFAR-10: the ``cifar10`` DataModule, or a folder of exactly CIFAR-10's classes."""
    return name == "cifar10" or (class_names is not None and tuple(class_names) == CLASSES)
_CACHE: dict[str, "Cifar10Classifier"] = {}


def conv_bn(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class Residual(nn.Module):
    """x + f(x), f two conv-BN-ReLU layers of the same width."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class Cifar10Classifier(nn.Module):
    """CIFAR-10 classifier for images in ``[-1, 1]`` (see the module docstring): ``forward(x)`` gives logits
    ``(B, 10)``, ``features(x)`` the 192-d pooled features. ``fingerprint`` identifies the loaded weights file."""

    fingerprint: str | None = None

    def __init__(self, widths: tuple[int, int, int, int] = (32, 64, 128, 192)) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        self.body = nn.Sequential(
            conv_bn(3, w0),
            conv_bn(w0, w1), nn.MaxPool2d(2), Residual(w1),
            conv_bn(w1, w2), nn.MaxPool2d(2),
            conv_bn(w2, w3), nn.MaxPool2d(2), Residual(w3),
        )
        self.head = nn.Linear(w3, len(CLASSES))

    @staticmethod
    def prepare(x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W) colour images, got shape {tuple(x.shape)}")
        x = x.float()
        if tuple(x.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > INPUT_SIZE)
        return x

    def features(self, x: Tensor) -> Tensor:
        return torch.amax(self.body(self.prepare(x)), dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)) * 0.125


def load_cifar10_classifier(device: str | torch.device = "cpu") -> Cifar10Classifier:
    """The shipped :class:`Cifar10Classifier` on ``device``, eval mode, no gradients, cached per device;
    loading it leaves the global random state as it was."""
    key = str(torch.device(device))
    model = _CACHE.get(key)
    if model is None:
        if not WEIGHTS.is_file():
            raise FileNotFoundError(f"CIFAR-10 classifier weights not found: {WEIGHTS}; train them with "
                                    "`python -m benchmarks.train_cifar10_classifier`")
        state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
        with torch.random.fork_rng(devices=[]):
            model = Cifar10Classifier()
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        model.fingerprint = hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()[:16]
        model = model.requires_grad_(False).to(device).eval()
        _CACHE[key] = model
    return model
