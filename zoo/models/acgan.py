"""AC-GAN: auxiliary classifier generative adversarial networks.

Odena, Olah & Shlens, "Conditional Image Synthesis with Auxiliary Classifier
GANs", ICML 2017 (arXiv:1610.09585), with the DCGAN convolutional networks of
Radford et al. 2016.

Every generated image has a class c ~ p_c besides its noise z, X_fake = G(c, z).
The discriminator is *not* given the class: it returns a probability
distribution over sources, P(S | X), and one over classes, P(C | X), from the
same features (paper §3). The objective has two parts,

    L_S = E[log P(S=real | X_real)] + E[log P(S=fake | X_fake)]
    L_C = E[log P(C=c | X_real)]    + E[log P(C=c | X_fake)]

and D is trained to maximise L_S + L_C, G to maximise L_C - L_S.

Code names -> paper symbols:

* ``self.generator`` / ``self.G(z, c)``: G(c, z); z ~ N(0, I) of size
  ``latent_dim``, c drawn uniformly from the ``num_classes`` classes.
* ``self.discriminator`` / ``self.D(x)``: returns ``(source_logit,
  class_logits)``: σ(source_logit) is P(S=real | X), softmax(class_logits) is
  P(C | X) (:class:`~zoo.nn.DCGANDiscriminator` with ``aux_classes``).
* ``D_S(x)`` / ``D_C(x)`` below: the two outputs of ``self.D(x)``.
* ``d_loss``: the source part of D's loss, -L_S for ``loss="bce"``:
  -[log σ(D_S(x)) + log(1 - σ(D_S(G(z, c))))].
* ``d_class_loss``: -L_C, the cross-entropy of the class logits on the real
  batch (its labels y), plus on the fake batch (the classes c it was drawn for)
  when ``fake_class_loss`` is on.
* ``g_loss``: the source part of G's loss, -log σ(D_S(G(z, c))): instead of
  minimising L_S's fake term log(1 - σ(D_S(G(z, c)))), the non-saturating
  form of Goodfellow et al. 2014, §3 (same fixed point, stronger early gradients).
* ``g_class_loss``: -E[log P(C=c | X_fake)], G's share of -L_C.
* ``gradient_penalty`` / ``r1``: the penalties ``self.penalise`` adds to D's loss
  (WGAN-GP; R1 when ``r1_weight`` > 0), both on the source logit D_S only.

By default (``fake_class_loss=False``) D's class loss keeps only the real
term of L_C, a common deviation from the paper: with the fake term D's
classifier also learns whatever class code G invents, and the samples follow
their class much less often (measured in docs/models/acgan.md).

D minimises ``d_loss + class_weight * d_class_loss``, G minimises
``g_loss + class_weight * g_class_loss``. ``loss`` swaps the source part for
LSGAN, hinge or WGAN-GP (see ``zoo.losses``); the class part is always the
cross-entropy. ``label_smoothing`` applies one-sided label smoothing to the real
source target (Salimans et al. 2016, §3.4), ``bce`` only. ``r1_weight`` > 0 adds
R1 on the real source logits (Mescheder et al. 2018), lazily every
``r1_interval`` D steps (Karras et al. 2020).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.losses import NonSaturatingLoss
from zoo.models.sampling import ClassConditionalGAN
from zoo.nn import DCGANDiscriminator, DCGANGenerator
from zoo.registry import register_model
from zoo.weights import PretrainedWeights, packaged_weights

# --- packaged weights (re-created by `python -m benchmarks.pretrained --model acgan`) ---------------------
PACKAGED_WEIGHTS: tuple[PretrainedWeights, ...] = (
    packaged_weights(
        'acgan', 'digits', sha256='7b4b39797d5c71a7711f79f6fc39434c3d3918a53b1084d7c134fe7baa1ba6ec',
        kwargs={},
        direction='32x32 digits of a chosen class',
        metrics={'fd': 44.8735,
                 'fd_floor': 18.1724,
                 'fd_ratio': 2.4693,
                 'conditional_accuracy': 0.989},
    ),
)


@register_model(
    "acgan",
    weights=PACKAGED_WEIGHTS,
    default_data="digits",
    # the run benchmarks.class_conditional measures (why 3000: docs/models/acgan.md#results)
    recipe={"trainer.max_steps": 3000},
    summary="Auxiliary classifier GAN (Odena et al. 2017), DCGAN networks",
)
class ACGAN(ClassConditionalGAN):
    """AC-GAN: G(z, c) and D(x) -> (source logit, class logits).

    ``sample(n, labels=..., noise=...)`` chooses the classes c of the samples. The
    shared ``loss`` is the objective of the source part: ``bce`` (the paper's, with a
    non-saturating G loss), ``lsgan``, ``hinge`` or ``wgan-gp``.

    Args:
        image_shape: (channels, height, width) of the images; linked from the
            DataModule by ``zoo.fit``.
        num_classes: number of classes c; linked from the DataModule.
        latent_dim: size of the noise vector z.
        generator_channels: width of G's last hidden layer (earlier ones double it).
        discriminator_channels: width of D's first layer (later ones double it).
        class_weight: weight of the cross-entropy class losses in both
            networks' losses (1 in the paper).
        label_smoothing: one-sided label smoothing: D's target for real images
            is ``1 - label_smoothing`` (``bce`` only; 0 disables it).
        fake_class_loss: D's class head also learns the classes of the fakes (the
            paper's L_C). Off by default: D's classifier then learns from real images
            only, so G can only satisfy it with real-looking digits of the class;
            the fake term lets D learn whatever code G invents (the measurements:
            docs/models/acgan.md).
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
        class_weight: float = 1.0,
        label_smoothing: float = 0.0,
        fake_class_loss: bool = False,
        discriminator_norm: Literal["auto", "batch", "layer", "instance", "none"] = "auto",
        samples_per_class: int = 8,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        if num_classes is None or num_classes < 2:
            raise ValueError(f"AC-GAN needs labelled data with num_classes >= 2, got {num_classes}")
        if class_weight < 0:
            raise ValueError(f"class_weight must be >= 0, got {class_weight}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        if label_smoothing > 0:
            if self.hparams.loss != "bce":
                raise ValueError(f"label_smoothing smooths the real target of the bce loss; it cannot be used "
                                 f"with loss={self.hparams.loss!r}")
            self.adversarial = NonSaturatingLoss(real_label=1.0 - label_smoothing)
        discriminator_norm = self.discriminator_norm(discriminator_norm)
        image_shape = tuple(image_shape)
        self.generator = DCGANGenerator(latent_dim, image_shape, num_classes, generator_channels)
        # D is not conditioned on y at its input: it predicts the class with an auxiliary head.
        self.discriminator = DCGANDiscriminator(
            image_shape, None, discriminator_channels, norm=discriminator_norm, aux_classes=num_classes
        )
        self.networks_built()
        self.register_class_grid(samples_per_class, latent_dim)  # row k of the progress grid shows class k

    def classes(self, n: int) -> Tensor:
        """c ~ p_c, uniform over the classes, shape (n,)."""
        return torch.randint(self.hparams.num_classes, (n,), device=self.device)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch  # real images X_real and their classes
        n, class_weight = x.size(0), self.hparams.class_weight
        opt_g, opt_d = self.optimizers()

        # (1) Update D: maximise L_S + L_C on a fresh (z, c) batch [- the penalties when on].
        with self.updating(opt_d):
            c = self.classes(n)
            with torch.no_grad():
                fake = self.G(self.noise(n), c)
            x = self.real_input(x)  # requires grad on the D steps that compute R1
            real_source, real_class = self.D(x)
            fake_source, fake_class = self.D(fake)
            d_loss = self.adversarial.discriminator(real_source, fake_source)  # -L_S for bce
            d_class_loss = F.cross_entropy(real_class, y)  # -L_C (real part)
            if self.hparams.fake_class_loss:
                d_class_loss = d_class_loss + F.cross_entropy(fake_class, c)  # -L_C (fake part)
            total, penalties = self.penalise(
                d_loss + class_weight * d_class_loss, real=x, real_logits=real_source, fake=fake,
                critic=lambda images: self.D(images)[0],
            )
            self.backward_step(total, opt_d)
        losses = {"d_loss": d_loss, "d_class_loss": d_class_loss, **penalties}
        losses["d_real_accuracy"] = (real_class.detach().argmax(dim=1) == y).float().mean()

        # (2) Update G every n_critic batches: maximise L_C - L_S on a new (z, c) batch.
        if self.generator_turn():
            with self.updating(opt_g):
                c = self.classes(n)
                fake_source, fake_class = self.D(self.G(self.noise(n), c))
                g_loss = self.adversarial.generator(fake_source)  # non-saturating -L_S for bce
                g_class_loss = F.cross_entropy(fake_class, c)  # G's part of -L_C
                self.backward_step(g_loss + class_weight * g_class_loss, opt_g)
            losses.update(g_loss=g_loss, g_class_loss=g_class_loss)
        self.log_losses(**losses)

    @torch.no_grad()
    def classify(self, images: Tensor) -> Tensor:
        """D's auxiliary class logits for ``images`` in [-1, 1], shape (n, num_classes) (eval mode, no grad)."""
        with self._eval_mode(self.discriminator) as discriminator:
            return discriminator(images.to(self.device))[1]
