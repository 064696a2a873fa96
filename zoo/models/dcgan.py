"""DCGAN: deep convolutional generative adversarial networks.

Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016 (arXiv:1511.06434).
The unconditional baseline of the zoo: the GAN game of Goodfellow et al. 2014,

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]

played by the convolutional networks of :mod:`zoo.nn.dcgan`, which follow the
architecture guidelines of the paper's §3:

* no pooling: strided convolutions in D, fractionally-strided (transposed)
  convolutions in G, so both networks learn their own resampling;
* batch norm in both networks, except G's output layer and D's input layer;
* no fully connected hidden layers: G's first layer is a linear projection of z
  reshaped to a 4-D tensor, D's last is a flatten and a single logit;
* ReLU in G except a Tanh output; LeakyReLU (slope 0.2, §4) in D.

The training details of §4 are the defaults: N(0, 0.02) weight initialisation,
Adam with lr 2e-4 and β1 0.5. (The paper draws z uniformly; the zoo uses
z ~ N(0, I) like its other models.)

Code names -> paper symbols:

* ``self.generator`` / ``self.G(z)``: G(z); z ~ N(0, I) of size ``latent_dim``.
* ``self.discriminator`` / ``self.D(x)``: D(x), returning a logit (σ(D(x)) is
  the paper's probability that x is real).
* ``d_loss``: -[log σ(D(x)) + log(1 - σ(D(G(z))))] (for ``loss="bce"``).
* ``g_loss``: -log σ(D(G(z))), the non-saturating form of Goodfellow et al. §3.
* ``r1``: ‖∇_x D(x)‖² on the real batch, the R1 regulariser of Mescheder, Geiger
  & Nowozin 2018 (Eq. 9); D's loss gains γ/2 · R1 with γ = ``r1_weight``.

``r1_weight`` > 0 adds the R1 gradient penalty to D's loss (off by default,
as in the paper; on in the embedded recipe). With ``r1_interval`` k > 1 it is
computed on every k-th D step only, weighted by k: the lazy regularisation of
Karras et al. 2020 (StyleGAN2, §3.1), which costs 1/k of the double backward.
Both penalties are added by ``GANModule.penalise``, shared by every model.

``loss`` swaps the objective for LSGAN, hinge or WGAN-GP (see ``zoo.losses``);
with WGAN-GP the critic takes ``n_critic`` steps per generator step, each on a
fresh batch (Gulrajani et al. 2017, Algorithm 1).

Each batch draws one z: D's step sees G(z) detached, and G's step back-propagates
through the same G(z), scored by the just-updated D. The DCGAN reference code
(github.com/soumith/dcgan.torch, ``fGx``) reuses the fake batch the same way; it
saves one forward pass of G per iteration (what that is worth: docs/models/dcgan.md).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from zoo.models.sampling import SamplingGAN
from zoo.nn import DCGANDiscriminator, DCGANGenerator
from zoo.registry import register_model
from zoo.weights import PretrainedWeights, packaged_weights

# --- packaged weights (re-created by `python -m benchmarks.pretrained --model dcgan`) ---------------------
PACKAGED_WEIGHTS: tuple[PretrainedWeights, ...] = (
    packaged_weights(
        'dcgan', 'digits', sha256='47157d1a011c632f5ccd58146d61646e1345abe581ec623359fb44746a3c9f45',
        kwargs={'num_classes': 10, 'lr': 0.0005, 'r1_weight': 1.0, 'r1_interval': 4},
        direction='32x32 digits',
        metrics={'fd': 40.0709, 'fd_floor': 18.1724, 'fd_ratio': 2.205, 'min_class_share': 0.086},
    ),
)


@register_model(
    "dcgan",
    weights=PACKAGED_WEIGHTS,
    default_data="digits",
    # lr 5e-4 and lazy R1 for the small embedded set; the sweep behind them: docs/models/dcgan.md#results
    recipe={"model.lr": 5e-4, "model.r1_weight": 1.0, "model.r1_interval": 4, "trainer.max_steps": 4000},
    summary="Unconditional DCGAN (Radford et al. 2016)",
)
class DCGAN(SamplingGAN):
    """Unconditional DCGAN: G(z) and D(x), labels ignored.

    Args:
        image_shape: (channels, height, width) of the images; linked from the
            DataModule by ``zoo.fit``.
        num_classes: accepted and ignored. ``zoo.fit`` links every data set's
            ``num_classes`` into every model, so the argument must exist; DCGAN
            is unconditional and never sees the labels.
        latent_dim: size of the noise vector z.
        generator_channels: width of G's last hidden layer (earlier ones double it).
        discriminator_channels: width of D's first layer (later ones double it).
        discriminator_norm: ``"auto"`` is batch norm, or layer norm for
            ``wgan-gp`` (whose per-sample penalty batch norm would break).
        grid_size: the progress grid is ``grid_size`` x ``grid_size`` images
            from fixed noise.
        settings: the shared settings of every GAN (``loss``, ``r1_weight``, ``lr``, ...): see ``GANModule``.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 32, 32),
        num_classes: int | None = None,
        latent_dim: int = 100,
        generator_channels: int = 64,
        discriminator_channels: int = 64,
        discriminator_norm: Literal["auto", "batch", "layer", "instance", "none"] = "auto",
        grid_size: int = 8,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        if grid_size < 1:
            raise ValueError(f"grid_size must be >= 1, got {grid_size}")
        discriminator_norm = self.discriminator_norm(discriminator_norm)
        image_shape = tuple(image_shape)
        self.generator = DCGANGenerator(latent_dim, image_shape, None, generator_channels)
        self.discriminator = DCGANDiscriminator(image_shape, None, discriminator_channels, norm=discriminator_norm)
        self.networks_built()
        # Fixed noise for the progress grid (same seed on every rank and every run).
        noise = torch.randn(grid_size * grid_size, latent_dim, generator=torch.Generator().manual_seed(0))
        self.register_buffer("fixed_noise", noise)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x = batch[0]  # real images x ~ p_data(x); the labels, if any, are not used
        opt_g, opt_d = self.optimizers()
        update_generator = self.generator_turn()

        # G(z) once per batch. When G updates after this D step, its update reuses these samples,
        # as the DCGAN reference code does (dcgan.torch: "already executed in fDx, so save computation").
        z = self.noise(x.size(0))
        with torch.set_grad_enabled(update_generator):
            fake = self.G(z)

        # (1) Update D: ascend log D(x) + log(1 - D(G(z))) [- γ/2 ‖∇_x D(x)‖² with R1].
        with self.updating(opt_d):
            x = self.real_input(x)  # requires grad on the D steps that compute R1
            real_logits = self.D(x)
            d_loss = self.adversarial.discriminator(real_logits, self.D(fake.detach()))
            d_total, penalties = self.penalise(d_loss, real=x, real_logits=real_logits, fake=fake.detach())
            self.backward_step(d_total, opt_d)
        losses = {"d_loss": d_loss, **penalties}

        # (2) Update G every n_critic batches: descend -log D(G(z)) through the updated D.
        if update_generator:
            with self.updating(opt_g):
                g_loss = self.adversarial.generator(self.D(fake))
                self.backward_step(g_loss, opt_g)
            losses["g_loss"] = g_loss
        self.log_losses(**losses)

    def sample_grid(self) -> tuple[Tensor, int]:
        """``grid_size`` x ``grid_size`` images from the fixed noise."""
        return self.sample(len(self.fixed_noise), noise=self.fixed_noise), self.hparams.grid_size
