"""The original GAN (MLPs): learns the 2-D ring, Algorithm 1's k D steps, scatter-plot grid, image data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules import CircleDataModule, DigitsDataModule
from zoo.callbacks import SampleGrid
from zoo.models import GAN
from tests.models import helpers
from tests.models.helpers import params


def train(model, max_steps, datamodule=None, **trainer_kwargs):
    """A bounded run on the circle (the toy's default data) unless another DataModule is given."""
    return helpers.train(model, max_steps, datamodule=datamodule or CircleDataModule(), **trainer_kwargs)


def ring_statistics(points: torch.Tensor) -> tuple[float, int]:
    """Mean distance from the origin, and how many of 8 angular sectors hold >= 5% of the points."""
    angles = torch.atan2(points[:, 1], points[:, 0])
    sectors = torch.bincount(((angles + math.pi) / (2 * math.pi) * 8).long().clamp(0, 7), minlength=8)
    return points.norm(dim=1).mean().item(), int((sectors >= 0.05 * len(points)).sum())


def red_pixels(image: torch.Tensor) -> torch.Tensor:
    """Mask of the generated points' colour in a (3, H, W) picture in [-1, 1]."""
    r, g, b = (image + 1) * 127.5
    return (r > 180) & (g < 90) & (b < 90)


def grey_pixels(image: torch.Tensor) -> torch.Tensor:
    r, g, b = (image + 1) * 127.5
    return ((r - 150).abs() < 20) & ((g - 150).abs() < 20) & ((b - 150).abs() < 20)


def test_learns_the_ring():
    torch.manual_seed(0)
    model = GAN()
    noise = torch.randn(1000, model.hparams.latent_dim, generator=torch.Generator().manual_seed(1))
    radius, _ = ring_statistics(model.sample(1000, noise=noise))
    assert radius < 0.5  # untrained: a blob near the origin, so the check below can fail
    trainer = train(model, max_steps=600)  # batch 128; ~2-3 s with one thread
    assert trainer.global_step == 600
    points = model.sample(1000, noise=noise)
    radius, covered = ring_statistics(points)
    # measured over seeds 0-9 at 600 iterations: mean radius 0.94-1.02, all 8 sectors >= 9.7%
    assert abs(radius - 1.0) < 0.15
    assert covered >= 6
    assert (points.norm(dim=1) - 1).abs().median() < 0.15  # most points on the ring, not spread around it


def test_d_steps_take_k_discriminator_steps_per_iteration_on_one_batch():
    torch.manual_seed(0)
    model = GAN(d_steps=3)
    trainer = train(model, max_steps=4)
    assert trainer.global_step == 4  # iterations = generator steps
    assert trainer.fit_loop.epoch_loop._batches_that_stepped == 4  # one batch per iteration
    opt_g, opt_d = trainer.optimizers
    assert opt_g.state_dict()["state"][0]["step"].item() == 4
    assert opt_d.state_dict()["state"][0]["step"].item() == 12  # k = 3 D steps per G step


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge", "wgan-gp"])
def test_every_loss_trains_with_finite_values(loss):
    model = GAN(loss=loss, hidden=16)
    g0, d0 = params(model.generator), params(model.discriminator)
    train(model, max_steps=2, datamodule=CircleDataModule(batch_size=32))
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert not torch.equal(g0, params(model.generator)) and not torch.equal(d0, params(model.discriminator))


def test_sample_api():
    model = GAN(latent_dim=4)
    assert model.sample(5).shape == (5, 2)
    z = torch.randn(3, 4)
    assert torch.equal(model.sample(3, noise=z), model.sample(3, noise=z))
    assert model.sample(1000).abs().max() > 0  # no output activation: unbounded 2-D points
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(2, labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"noise must have shape \(3, 4\)"):
        model.sample(3, noise=torch.randn(3, 5))
    assert isinstance(model.generator.activation, torch.nn.Identity)
    assert isinstance(GAN(output_activation="tanh").generator.activation, torch.nn.Tanh)


def test_sample_grid_is_a_scatter_plot_of_real_grey_and_generated_red_points(tmp_path):
    torch.manual_seed(0)
    model = GAN(hidden=32)
    image, nrow = model.sample_grid()  # before training, without data: generated points only
    assert image.shape == (1, 3, 256, 256) and nrow == 1
    assert red_pixels(image[0]).any() and not grey_pixels(image[0]).any()

    callback = SampleGrid(every_n_steps=2, at_train_end=False)
    train(model, max_steps=2, default_root_dir=str(tmp_path), callbacks=[callback])
    # setup() kept 512 validation points (not saved in checkpoints)
    assert model.real_points.shape == (512, 2) and "real_points" not in model.state_dict()
    assert "fixed_noise" in model.state_dict() and model.fixed_noise.shape == (512, 8)
    image, nrow = model.sample_grid()
    assert image.shape == (1, 3, 256, 256) and nrow == 1
    assert image.min() >= -1 and image.max() <= 1
    assert red_pixels(image[0]).sum() > 20 and grey_pixels(image[0]).sum() > 500
    # the real ring fills the window: grey pixels reach near every edge
    ys, xs = grey_pixels(image[0]).nonzero(as_tuple=True)
    assert xs.min() < 40 and xs.max() > 215 and ys.min() < 40 and ys.max() > 215
    # the SampleGrid callback wrote that picture as the sample PNG, unchanged
    png = np.asarray(Image.open(callback.last_path).convert("RGB"))
    assert callback.last_path.name == "step_000002.png" and png.shape == (256, 256, 3)
    written = torch.from_numpy(png.copy()).permute(2, 0, 1).float() / 127.5 - 1
    assert red_pixels(written).sum() > 20 and grey_pixels(written).sum() > 500


def test_trains_on_digit_images():
    torch.manual_seed(0)
    model = GAN(image_shape=(1, 32, 32), num_classes=10, hidden=32, layers=2)
    assert isinstance(model.generator.activation, torch.nn.Tanh)  # auto: images in [-1, 1]
    trainer = train(model, max_steps=2, datamodule=DigitsDataModule(batch_size=16))
    assert trainer.global_step == 2
    images = model.sample(4)
    assert images.shape == (4, 1, 32, 32) and images.abs().max() <= 1
    grid, nrow = model.sample_grid()
    assert grid.shape == (64, 1, 32, 32) and nrow == 8
    assert len(model.real_points) == 0  # no scatter plot for images
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(2, labels=3)


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="valid choices: bce, lsgan, hinge, wgan, wgan-gp"):
        GAN(loss="nope")
    with pytest.raises(ValueError, match="d_steps must be >= 1"):
        GAN(d_steps=0)
    with pytest.raises(ValueError, match="output_activation"):
        GAN(output_activation="relu")
    with pytest.raises(ValueError, match="image_shape"):
        GAN(image_shape=())
