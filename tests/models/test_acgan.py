"""AC-GAN behaviour: iteration counting, updates, losses, the auxiliary classifier, sampling."""

import pytest
import torch

from datamodules import DigitsDataModule
from zoo.losses import NonSaturatingLoss
from zoo.models import ACGAN
from tests.models.helpers import params, train

TINY = dict(latent_dim=16, generator_channels=8, discriminator_channels=8)
LOGGED = {"train/d_loss", "train/g_loss", "train/d_class_loss", "train/g_class_loss", "train/d_real_accuracy"}


def val_digits():
    dm = DigitsDataModule(batch_size=64)
    dm.setup("fit")
    images, labels = zip(*dm.val_dataloader())
    return torch.cat(images), torch.cat(labels)


def test_global_step_counts_generator_iterations_and_both_networks_move():
    torch.manual_seed(0)
    model = ACGAN(**TINY)
    g0, d0 = params(model.generator), params(model.discriminator)
    trainer = train(model, max_steps=5)
    assert trainer.global_step == 5  # not 10: only the generator optimizer's steps count
    assert trainer.fit_loop.epoch_loop._batches_that_stepped == 5
    assert not torch.equal(g0, params(model.generator))
    assert not torch.equal(d0, params(model.discriminator))
    assert LOGGED <= set(trainer.callback_metrics)
    assert 0 <= trainer.callback_metrics["train/d_real_accuracy"] <= 1


def test_discriminator_is_unconditioned_with_an_auxiliary_classifier():
    model = ACGAN(num_classes=7, **TINY)
    d = model.discriminator
    assert d.num_classes is None and d.label_map is None and d.label_projection is None
    assert d.aux_head.out_features == 7 and model.generator.embed.num_embeddings == 7
    logit, class_logits = d(torch.randn(3, 1, 32, 32))
    assert logit.shape == (3,) and class_logits.shape == (3, 7)


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge", "wgan-gp"])
def test_every_loss_trains_with_finite_values(loss):
    model = ACGAN(loss=loss, **TINY)
    trainer = train(model, max_steps=2)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    metrics = trainer.callback_metrics
    assert LOGGED <= set(metrics) and all(torch.isfinite(v) for v in metrics.values())
    if loss == "wgan-gp":
        assert isinstance(model.discriminator.features[3], torch.nn.GroupNorm)  # layer norm, not batch norm
        assert "train/gradient_penalty" in metrics


def test_n_critic_takes_several_discriminator_steps_per_iteration():
    model = ACGAN(loss="wgan-gp", n_critic=2, betas=(0.0, 0.9), **TINY)
    trainer = train(model, max_steps=2)
    assert trainer.global_step == 2
    assert model.trainer.optimizers[1].state_dict()["state"][0]["step"].item() == 4  # D stepped 4 times


def test_label_smoothing_is_one_sided_bce_only():
    model = ACGAN(label_smoothing=0.1, **TINY)
    assert isinstance(model.adversarial, NonSaturatingLoss) and model.adversarial.real_label == pytest.approx(0.9)
    # D's loss on a perfectly separated pair is no longer ~0: the real target is 0.9
    big = torch.full((4,), 20.0)
    assert model.adversarial.discriminator(big, -big) > 0.3
    assert ACGAN(**TINY).adversarial.discriminator(big, -big) < 1e-6
    train(model, max_steps=2)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    for loss in ("lsgan", "hinge", "wgan-gp"):
        with pytest.raises(ValueError, match=f"label_smoothing .* loss='{loss}'"):
            ACGAN(loss=loss, label_smoothing=0.1, **TINY)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
        ACGAN(label_smoothing=1.0, **TINY)


def test_class_weight_zero_leaves_the_auxiliary_head_untouched():
    torch.manual_seed(0)
    model = ACGAN(class_weight=0.0, **TINY)
    head, features = params(model.discriminator.aux_head), params(model.discriminator.features)
    train(model, max_steps=3)
    assert torch.equal(head, params(model.discriminator.aux_head))  # zero gradient: Adam does not move it
    assert not torch.equal(features, params(model.discriminator.features))


def test_auxiliary_classifier_learns_the_classes_of_real_digits():
    # Measured: 0.72-0.86 accuracy on the 179 validation digits after 60 iterations (seeds 0-4); chance is 0.1.
    torch.manual_seed(0)
    model = ACGAN(**TINY)
    x, y = val_digits()
    before = (model.classify(x).argmax(1) == y).float().mean()
    train(model, max_steps=60, batch_size=64)
    accuracy = (model.classify(x).argmax(1) == y).float().mean()
    assert accuracy > 0.5 and accuracy > before + 0.3
    # and G's samples carry their class: D's classifier recognises them
    labels = torch.arange(100) % 10
    fake_accuracy = (model.classify(model.sample(100, labels=labels)).argmax(1) == labels).float().mean()
    assert fake_accuracy > 0.5


def test_classify_is_eval_mode_without_gradients():
    model = ACGAN(**TINY)
    x = torch.randn(6, 1, 32, 32)
    logits = model.classify(x)
    assert logits.shape == (6, 10) and not logits.requires_grad
    assert model.discriminator.training  # mode restored
    assert torch.equal(logits, model.classify(x))  # eval mode: batch-norm running stats, deterministic
    assert torch.equal(model.classify(x[:2]), logits[:2])  # per image, not per batch


def test_sample_api_and_label_checks():
    model = ACGAN(**TINY)
    assert model.sample(6, labels=3).shape == (6, 1, 32, 32)
    images = model.sample(4)
    assert images.shape == (4, 1, 32, 32) and images.min() >= -1 and images.max() <= 1
    z, y = torch.randn(4, 16), torch.tensor([0, 1, 2, 3])
    assert torch.equal(model.sample(4, labels=y, noise=z), model.sample(4, labels=y, noise=z))
    assert not torch.allclose(model.sample(4, labels=0, noise=z), model.sample(4, labels=1, noise=z))  # the label matters
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\]"):
        model.sample(2, labels=torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="shape"):
        model.sample(3, labels=torch.tensor([0, 1]))
    images, labels = model.sample_for_metrics(12)
    assert images.shape == (12, 1, 32, 32) and labels.shape == (12,) and 0 <= labels.min() <= labels.max() <= 9


def test_sample_grid_has_one_row_per_class():
    model = ACGAN(samples_per_class=5, **TINY)
    images, nrow = model.sample_grid()
    assert images.shape == (50, 1, 32, 32) and nrow == 5
    assert torch.equal(model.fixed_labels.view(10, 5), torch.arange(10).unsqueeze(1).expand(10, 5))
    assert torch.equal(model.fixed_noise[:5], model.fixed_noise[5:10])  # column j: the same z in every row
    state = model.state_dict()
    assert "fixed_noise" in state and "fixed_labels" in state
    assert torch.equal(ACGAN(samples_per_class=5, **TINY).fixed_noise, model.fixed_noise)


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="valid choices: bce, lsgan, hinge, wgan, wgan-gp"):
        ACGAN(loss="nope", **TINY)
    with pytest.raises(ValueError, match="num_classes >= 2"):
        ACGAN(num_classes=1, **TINY)
    with pytest.raises(ValueError, match="num_classes >= 2"):
        ACGAN(num_classes=None, **TINY)
    with pytest.raises(ValueError, match="class_weight"):
        ACGAN(class_weight=-1.0, **TINY)
    with pytest.raises(ValueError, match="n_critic"):
        ACGAN(n_critic=0, **TINY)
