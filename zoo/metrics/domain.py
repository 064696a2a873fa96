"""Domain metrics for the digits data set, computed with the zoo's own digits classifier.

Plain torch (plus numpy/scipy for the matrix square root and the Hungarian
matching); no Lightning.  Every function takes images ``(N, C, H, W)`` in
``[-1, 1]`` (``C`` 1 or 3, any size: the classifier converts them), runs the
classifier in batches of :data:`BATCH_SIZE` under ``torch.inference_mode()``
on the images' device (or on the device of a ``classifier`` you pass), and
returns a Python float.

The classifier is :func:`zoo.metrics.digits.load_digits_classifier` unless
another module with ``forward`` (logits) and ``features`` is passed.

None of these numbers is FID.  FD-digits is a Fréchet distance like FID's, but
on the digits classifier's 128-d features instead of Inception-v3's 2048-d
pool features, so its values are on a different scale and must not be compared
with published FIDs.  See ``docs/metrics.md`` for measured reference values.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch
from scipy import linalg
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from zoo.metrics.digits import load_digits_classifier

BATCH_SIZE = 500
"""Images per classifier call."""

FD_EPS = 1e-6
"""Added to both covariance diagonals when their product's square root is not finite (as pytorch-fid)."""

__all__ = [
    "class_shares",
    "classifier_inception_score",
    "code_accuracy",
    "code_accuracy_of_samples",
    "conditional_accuracy",
    "digit_features",
    "fd_digits",
    "frechet_distance",
    "identity_accuracy",
]


# -- helpers ----------------------------------------------------------------------------


def _check_images(images: Tensor, name: str = "images") -> None:
    if not isinstance(images, Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"{name} must be a tensor (N, C, H, W), got {shape}")
    if len(images) == 0:
        raise ValueError(f"{name} is empty")


def _run(images: Tensor, classifier: nn.Module | None, fn: Callable[[nn.Module, Tensor], Tensor]) -> Tensor:
    """``fn(classifier, batch)`` over ``images`` in batches, concatenated (on the classifier's device)."""
    _check_images(images)
    if classifier is None:
        classifier = load_digits_classifier(images.device)
    param = next(classifier.parameters(), None)
    device = param.device if param is not None else images.device
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(images), BATCH_SIZE):
            outputs.append(fn(classifier, images[start : start + BATCH_SIZE].to(device)))
    return torch.cat(outputs)


def _features(images: Tensor, classifier: nn.Module | None) -> Tensor:
    return _run(images, classifier, lambda model, x: model.features(x))


def _logits(images: Tensor, classifier: nn.Module | None) -> Tensor:
    return _run(images, classifier, lambda model, x: model(x))


def _predict(images: Tensor, classifier: nn.Module | None) -> Tensor:
    return _run(images, classifier, lambda model, x: model(x).argmax(dim=1))


def _as_labels(labels: Tensor | list[int], count: int, name: str = "labels") -> Tensor:
    labels = torch.as_tensor(labels)
    if labels.ndim == 2:  # one-hot or scores
        labels = labels.argmax(dim=1)
    if labels.shape != (count,):
        raise ValueError(f"{name} must have shape ({count},) (or ({count}, K) one-hot), got {tuple(labels.shape)}")
    return labels.long()


def _accuracy_against(images: Tensor, labels: Tensor, classifier: nn.Module | None) -> float:
    _check_images(images)
    labels = _as_labels(labels, len(images))
    predicted = _predict(images, classifier)
    return (predicted.cpu() == labels.cpu()).double().mean().item()


# -- Fréchet distance -------------------------------------------------------------------


