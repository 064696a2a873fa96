"""cGAN behaviour: iteration counting, updates, losses, EMA, sampling."""

import pytest
import torch

from datamodules import DigitsDataModule
from zoo.models import CGAN
from tests.models.helpers import params, train

TINY = dict(latent_dim=16, generator_channels=8, discriminator_channels=8)


def test_global_step_counts_generator_iterations_and_both_networks_move():
    torch.manual_seed(0)
    model = CGAN(**TINY)
    g0, d0 = params(model.generator), params(model.discriminator)
    trainer = train(model, max_steps=5)
    assert trainer.global_step == 5  # not 10: only the generator optimizer's steps count
    assert trainer.fit_loop.epoch_loop._batches_that_stepped == 5
    assert not torch.equal(g0, params(model.generator))
    assert not torch.equal(d0, params(model.discriminator))


def test_n_critic_takes_several_discriminator_steps_per_iteration():
    model = CGAN(loss="wgan-gp", n_critic=3, betas=(0.0, 0.9), **TINY)
    trainer = train(model, max_steps=2)
    assert trainer.global_step == 2
    assert trainer.fit_loop.epoch_loop._batches_that_stepped == 6
    assert model.trainer.optimizers[1].state_dict()["state"][0]["step"].item() == 6  # D stepped 6 times


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge", "wgan-gp"])
def test_every_loss_trains_with_finite_values(loss):
    model = CGAN(loss=loss, conditioning="projection", **TINY)
    train(model, max_steps=2)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    if loss == "wgan-gp":
        assert isinstance(model.discriminator.features[3], torch.nn.GroupNorm)  # layer norm, not batch norm


def test_discriminator_learns_to_separate_real_from_fake():
    torch.manual_seed(0)
    model = CGAN(**TINY)
    dm = DigitsDataModule(batch_size=64)
    dm.setup("fit")
    x, y = next(iter(dm.val_dataloader()))
    train(model, max_steps=30)
    model.eval()
    with torch.no_grad():
        real = torch.sigmoid(model.discriminator(x, y)).mean()
        fake = torch.sigmoid(model.discriminator(model.sample(len(y), labels=y), y)).mean()
    assert real > fake + 0.1


def test_ema_generator_tracks_but_differs_and_is_used_for_sampling():
    torch.manual_seed(0)
    model = CGAN(ema_decay=0.9, **TINY)
    before = params(model.generator_ema)
    train(model, max_steps=3)
    ema, live = params(model.generator_ema), params(model.generator)
    assert not torch.equal(ema, before) and not torch.equal(ema, live)
    z, y = torch.randn(4, 16), torch.arange(4)
    with torch.no_grad():
        expected = model.generator_ema.eval()(z, y)
    assert torch.allclose(model.sample(4, labels=y, noise=z), expected)


def test_sample_api_and_label_checks():
    model = CGAN(**TINY)
    assert model.sample(6, labels=3).shape == (6, 1, 32, 32)
    assert model.sample(4).shape == (4, 1, 32, 32)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\]"):
        model.sample(2, labels=torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="shape"):
        model.sample(3, labels=torch.tensor([0, 1]))
    images, nrow = model.sample_grid()
    assert images.shape == (80, 1, 32, 32) and nrow == 8


def test_fixed_noise_is_a_buffer_that_is_saved():
    model = CGAN(**TINY)
    state = model.state_dict()
    assert "fixed_noise" in state and "fixed_labels" in state
    assert torch.equal(CGAN(**TINY).fixed_noise, model.fixed_noise)  # same seed on every rank


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="valid choices: bce, lsgan, hinge, wgan, wgan-gp"):
        CGAN(loss="nope", **TINY)
    with pytest.raises(ValueError, match="num_classes >= 2"):
        CGAN(num_classes=1, **TINY)
    with pytest.raises(ValueError, match="ema_decay"):
        CGAN(ema_decay=1.5, **TINY)


def test_linear_lr_decay_is_stepped_per_iteration():
    model = CGAN(lr=1e-3, lr_decay_start=2, **TINY)
    trainer = train(model, max_steps=6)
    assert [opt.param_groups[0]["lr"] for opt in trainer.optimizers] == [0.0, 0.0]  # zero at max_steps


def test_linear_decay_schedule_values():
    from zoo.models.base import linear_decay

    factor = linear_decay(start=10, end=20)
    assert [factor(i) for i in (0, 10, 15, 20, 25)] == [1.0, 1.0, 0.5, 0.0, 0.0]


def test_the_generator_can_see_its_label_through_conditional_batch_norm():
    torch.manual_seed(0)
    model = CGAN(generator_channels=8, discriminator_channels=8, latent_dim=16, generator_conditioning="norm",
                 conditioning="projection")
    norms = [m for m in model.generator.modules() if type(m).__name__ == "ConditionalBatchNorm2d"]
    assert norms and model.generator.project[0].in_features == 16  # z alone: y enters through the norms
    z = torch.randn(1, 16).expand(2, -1)
    images = model.sample(2, labels=torch.tensor([3, 7]), noise=z)
    assert not torch.allclose(images[0], images[1])  # same z, another label: another image
    with pytest.raises(ValueError, match="unknown generator_conditioning 'embed'; valid choices: concat, norm"):
        CGAN(generator_channels=8, discriminator_channels=8, generator_conditioning="embed")


def test_the_projection_form_comes_with_the_rest_of_cgan_pd_as_defaults(capsys):
    import yaml

    from zoo.fit import main

    with pytest.raises(SystemExit):
        main(["--model", "cgan", "--model.conditioning", "projection", "--print_config"])
    init = yaml.safe_load(capsys.readouterr().out)["model"]["init_args"]
    assert (init["generator_conditioning"], init["spectral_norm"], init["loss"]) == ("norm", True, "hinge")
    with pytest.raises(SystemExit):
        main(["--model", "cgan", "--model.conditioning", "projection", "--model.loss", "lsgan", "--print_config"])
    assert yaml.safe_load(capsys.readouterr().out)["model"]["init_args"]["loss"] == "lsgan"  # yours wins
