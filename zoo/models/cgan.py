"""cGAN: conditional generative adversarial nets.

Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014
(arXiv:1411.1784), with the DCGAN convolutional networks of Radford et al. 2015.

The generator and discriminator are both conditioned on the class label y
(paper §3.2, Eq. 2):

    min_G max_D  E_x[log D(x|y)] + E_z[log(1 - D(G(z|y)|y))]

Code names -> paper symbols:

* ``self.generator`` / ``self.G(z, y)``: G(z|y); z ~ N(0, I) of size ``latent_dim``.
* ``self.discriminator`` / ``self.D(x, y)``: D(x|y), returning a logit.
* ``d_loss``: -[log D(x|y) + log(1 - D(G(z|y)|y))] (for ``loss="bce"``).
* ``g_loss``: -log D(G(z|y)|y), the non-saturating form of Goodfellow et al. §3.
* ``gradient_penalty`` / ``r1``: the penalties ``self.penalise`` adds to D's loss,
  E[(‖∇_x̂ D(x̂|y)‖₂ - 1)²] (WGAN-GP) and ‖∇_x D(x|y)‖² on the real batch (R1), both
  differentiated with respect to the image, y being the condition.

``loss`` swaps the objective for LSGAN, hinge or WGAN-GP (see ``zoo.losses``);
with WGAN-GP the critic takes ``n_critic`` steps per generator step, each on a
fresh batch (Gulrajani et al. 2017, Algorithm 1). ``r1_weight`` > 0 adds R1
(Mescheder et al. 2018), lazily every ``r1_interval`` D steps (Karras et al. 2020).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from zoo.models.sampling import ClassConditionalGAN
from zoo.nn import DCGANDiscriminator, DCGANGenerator
from zoo.registry import register_model
from zoo.weights import PretrainedWeights, packaged_weights

# --- packaged weights (re-created by `python -m benchmarks.pretrained --model cgan`) ---------------------
PACKAGED_WEIGHTS: tuple[PretrainedWeights, ...] = (
    packaged_weights(
        'cgan', 'digits', sha256='da76ce155dc9dffc4460776bcf094075950365eebcc69d0a99be453a20d660ba',
        kwargs={},
        direction='32x32 digits of a chosen class',
        metrics={'fd': 33.8432,
                 'fd_floor': 18.1724,
                 'fd_ratio': 1.8623,
                 'conditional_accuracy': 0.994},
    ),
)


@register_model(
    "cgan",
    weights=PACKAGED_WEIGHTS,
    default_data="digits",
    # the run benchmarks.class_conditional measures (why 3000: docs/models/acgan.md#results)
    recipe={"trainer.max_steps": 3000},
    summary="Conditional GAN (Mirza & Osindero 2014), DCGAN networks",
)
class CGAN(ClassConditionalGAN):
    """Class-conditional DCGAN: G(z, y) and D(x, y), labels embedded in both.

    ``sample(n, labels=..., noise=...)`` chooses the classes of the samples.

    Args:
        image_shape: (channels, height, width) of the images; linked from the
            DataModule by ``zoo.fit``.
        num_classes: number of classes y; linked from the DataModule.
        latent_dim: size of the noise vector z.
        generator_channels: width of G's last hidden layer (earlier ones double it).
        discriminator_channels: width of D's first layer (later ones double it).
        conditioning: how D sees y: ``"concat"`` (label map as an extra input
            channel, as in the paper) or ``"projection"`` (Miyato & Koyama 2018).
            ``zoo.fit --model.conditioning projection`` also defaults to the rest of the cGAN of
            current practice (cGAN-PD): ``generator_conditioning norm``, spectral norm in D, hinge loss.
        generator_conditioning: how G sees y: ``"concat"`` (e(y) joined to z, the paper's) or ``"norm"``
            (conditional batch norm in every hidden layer, fed e(y)).
        discriminator_norm: ``"auto"`` is batch norm, or layer norm for
            ``wgan-gp`` (whose per-sample penalty batch norm would break).
        samples_per_class: columns of the progress grid (one row per class).
        settings: the shared settings of every GAN (``loss``, ``r1_weight``, ``lr``, ...): see ``GANModule``.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 32, 32),
        num_classes: int = 10,
        latent_dim: int = 100,
        generator_channels: int = 64,
        discriminator_channels: int = 64,
        conditioning: Literal["concat", "projection"] = "concat",
        generator_conditioning: Literal["concat", "norm"] = "concat",
        discriminator_norm: Literal["auto", "batch", "layer", "instance", "none"] = "auto",
        samples_per_class: int = 8,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        if num_classes < 2:
            raise ValueError(f"cGAN needs labelled data with num_classes >= 2, got {num_classes}")
        discriminator_norm = self.discriminator_norm(discriminator_norm)
        image_shape = tuple(image_shape)
        if generator_conditioning not in ("concat", "norm"):
            raise ValueError(f"unknown generator_conditioning {generator_conditioning!r}; valid choices: concat, norm")
        self.generator = DCGANGenerator(latent_dim, image_shape, num_classes, generator_channels,
                                        label_norm=generator_conditioning == "norm")
        self.discriminator = DCGANDiscriminator(
            image_shape, num_classes, discriminator_channels, conditioning, discriminator_norm
        )
        self.networks_built()
        self.register_class_grid(samples_per_class, latent_dim)  # row k of the progress grid shows class k

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch  # real images x ~ p_data(x|y) and their labels y
        opt_g, opt_d = self.optimizers()

        # (1) Update D: ascend log D(x|y) + log(1 - D(G(z|y)|y)) on a fresh noise batch
        #     [- λ·gradient_penalty for WGAN-GP, - γ/2·R1 when on].
        with self.updating(opt_d):
            with torch.no_grad():
                fake = self.G(self.noise(x.size(0)), y)
            x = self.real_input(x)  # requires grad on the D steps that compute R1
            real_logits = self.D(x, y)
            d_loss = self.adversarial.discriminator(real_logits, self.D(fake, y))
            d_total, penalties = self.penalise(
                d_loss, real=x, real_logits=real_logits, fake=fake, critic=lambda images: self.D(images, y)
            )
            self.backward_step(d_total, opt_d)
        losses = {"d_loss": d_loss, **penalties}

        # (2) Update G every n_critic batches: descend -log D(G(z|y)|y) on a new noise batch.
        if self.generator_turn():
            with self.updating(opt_g):
                g_loss = self.adversarial.generator(self.D(self.G(self.noise(x.size(0)), y), y))
                self.backward_step(g_loss, opt_g)
            losses["g_loss"] = g_loss
        self.log_losses(**losses)
