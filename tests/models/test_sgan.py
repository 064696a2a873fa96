"""SGAN: the K-logit discriminator, the labelled subset, training and classification."""

import pytest
import torch

from datamodules import DigitsDataModule
from zoo.models.sgan import SGAN, log_d_fake, log_d_real
from tests.models.helpers import train

TINY = dict(latent_dim=16, generator_channels=8, discriminator_channels=8, labeled_batch_size=32)


def test_d_of_x_is_z_over_z_plus_one():
    logits = torch.tensor([[0.0, 0.0], [2.0, -1.0], [-30.0, -30.0]])
    z = logits.exp().sum(1)
    assert torch.allclose(log_d_real(logits).exp(), z / (z + 1), atol=1e-6)
    assert torch.allclose(log_d_fake(logits).exp(), 1 / (z + 1), atol=1e-6)


def test_labelled_subset_is_balanced_deterministic_and_saved():
    dm = DigitsDataModule()
    a, b = SGAN(num_labeled=30, **TINY), SGAN(num_labeled=30, **TINY)
    a.choose_labeled(dm.split_dataset("train"))
    b.choose_labeled(dm.split_dataset("train"))
    assert a.labeled_images.shape == (30, 1, 32, 32)
    assert torch.bincount(a.labeled_labels, minlength=10).tolist() == [3] * 10
    assert torch.equal(a.labeled_images, b.labeled_images)
    c = SGAN(num_labeled=30, labeled_seed=1, **TINY)
    c.choose_labeled(dm.split_dataset("train"))
    assert not torch.equal(a.labeled_images, c.labeled_images)
    restored = SGAN(num_labeled=30, **TINY)
    restored.load_state_dict(a.state_dict())
    assert torch.equal(restored.labeled_labels, a.labeled_labels)


def test_training_counts_iterations_and_the_classifier_learns_from_100_labels():
    torch.manual_seed(0)
    model = SGAN(**TINY)
    trainer = train(model, max_steps=80)
    assert trainer.global_step == 80 and len(model.labeled_labels) == 100
    accuracy = model.split_accuracy("val")
    assert accuracy > 0.6, accuracy  # chance is 0.1
    assert model.test_accuracy == pytest.approx(model.split_accuracy("test"))


def test_arguments_and_sampling():
    model = SGAN(**TINY)
    assert model.sample(3).shape == (3, 1, 32, 32)
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(3, labels=torch.zeros(3, dtype=torch.long))
    assert model.classify(torch.zeros(4, 1, 32, 32)).shape == (4, 10)
    with pytest.raises(ValueError, match="num_labeled must be at least"):
        SGAN(num_labeled=5, **TINY)
    with pytest.raises(ValueError, match="valid choices: feature_matching, non_saturating"):
        SGAN(generator_loss="minimax", **TINY)
    images, nrow = model.sample_grid()
    assert images.shape == (64, 1, 32, 32) and nrow == 8
