"""The CIFAR-10 judge of conditional accuracy: shipped, loaded once, chosen by the data, and accurate on real images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import SHARED_DATA
from zoo.metrics.cifar10 import CLASSES, WEIGHTS, Cifar10Classifier, is_cifar10, load_cifar10_classifier


def test_the_shipped_judge_is_small_loads_once_and_leaves_the_random_state_alone():
    assert WEIGHTS.is_file() and WEIGHTS.stat().st_size <= 3 * 2**20
    state = torch.random.get_rng_state()
    judge = load_cifar10_classifier()
    assert torch.equal(state, torch.random.get_rng_state())
    assert load_cifar10_classifier() is judge and judge.fingerprint and not judge.training
    logits = judge(torch.rand(4, 3, 32, 32) * 2 - 1)
    assert logits.shape == (4, 10) and judge(torch.rand(2, 3, 64, 64) * 2 - 1).shape == (2, 10)
    with pytest.raises(ValueError, match="colour images"):
        judge(torch.rand(2, 1, 32, 32))


def test_the_judge_is_chosen_by_the_data(tmp_path):
    from zoo.callbacks.metrics import judge_of
    from zoo.evaluate import judge_for

    assert is_cifar10("cifar10", None) and is_cifar10(None, list(CLASSES)) and not is_cifar10("digits", None)
    assert judge_for("cifar10:test", "test") == "cifar10" and judge_for("digits", "test") == "digits"
    for name in CLASSES:
        (tmp_path / "train" / name).mkdir(parents=True)
    assert judge_for(str(tmp_path), "train") == "cifar10"
    # a checkpoint records a folder DataModule by its registry name and its root
    assert judge_for("labelled_folder", "test", {"root": str(tmp_path)}) == "cifar10"
    assert judge_for("labelled_folder", "test", {"root": str(tmp_path / "nowhere")}) == "digits"

    class Folder:
        class_names = list(CLASSES)

    assert judge_of(Folder()) == "cifar10" and judge_of(None) == "digits"


def test_the_digits_metrics_are_refused_with_the_cifar10_judge():
    from zoo.metrics.fidelity import FidelityEvaluator

    evaluator = FidelityEvaluator(["conditional_accuracy"], judge="cifar10", device="cpu")
    assert isinstance(evaluator.digits, Cifar10Classifier) and "cifar10" in evaluator.extractors
    with pytest.raises(ValueError, match="fd_digits are metrics of the digits"):
        FidelityEvaluator(["fd_digits", "conditional_accuracy"], judge="cifar10", device="cpu")


@pytest.mark.skipif(not (SHARED_DATA / "cifar10" / "test").is_dir(), reason="no ../shared/data/cifar10 beside the checkout")
def test_the_judge_reads_real_test_images():
    """300 test images of the JPEG copy (30 per class): the judge's measured accuracy (docs/metrics.md), re-checked."""
    from PIL import Image

    images, labels = [], []
    for label, name in enumerate(CLASSES):
        for path in sorted((SHARED_DATA / "cifar10" / "test" / name).glob("*.jpg"))[:30]:
            with Image.open(path) as image:
                images.append(torch.from_numpy(np.asarray(image.convert("RGB"))).permute(2, 0, 1))
            labels.append(label)
    x = torch.stack(images).float() / 127.5 - 1
    with torch.no_grad():
        accuracy = (load_cifar10_classifier()(x).argmax(1) == torch.tensor(labels)).float().mean().item()
    assert accuracy >= 0.8, accuracy  # 85% and more on all 10,000; 300 images scatter by a few points
