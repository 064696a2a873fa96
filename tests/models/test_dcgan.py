"""DCGAN behaviour: iteration counting, updates, losses, labels ignored, sampling."""

import pytest
import torch

from datamodules import DigitsDataModule
from zoo.models import DCGAN
from tests.models.helpers import params, train

TINY = dict(latent_dim=16, generator_channels=8, discriminator_channels=8)


def test_global_step_counts_generator_iterations_and_both_networks_move():
    torch.manual_seed(0)
    model = DCGAN(**TINY)
    g0, d0 = params(model.generator), params(model.discriminator)
    trainer = train(model, max_steps=5)
    assert trainer.global_step == 5  # not 10: only the generator optimizer's steps count
    assert trainer.fit_loop.epoch_loop._batches_that_stepped == 5
    assert not torch.equal(g0, params(model.generator))
    assert not torch.equal(d0, params(model.discriminator))
    assert {"train/d_loss", "train/g_loss"} <= set(trainer.callback_metrics)


def test_n_critic_takes_several_discriminator_steps_per_iteration():
    model = DCGAN(loss="wgan-gp", n_critic=3, betas=(0.0, 0.9), **TINY)
    trainer = train(model, max_steps=2)
    assert trainer.global_step == 2
    assert trainer.fit_loop.epoch_loop._batches_that_stepped == 6
    assert model.trainer.optimizers[1].state_dict()["state"][0]["step"].item() == 6  # D stepped 6 times
    assert torch.isfinite(trainer.callback_metrics["train/gradient_penalty"])


def test_n_critic_counts_batches_across_epochs():
    """Epochs of 4 batches with n_critic 3: G steps after batches 3, 6, 9, 12, not once per epoch."""
    model = DCGAN(loss="wgan-gp", n_critic=3, **TINY)
    trainer = train(model, max_steps=4, limit_train_batches=4)
    assert trainer.fit_loop.epoch_loop._batches_that_stepped == 12
    assert trainer.current_epoch == 3  # the fourth epoch is running when max_steps stops the fit


@pytest.mark.parametrize("n_critic", [1, 3])
def test_generator_runs_once_per_batch_and_its_step_reuses_the_fakes(n_critic):
    """dcgan.torch's fGx: G's step back-propagates through the fakes D's step scored (detached)."""
    model = DCGAN(loss="wgan-gp" if n_critic > 1 else "bce", n_critic=n_critic, **TINY)
    recorded: list[bool] = []  # per G forward: was a graph recorded?
    model.generator.register_forward_hook(lambda module, args, out: recorded.append(out.requires_grad))
    train(model, max_steps=2)
    batches = 2 * n_critic
    assert len(recorded) == batches  # one G forward per batch, not one per network update
    assert recorded == [(i + 1) % n_critic == 0 for i in range(batches)]  # a graph only where G steps


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge", "wgan-gp"])
def test_every_loss_trains_with_finite_values(loss):
    model = DCGAN(loss=loss, **TINY)
    trainer = train(model, max_steps=2)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert all(torch.isfinite(v) for v in trainer.callback_metrics.values())
    norm = model.discriminator.features[3]
    assert isinstance(norm, torch.nn.GroupNorm if loss == "wgan-gp" else torch.nn.BatchNorm2d)


def test_discriminator_learns_to_separate_real_from_fake():
    torch.manual_seed(0)
    model = DCGAN(**TINY)
    dm = DigitsDataModule(batch_size=64)
    dm.setup("fit")
    x, _ = next(iter(dm.val_dataloader()))
    train(model, max_steps=30, batch_size=64)
    model.eval()
    with torch.no_grad():
        real = torch.sigmoid(model.discriminator(x)).mean()
        fake = torch.sigmoid(model.discriminator(model.sample(len(x)))).mean()
    assert real > fake + 0.1


