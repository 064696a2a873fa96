"""BigGAN-lite: the class-conditional GAN of Brock, Donahue & Simonyan, ICLR 2019, at CPU widths.

Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity Natural Image Synthesis",
ICLR 2019 (arXiv:1809.11096). The networks are :mod:`zoo.nn.biggan`; this module is the training:

* **the hinge loss** (§3, after Lim & Ye 2017 / Miyato et al. 2018), ``n_critic`` D steps per G step
  (the references' CIFAR runs: 4 and 5; the lite default 2);
* **spectral norm** in both networks (Miyato et al. 2018; BigGAN: G too, ε = 1e-6), through the
  shared settings ``spectral_norm`` / ``spectral_norm_g`` (on by default here);
* **Adam** (lr 2e-4 both, β = (0, 0.999), ε = 1e-6);
* **a generator EMA** used for sampling and for the packaged weights (decay 0.9999 from step
  ``ema_start``, a copy of G before it: BigGAN-PyTorch's ``--ema_start 1000``);
* **orthogonal regularisation** (§3.1, Eq. 3), ``orthogonal_weight`` β on G's ≥ 2-d weights except the
  shared embedding: off by default, as in both references' CIFAR configurations;
* **the truncation trick** (§3.1): ``sample(n, labels=..., truncation=t)`` draws z from a normal
  truncated at ±t (values outside redrawn), trading variety for fidelity.

Code names -> paper symbols: ``self.G(z, y)`` is G(z, y) with z split hierarchically; ``self.D(x, y)`` is
D(x, y) = ψ(φ(x)) + ⟨e(y), φ(x)⟩; ``d_loss`` = E[max(0, 1 - D(x, y))] + E[max(0, 1 + D(G(z, ŷ), ŷ))]
with ŷ uniform classes; ``g_loss`` = -E[D(G(z, ŷ), ŷ)]; ``orthogonal`` = R_β / β.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from zoo.losses import LossName, orthogonal_penalty
from zoo.models.capabilities import Capabilities
from zoo.models.sampling import ClassConditionalGAN
from zoo.nn.biggan import BigGANDiscriminator, BigGANGenerator, truncated_noise
from zoo.registry import register_model


@register_model(
    "biggan",
    default_data="digits",
    # the embedded digits on 2 CPU cores: a 15-minute budget (docs/models/biggan.md#results)
    recipe={"trainer.max_steps": 20000, "trainer.max_time": "00:00:15:00", "model.ema_start": 200,
            "model.ema_decay": 0.995},
    summary="BigGAN-lite (Brock et al. 2019): SN-ResNet G and projection D, shared embedding, truncation",
)
class BigGAN(ClassConditionalGAN):
    """BigGAN-lite: hierarchical z, conditional BN from a shared embedding, self-attention, projection D.

    ``sample(n, labels=..., truncation=0.5)`` samples with the truncation trick.

    Args:
        image_shape: (C, H, W), a power-of-two side >= 8; linked from the DataModule by ``zoo.fit``.
        num_classes: number of classes; linked from the DataModule.
        latent_dim: size of z, split into one chunk per block plus one (80 at 32x32: chunks of 20).
        generator_width: G's channel unit (every block 4x it; BigGAN-PyTorch's CIFAR G: 64, StudioGAN: 96).
        discriminator_width: D's channel unit (the references: 64, 128).
        embed_dim: size of the shared class embedding (128).
        attention_resolution: where both networks attend (16; 0 switches self-attention off).
        orthogonal_weight: β of the orthogonal regularisation of G (1e-4 in the paper's ImageNet runs; 0: off).
        ema_start: the EMA copies G until this iteration, then averages with ``ema_decay``.
        samples_per_class: columns of the progress grid (one row per class).
        loss, n_critic, lr, betas, ema_decay, spectral_norm, spectral_norm_g: the shared settings with
            BigGAN's defaults (hinge, 2, 2e-4, (0, 0.999), 0.9999, true, true).
        settings: the other shared settings: see ``GANModule``.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        "class-conditional", conditions=("labels", "truncation"), needs_labels=True, exports=("noise", "labels"))
    spectral_norm_eps = 1e-6

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 32, 32),
        num_classes: int = 10,
        latent_dim: int = 80,
        generator_width: int = 8,
        discriminator_width: int = 8,
        embed_dim: int = 128,
        attention_resolution: int = 16,
        orthogonal_weight: float = 0.0,
        ema_start: int = 1000,
        samples_per_class: int = 8,
        loss: LossName = "hinge",
        n_critic: int = 2,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.0, 0.999),
        ema_decay: float | None = 0.9999,
        spectral_norm: bool = True,
        spectral_norm_g: bool = True,
        **settings: Any,
    ) -> None:
        super().__init__(loss=loss, n_critic=n_critic, lr=lr, betas=betas, ema_decay=ema_decay,
                         spectral_norm=spectral_norm, spectral_norm_g=spectral_norm_g, **settings)
        if num_classes is None or num_classes < 2:
            raise ValueError(f"BigGAN needs labelled data with num_classes >= 2, got {num_classes}")
        if orthogonal_weight < 0 or ema_start < 0:
            raise ValueError(f"orthogonal_weight and ema_start must be >= 0, got {orthogonal_weight}, {ema_start}")
        image_shape = tuple(image_shape)
        self.generator = BigGANGenerator(latent_dim, num_classes, image_shape, generator_width, embed_dim,
                                         attention_resolution)
        self.discriminator = BigGANDiscriminator(num_classes, image_shape, discriminator_width, attention_resolution)
        self.networks_built()
        self.register_class_grid(samples_per_class, latent_dim)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch  # real images and their classes
        opt_g, opt_d = self.optimizers()
        n = x.size(0)

        # (1) D: hinge on (x, y) and on G(z, ŷ) with uniform classes ŷ [+ the penalties when on].
        with self.updating(opt_d):
            fake_y = self.classes(n)
            with torch.no_grad():
                fake = self.G(self.noise(n), fake_y)
            x = self.real_input(x)
            real_logits = self.D(x, y)
            d_loss = self.adversarial.discriminator(real_logits, self.D(fake, fake_y))
            d_total, penalties = self.penalise(d_loss, real=x, real_logits=real_logits, fake=fake,
                                               critic=lambda images: self.D(images, y))
            self.backward_step(d_total, opt_d)
        losses = {"d_loss": d_loss, **penalties}

        # (2) G every n_critic batches: -E[D(G(z, ŷ), ŷ)] [+ β · orthogonal regularisation].
        if self.generator_turn():
            with self.updating(opt_g):
                fake_y = self.classes(n)
                g_loss = self.adversarial.generator(self.D(self.G(self.noise(n), fake_y), fake_y))
                g_total = g_loss
                if self.hparams.orthogonal_weight > 0:
                    orthogonal = orthogonal_penalty(self.orthogonal_weights())
                    g_total = g_total + self.hparams.orthogonal_weight * orthogonal
                    losses["orthogonal"] = orthogonal
                self.backward_step(g_total, opt_g)
            losses["g_loss"] = g_loss
        self.log_losses(**losses)

    def classes(self, n: int) -> Tensor:
        """ŷ, uniform over the classes, shape (n,)."""
        return torch.randint(self.hparams.num_classes, (n,), device=self.device)

    def orthogonal_weights(self) -> list[Tensor]:
        """G's weights of two or more dimensions (the trained parameter under spectral norm), the shared
        embedding excepted: what the orthogonal regularisation acts on."""
        shared = {id(p) for p in self.generator.shared.parameters()}
        return [p for p in self.generator.parameters() if p.dim() >= 2 and id(p) not in shared]

    def ema_beta(self) -> float:
        """0 (copy G) before ``ema_start``, ``ema_decay`` after."""
        return 0.0 if self.global_step < self.hparams.ema_start else super().ema_beta()

    def configure_optimizers(self):
        """Adam(lr, betas, ε = 1e-6) for G and D, G first (``lr_decay_start`` when set)."""
        opt_g = self.make_optimizer(self.generator.parameters(), eps=1e-6)
        opt_d = self.make_optimizer(self.discriminator.parameters(), eps=1e-6)
        return [opt_g, opt_d], self.linear_decay_schedulers([opt_g, opt_d], self.hparams.lr_decay_start)

    @torch.no_grad()
    def sample(self, n: int, *, noise: Tensor | None = None, truncation: float | None = None,
               **conditions: Any) -> Tensor:
        """:meth:`SamplingGAN.sample` with the truncation trick: ``truncation=t`` draws z from N(0, I) truncated
        at ±t (values outside redrawn; ``None``: no truncation). Ignored when ``noise`` is given."""
        if noise is None and truncation is not None:
            inputs = self.sample_inputs(n, **conditions)  # the labels first, as the contract draws them
            noise = truncated_noise(n, self.noise_dim, truncation, self.device)
            return super().sample(n, noise=noise, **inputs)
        return super().sample(n, noise=noise, **conditions)