def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors.

    ``d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` with the
    means ``mu`` and (unbiased) covariances ``S`` of ``features_a (N, D)`` and
    ``features_b (M, D)``, computed in float64 with ``scipy.linalg.sqrtm``.
    Tiny imaginary parts of the square root (numerical noise) are discarded; if
    the square root is not finite (a singular product), ``FD_EPS * I`` is added
    to both covariances first, as in pytorch-fid.

    0 is best (identical Gaussians); there is no upper bound.  The value is a
    squared distance in the units of the features, so it is only comparable
    between runs that use the same feature extractor.  This is the formula of
    FID, but it is FID only with Inception-v3 pool features.

    Raises:
        ValueError: fewer than 2 vectors in a set, mismatched dimensions, or a
            square root with large imaginary parts.
    """
    a = features_a.detach().to("cpu", torch.float64).numpy()
    b = features_b.detach().to("cpu", torch.float64).numpy()
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (N, D) and (M, D), got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 feature vectors per set, got {len(a)} and {len(b)}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    sigma_a = np.atleast_2d(np.cov(a, rowvar=False))
    sigma_b = np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():  # singular products (e.g. a constant image set) are handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma_a @ sigma_b)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(sigma_a)) * FD_EPS
            covmean = linalg.sqrtm((sigma_a + offset) @ (sigma_b + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            worst = np.max(np.abs(covmean.imag))
            raise ValueError(f"Fréchet distance: matrix square root has imaginary component {worst:.3g}")
        covmean = covmean.real
    diff = mu_a - mu_b
    distance = diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * np.trace(covmean)
    return max(float(distance), 0.0)  # exact value is >= 0; clip float round-off


def digit_features(images: Tensor, classifier: nn.Module | None = None) -> Tensor:
    """The digits classifier's 128-d penultimate features of ``images`` (N, 1, H, W) in [-1, 1]: what
    FD-digits compares. Compute a fixed real set's features once and reuse them with
    :func:`frechet_distance` when scoring many sample sets against it (``fd_digits`` recomputes both)."""
    return _features(images, classifier)


def fd_digits(real_images: Tensor, fake_images: Tensor, classifier: nn.Module | None = None) -> float:
    """FD-digits: the Fréchet distance between real and generated digits in the digits classifier's feature space.

    The features are the classifier's 128-d penultimate activations (after
    ReLU); see :func:`frechet_distance`.  Lower is better: 0 means the two
    feature distributions have the same mean and covariance.  Two disjoint
    samples of real digits do not reach 0 (sampling noise); the measured
    floor and ceilings are in ``docs/metrics.md``.  Use the same number of images when comparing
    models: the estimate is biased upwards for small sets.

    This is NOT FID (no Inception-v3; different scale); call it "FD-digits".
    """
    _check_images(real_images, "real_images")
    _check_images(fake_images, "fake_images")
    return frechet_distance(_features(real_images, classifier), _features(fake_images, classifier))


# -- classifier scores ------------------------------------------------------------------


def classifier_inception_score(images: Tensor, classifier: nn.Module | None = None, splits: int = 1) -> float:
    """Inception Score computed with the digits classifier: ``exp(E_x KL(p(y|x) || p(y)))``.

    ``p(y|x)`` is the classifier's softmax and ``p(y)`` its mean over the set
    (over each of ``splits`` consecutive chunks; the mean over chunks is
    returned).  It is high when every image is classified confidently AND the
    classes are used evenly: 1 is worst (all images get the same prediction,
    e.g. a collapsed generator or a constant image), 10 (the number of classes)
    is the best possible (real-digit and noise figures: ``docs/metrics.md``).

    This is NOT the Inception Score of Salimans et al. (no Inception-v3).
    """
    _check_images(images)
    return inception_score_of_logits(_logits(images, classifier), splits)


def inception_score_of_logits(logits: Tensor, splits: int = 1) -> float:
    """``exp(E_x KL(p(y|x) || p(y)))`` from a classifier's logits (N, classes); see
    :func:`classifier_inception_score`. The mean over ``splits`` consecutive chunks."""
    if not 1 <= splits <= len(logits):
        raise ValueError(f"splits must be in [1, {len(logits)}], got {splits}")
    log_p = torch.log_softmax(logits.double(), dim=1).cpu()
    scores = []
    for chunk in log_p.chunk(splits):
        log_marginal = torch.logsumexp(chunk, dim=0) - np.log(len(chunk))
        kl = (chunk.exp() * (chunk - log_marginal)).sum(dim=1)
        scores.append(kl.mean().exp().item())
    return float(np.mean(scores))


def class_shares(images: Tensor, classifier: nn.Module | None = None, num_classes: int = 10) -> Tensor:
    """Fraction of ``images`` the digits classifier assigns to each class, shape (num_classes,).

    For an unconditional generator, the class coverage: a mode-dropping model leaves
    some classes near 0; real digits give about 1 / num_classes each.
    """
    _check_images(images)
    predicted = _predict(images, classifier).cpu()
    return torch.bincount(predicted, minlength=num_classes).double() / len(images)


def conditional_accuracy(images: Tensor, labels: Tensor, classifier: nn.Module | None = None) -> float:
    """Fraction of class-conditional samples ``G(z, y)`` that the digits classifier assigns to ``y``.

    ``labels (N,)`` are the requested classes (or ``(N, 10)`` one-hot).  1 is
    best, 0 worst; 1 / classes is chance.  The classifier's own accuracy on
    real digits is the practical ceiling (measured in ``docs/metrics.md``).
    """
    return _accuracy_against(images, labels, classifier)


def identity_accuracy(translated_images: Tensor, source_labels: Tensor, classifier: nn.Module | None = None) -> float:
    """Fraction of translated digits still classified as their source class (image-to-image models).

    For a translation that should keep the digit's identity (e.g. a style or
    domain change), feed the outputs and the labels of the inputs: 1 is best
    (identity always preserved), 1 / classes is chance, 0 worst.  The ceiling
    is the classifier's accuracy on real digits (``docs/metrics.md``).
    """
    return _accuracy_against(translated_images, source_labels, classifier)


# -- InfoGAN's categorical code ---------------------------------------------------------


def code_accuracy(codes: Tensor, labels: Tensor, num_codes: int | None = None) -> float:
    """How well a categorical latent code predicts the class, up to relabelling of the code values.

    Builds the confusion matrix ``C[k, c] = #{code k, class c}`` and matches
    code values to classes one-to-one with the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``, maximising matched counts);
    returns the matched fraction.  Invariant to permutations of the code
    values, as InfoGAN's code learns the classes in an arbitrary order.

    Args:
        codes: ``(N,)`` integer code values, or ``(N, K)`` one-hot / scores (argmax taken).
        labels: ``(N,)`` integer classes (true labels, or a classifier's predictions).
        num_codes: Number of code values ``K``; defaults to ``max(codes) + 1``
            (or ``K`` of a 2-d ``codes``).  With more code values than classes
            the unmatched codes count as errors.

    1 is best (the code determines the class); random codes give about
    ``1 / num_classes`` plus a small matching bias for small ``N``.
    """
    codes_t = torch.as_tensor(codes)
    if codes_t.ndim == 2 and num_codes is None:
        num_codes = codes_t.shape[1]
    codes_t = _as_labels(codes_t, len(codes_t), "codes").cpu()
    labels_t = _as_labels(labels, len(codes_t), "labels").cpu()
    if len(codes_t) == 0:
        raise ValueError("codes is empty")
    if codes_t.min() < 0 or labels_t.min() < 0:
        raise ValueError("codes and labels must be non-negative integers")
    k = int(codes_t.max()) + 1 if num_codes is None else int(num_codes)
    if k <= int(codes_t.max()):
        raise ValueError(f"num_codes={num_codes} but codes go up to {int(codes_t.max())}")
    num_classes = int(labels_t.max()) + 1
    confusion = torch.zeros(k * num_classes, dtype=torch.long)
    confusion.index_add_(0, codes_t * num_classes + labels_t, torch.ones_like(codes_t))
    confusion_np = confusion.view(k, num_classes).numpy()
    rows, cols = linear_sum_assignment(confusion_np, maximize=True)
    return float(confusion_np[rows, cols].sum() / len(codes_t))


def code_accuracy_of_samples(images: Tensor, codes: Tensor, classifier: nn.Module | None = None) -> float:
    """:func:`code_accuracy` of the codes used to generate ``images`` against the classifier's predictions.

    For InfoGAN: sample ``G(z, c)`` with categorical codes ``c``, then
    ``code_accuracy_of_samples(images, c)``.  1 is best (each code value draws
    one digit class); about 0.1 means the code is unrelated to the class.
    """
    _check_images(images)
    codes = torch.as_tensor(codes)
    return code_accuracy(codes, _predict(images, classifier))