def test_num_classes_is_accepted_and_ignored():
    torch.manual_seed(0)
    with_classes = DCGAN(num_classes=10, **TINY)
    torch.manual_seed(0)
    without = DCGAN(num_classes=None, **TINY)
    assert with_classes.hparams.num_classes == 10  # recorded, like every constructor argument
    assert with_classes.generator.embed is None and with_classes.discriminator.num_classes is None
    a, b = with_classes.state_dict(), without.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_sample_api():
    model = DCGAN(**TINY)
    images = model.sample(6)
    assert images.shape == (6, 1, 32, 32) and images.min() >= -1 and images.max() <= 1
    z = torch.randn(4, 16)
    assert torch.equal(model.sample(4, noise=z), model.sample(4, noise=z))
    assert not torch.equal(model.sample(4, noise=z), model.sample(4))
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(4, labels=3)
    with pytest.raises(ValueError, match=r"noise must have shape \(3, 16\)"):
        model.sample(3, noise=torch.randn(4, 16))
    images, labels = model.sample_for_metrics(5)
    assert images.shape == (5, 1, 32, 32) and labels is None
    assert model.training  # sampling restores the training mode


def test_sample_grid_is_a_square_of_fixed_noise():
    model = DCGAN(**TINY)
    images, nrow = model.sample_grid()
    assert images.shape == (64, 1, 32, 32) and nrow == 8
    assert torch.equal(images, model.sample_grid()[0])  # fixed noise: the same grid twice
    images, nrow = DCGAN(grid_size=3, **TINY).sample_grid()
    assert images.shape == (9, 1, 32, 32) and nrow == 3
    assert "fixed_noise" in model.state_dict()
    assert torch.equal(DCGAN(**TINY).fixed_noise, model.fixed_noise)  # same seed on every rank


def test_other_image_shapes():
    model = DCGAN(image_shape=(3, 64, 64), **TINY)
    assert model.sample(2).shape == (2, 3, 64, 64)
    assert model.discriminator(model.sample(2)).shape == (2,)


def test_ema_generator_is_used_for_sampling():
    torch.manual_seed(0)
    model = DCGAN(ema_decay=0.9, **TINY)
    train(model, max_steps=3)
    assert not torch.equal(params(model.generator_ema), params(model.generator))
    z = torch.randn(4, 16)
    with torch.no_grad():
        expected = model.generator_ema.eval()(z)
    assert torch.allclose(model.sample(4, noise=z), expected)


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="valid choices: bce, lsgan, hinge, wgan, wgan-gp"):
        DCGAN(loss="nope", **TINY)
    with pytest.raises(ValueError, match="n_critic"):
        DCGAN(n_critic=0, **TINY)
    with pytest.raises(ValueError, match="grid_size"):
        DCGAN(grid_size=0, **TINY)
    with pytest.raises(ValueError, match="r1_weight must be >= 0, got -1"):
        DCGAN(r1_weight=-1.0, **TINY)
    with pytest.raises(ValueError, match="r1_interval must be >= 1, got 0"):
        DCGAN(r1_interval=0, **TINY)
    with pytest.raises(ValueError, match="image side 30"):
        DCGAN(image_shape=(1, 30, 30), **TINY)


def test_r1_penalty_is_logged_and_applied_every_r1_interval_batches():
    model = DCGAN(r1_weight=1.0, r1_interval=2, **TINY)
    penalised: list[bool] = []  # per D forward on the real batch: did the input require grad?
    model.discriminator.register_forward_pre_hook(lambda module, args: penalised.append(args[0].requires_grad))
    trainer = train(model, max_steps=4)
    real_batches = penalised[0::3]  # D runs on real, fake (D step), then fake again (G step)
    assert real_batches == [True, False, True, False]  # lazy R1 (Karras et al. 2020): every 2nd D step
    assert torch.isfinite(trainer.callback_metrics["train/r1"]) and trainer.callback_metrics["train/r1"] > 0


def test_r1_flattens_the_discriminator_around_the_real_data():
    """Mescheder et al. 2018: the penalty drives ‖∇_x D(x)‖ on real data down."""
    dm = DigitsDataModule(batch_size=64)
    dm.setup("fit")
    x, _ = next(iter(dm.val_dataloader()))

    def real_gradient_norm(r1_weight: float) -> float:
        torch.manual_seed(0)
        model = DCGAN(r1_weight=r1_weight, **TINY)
        train(model, max_steps=40, batch_size=64)
        real = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model.discriminator(real).sum(), real)
        return grad.flatten(1).norm(dim=1).mean().item()

    assert real_gradient_norm(10.0) < 0.5 * real_gradient_norm(0.0)
