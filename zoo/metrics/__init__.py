"""Evaluation metrics of the GAN zoo (plain torch and torchmetrics states; no Lightning).

* FID / IS / KID on torch-fidelity's Inception: :mod:`zoo.metrics.fidelity`
  (``FidelityEvaluator``), weights lookup in :mod:`zoo.metrics.inception`.
* Digits domain metrics with the zoo's own digits classifier (not Inception)
  and paired image-to-image metrics: the functions below.

See ``docs/metrics.md``.
"""

from zoo.metrics.digits import DigitsClassifier, load_digits_classifier
from zoo.metrics.domain import (
    classifier_inception_score,
    code_accuracy,
    code_accuracy_of_samples,
    conditional_accuracy,
    fd_digits,
    frechet_distance,
    identity_accuracy,
)
from zoo.metrics.paired import lpips, paired_metrics

__all__ = [
    "DigitsClassifier",
    "classifier_inception_score",
    "code_accuracy",
    "code_accuracy_of_samples",
    "conditional_accuracy",
    "fd_digits",
    "frechet_distance",
    "identity_accuracy",
    "load_digits_classifier",
    "lpips",
    "paired_metrics",
]
