"""Evaluation metrics of the GAN zoo (plain torch; no Lightning).

Digits domain metrics (the zoo's own digits classifier, not Inception): see
``docs/metrics_domain.md``.
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
