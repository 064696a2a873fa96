"""CycleGAN: unpaired image-to-image translation with cycle-consistent adversarial networks.

Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017 (arXiv:1703.10593).

Two mappings G: X -> Y and F: Y -> X, each with an adversarial discriminator
(D_Y judges G's outputs, D_X judges F's), tied by cycle consistency
F(G(x)) ≈ x and G(F(y)) ≈ y. The full objective (paper Eq. 3) is

    L(G, F, D_X, D_Y) = L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X) + λ L_cyc(G, F),
    L_cyc(G, F) = E_x[‖F(G(x)) - x‖₁] + E_y[‖G(F(y)) - y‖₁],   λ = 10,

with the least-squares GAN loss (§4: G minimises E_x[(D(G(x)) - 1)²], D minimises
E_y[(D(y) - 1)²] + E_x[D(G(x))²]) and, for photo tasks, the identity loss of §5.2,
L_identity = E_y[‖G(y) - y‖₁] + E_x[‖F(x) - x‖₁], weighted 0.5 λ.

Code names -> paper symbols (X is the data's side "A", Y its side "B"):

* ``self.generator`` / ``self.G(x)``: G: X -> Y; ``self.generator_ba`` / ``self.F(y)``: F: Y -> X.
  ResNet generators (Johnson et al. 2016; 9 residual blocks, instance norm, reflection padding).
* ``self.discriminator_b`` / ``self.D_Y``; ``self.discriminator_a`` / ``self.D_X``: 70x70 PatchGANs.
* ``fake_b`` = G(x), ``fake_a`` = F(y), ``cycle_a`` = F(G(x)), ``cycle_b`` = G(F(y)),
  ``identity_b`` = G(y), ``identity_a`` = F(x).
* ℓ: the GAN loss of ``loss`` in the papers' form
  (:func:`~zoo.models.translation.image_to_image_loss`): ``self.adversarial.generator`` is
  ℓ(D(G(x)), real), ``self.adversarial.discriminator`` is ℓ(D(y), real) + ℓ(D(G(x)), fake);
  for ``lsgan`` (the paper) ℓ is the squared error, (D - 1)² and D², without Mao et al.'s ½.
* ``g_adversarial``: ℓ(D_Y(G(x)), real) + ℓ(D_X(F(y)), real); ``g_cycle``: L_cyc (its two
  terms weighted ``lambda_a`` and ``lambda_b``, both λ = 10); ``g_identity``: L_identity
  (weighted ``lambda_identity`` · λ, 0.5 · λ by default).
* ``d_loss_b`` / ``d_loss_a``: ½[ℓ(D(real), real) + ℓ(D(pooled fake), fake)] for D_Y / D_X:
  "we divide the objective by 2 while optimizing D" and D sees a history of 50 generated
  images (:class:`zoo.nn.image_pool.ImagePool`, Shrivastava et al. 2017), §4. The penalties
  of ``self.penalise`` come on top, not halved: with ``wgan-gp`` each D's gradient penalty
  at interpolates of its real and pooled fake images, and with ``r1_weight`` > 0 the R1
  penalty of each D on its real images (logged ``r1_a`` for D_X, ``r1_b`` for D_Y).

Optimisation (§4, "Training details"): one step of G and F (one Adam over both), then one
of D_X and D_Y (one Adam over both), Adam(2e-4, β = (0.5, 0.999)), batch size 1, constant
LR for 100 epochs then linear decay to 0 over the next 100 (``n_epochs``, ``n_epochs_decay``).
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

import torch
from torch import Tensor, nn

from zoo.losses import LossName, l1_loss
from zoo.models.capabilities import Capabilities
from zoo.models.translation import TranslationGAN
from zoo.nn.image_pool import ImagePool
from zoo.nn.init import init_weights
from zoo.nn.translation import PatchDiscriminator, ResnetGenerator
from zoo.registry import register_model
from zoo.weights import PretrainedWeights, packaged_weights

# --- packaged weights (re-created by `python -m benchmarks.pretrained --model cyclegan`) ---------------------
PACKAGED_WEIGHTS: tuple[PretrainedWeights, ...] = (
    packaged_weights(
        'cyclegan', 'digit_strokes', sha256='9e01bb08592c19ef77cf409414ed0f5dede4f2374f65e0a840b52ff9be8ebf08',
        kwargs={'in_channels': 1,
                'out_channels': 1,
                'num_blocks': 3,
                'generator_channels': 16,
                'discriminator_channels': 16,
                'n_epochs': 22,
                'n_epochs_decay': 22},
        direction='thin-stroke digit <-> thick-stroke digit (32x32)',
        metrics={'l1': 0.0716,
                 'psnr': 25.6316,
                 'ssim': 0.8757,
                 'identity_accuracy': 0.9497,
                 'l1_BtoA': 0.0612,
                 'psnr_BtoA': 25.652,
                 'ssim_BtoA': 0.869,
                 'identity_accuracy_BtoA': 0.9777},
        protocol='translation',
    ),
)


# --- the authors' released generators -------------------------------------------------
# Names and URLs from the reference repository's scripts/download_cyclegan_model.sh
# (junyanz/pytorch-CycleGAN-and-pix2pix), in its order. Each file is the state dict of
# one generator net_G: the reference's resnet_9blocks with instance norm, 3 -> 3 channels,
# no dropout (its CycleGAN defaults; the README tests them with --model test --no_dropout).
# A file holds one direction only: horse2zebra is G_A, horse -> zebra.
RELEASED_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{name}.pth"
RELEASED_NETWORK = {"in_channels": 3, "out_channels": 3, "base_channels": 64, "num_blocks": 9,
                    "norm": "instance", "dropout": False, "padding": "reflect"}
RELEASED_WEIGHTS: tuple[PretrainedWeights, ...] = tuple(
    PretrainedWeights("cyclegan", name, RELEASED_URL.format(name=name), ResnetGenerator, RELEASED_NETWORK, direction)
    for name, direction in (
        ("apple2orange", "apple photo -> orange photo (ImageNet)"),
        ("orange2apple", "orange photo -> apple photo (ImageNet)"),
        ("summer2winter_yosemite", "summer -> winter Yosemite photo (Flickr)"),
        ("winter2summer_yosemite", "winter -> summer Yosemite photo (Flickr)"),
        ("horse2zebra", "horse photo -> zebra photo (ImageNet)"),
        ("zebra2horse", "zebra photo -> horse photo (ImageNet)"),
        ("monet2photo", "Monet painting -> photo"),
        ("style_monet", "photo -> Monet-style painting"),
        ("style_cezanne", "photo -> Cezanne-style painting"),
        ("style_ukiyoe", "photo -> Ukiyo-e-style painting"),
        ("style_vangogh", "photo -> Van Gogh-style painting"),
        ("sat2map", "satellite photo -> Google map (maps)"),
        ("map2sat", "Google map -> satellite photo (maps)"),
        ("cityscapes_photo2label", "street photo -> semantic label map (Cityscapes)"),
        ("cityscapes_label2photo", "semantic label map -> street photo (Cityscapes)"),
        ("facades_photo2label", "facade photo -> label map (CMP Facades)"),
        ("facades_label2photo", "label map -> facade photo (CMP Facades)"),
        ("iphone2dslr_flower", "iPhone flower photo -> DSLR-style shallow depth of field"),
    )
)
WEIGHTS = (*PACKAGED_WEIGHTS, *RELEASED_WEIGHTS)


@register_model(
    "cyclegan",
    default_data="digit_strokes",
    # narrower, shallower networks for the 32x32 task and the paper's schedule squeezed into
    # 2000 iterations: 22 epochs constant, 22 of linear decay (docs/models/cyclegan.md)
    recipe={
        "model.generator_channels": 16, "model.num_blocks": 3, "model.discriminator_channels": 16,
        "model.n_epochs": 22, "model.n_epochs_decay": 22, "trainer.max_steps": 2000,
    },
    weights=WEIGHTS,
    summary="CycleGAN (Zhu et al. 2017): two ResNet generators, unpaired",
)
class CycleGAN(TranslationGAN):
    """CycleGAN: G: A -> B, F: B -> A, D_A (judges F's outputs), D_B (judges G's).

    Args:
        in_channels: channels of domain A (X); linked from the DataModule by ``zoo.fit``.
        out_channels: channels of domain B (Y); linked from the DataModule.
        num_blocks: residual blocks of each generator (9 in the paper for 256 px, 6 for 128 px).
        generator_channels: width of the generators' first layer (64).
        discriminator_channels: width of the discriminators' first layer (64).
        discriminator_layers: stride-2 conv layers of each PatchGAN (3: 70x70 patches).
        norm: ``instance`` (the paper) , ``batch`` or ``none``.
        dropout: dropout 0.5 in the residual blocks (off in the paper).
        lambda_a: weight of the forward cycle ‖F(G(x)) - x‖₁ (λ = 10).
        lambda_b: weight of the backward cycle ‖G(F(y)) - y‖₁ (λ = 10).
        lambda_identity: identity loss weight relative to λ (0.5 in §5.2; 0 disables it;
            needs ``in_channels == out_channels``).
        pool_size: past fakes kept for each discriminator (50; 0 disables the pool).
        n_epochs: epochs at the initial learning rate (100).
        n_epochs_decay: epochs of linear decay to 0 after them (100).
        grid_size: validation inputs shown in the progress grid, each row
            x | G(x) | F(G(x)) | y | F(y) | G(F(y)).
        loss: the GAN terms: ``lsgan`` (the paper), ``bce``, ``hinge`` or ``wgan-gp`` (the last
            needs ``norm`` instance or none: batch norm breaks its per-image penalty).
        settings: the other shared settings (``gp_weight`` of each D, ``r1_weight``: R1 γ/2 ·
            E[‖∇ D(real)‖²] of each D on its real images, ``r1_interval``, ``lr`` (2e-4) and ``betas``
            ((0.5, 0.999)) of all networks, ``gradient_clip_val``): see :class:`~zoo.models.base.GANModule`.
            ``n_critic``, ``lr_decay_start`` and ``ema_decay`` are fixed (:attr:`TranslationGAN.fixed_settings`).
    """

    capabilities = Capabilities("image-to-image", paired_data=False, directions=("AtoB", "BtoA"), exports=("image",))
    ground_truth_always = False
    networks = ("generator", "generator_ba", "discriminator_a", "discriminator_b")
    discriminators = ("discriminator_a", "discriminator_b")
    pretrained_parts = ("generator", "generator_ba")  # G: A -> B and F: B -> A

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        num_blocks: int = 9,
        generator_channels: int = 64,
        discriminator_channels: int = 64,
        discriminator_layers: int = 3,
        norm: Literal["instance", "batch", "none"] = "instance",
        dropout: bool = False,
        lambda_a: float = 10.0,
        lambda_b: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        n_epochs: int = 100,
        n_epochs_decay: int = 100,
        grid_size: int = 8,
        loss: LossName = "lsgan",
        **settings: Any,
    ) -> None:
        super().__init__(loss=loss, **settings)
        for name, value in (("lambda_a", lambda_a), ("lambda_b", lambda_b), ("lambda_identity", lambda_identity)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if lambda_identity > 0 and in_channels != out_channels:
            raise ValueError(
                f"the identity loss feeds domain B to G: A -> B, so it needs in_channels == out_channels "
                f"(got {in_channels} and {out_channels}); set lambda_identity=0"
            )
        # D shares G's norm; batch norm cannot go with the per-image penalty of wgan-gp
        norm = self.discriminator_norm(norm, flag="norm", per_image=("instance", "none"))
        self.generator = ResnetGenerator(in_channels, out_channels, generator_channels, num_blocks, norm=norm, dropout=dropout)
        self.generator_ba = ResnetGenerator(out_channels, in_channels, generator_channels, num_blocks, norm=norm, dropout=dropout)
        self.discriminator_a = PatchDiscriminator(in_channels, discriminator_channels, discriminator_layers, norm=norm)
        self.discriminator_b = PatchDiscriminator(out_channels, discriminator_channels, discriminator_layers, norm=norm)
        for network in (self.generator, self.generator_ba, self.discriminator_a, self.discriminator_b):
            init_weights(network, "normal", 0.02)
        self.networks_built()
        self.pool_a = ImagePool(pool_size)  # past F(y), for D_X
        self.pool_b = ImagePool(pool_size)  # past G(x), for D_Y
        self.released_generator_only = False  # True for a module around one released G (no F)

    # The paper's names for the four networks (through their DDP wrappers when distributed).
    def F(self, y: Tensor) -> Tensor:
        """F: Y -> X (B -> A)."""
        return self.run("generator_ba", y)

    def D_X(self, x: Tensor) -> Tensor:
        """D_X: patch logits, real A vs F's outputs."""
        return self.run("discriminator_a", x)

    def D_Y(self, y: Tensor) -> Tensor:
        """D_Y: patch logits, real B vs G's outputs."""
        return self.run("discriminator_b", y)

    def training_step(self, batch: dict, batch_idx: int) -> None:
        x, y = batch["A"], batch["B"]
        hp = self.hparams
        opt_g, opt_d = self.optimizers()

        # (1) Update G and F (D_X, D_Y frozen): adversarial + cycle (+ identity) losses.
        with self.updating(opt_g):
            fake_b, fake_a = self.G(x), self.F(y)
            cycle_a, cycle_b = self.F(fake_b), self.G(fake_a)
            g_adversarial = self.adversarial.generator(self.D_Y(fake_b)) + self.adversarial.generator(self.D_X(fake_a))
            g_cycle = hp.lambda_a * l1_loss(cycle_a, x) + hp.lambda_b * l1_loss(cycle_b, y)
            g_identity = x.new_zeros(())
            if hp.lambda_identity > 0:
                g_identity = hp.lambda_identity * (
                    hp.lambda_b * l1_loss(self.G(y), y) + hp.lambda_a * l1_loss(self.F(x), x)
                )
            self.backward_step(g_adversarial + g_cycle + g_identity, opt_g)

        # (2) Update D_Y and D_X on real images and pooled past fakes; each objective halved
        #     ("we divide the objective by 2 while optimizing D") [+ the penalties when on].
        with self.updating(opt_d):
            pooled_b, pooled_a = self.pool_b.query(fake_b), self.pool_a.query(fake_a)
            real_b, real_a = self.real_input(y), self.real_input(x)  # require grad on the D steps with R1
            logits_b = self.D_Y(real_b)
            d_loss_b = 0.5 * self.adversarial.discriminator(logits_b, self.D_Y(pooled_b))
            logits_a = self.D_X(real_a)
            d_loss_a = 0.5 * self.adversarial.discriminator(logits_a, self.D_X(pooled_a))
            total_b, penalties_b = self.penalise(
                d_loss_b, real=real_b, real_logits=logits_b, fake=pooled_b, critic=self.D_Y
            )
            total_a, penalties_a = self.penalise(
                d_loss_a, real=real_a, real_logits=logits_a, fake=pooled_a, critic=self.D_X
            )
            self.backward_step(total_a + total_b, opt_d)
        penalties = {f"{k}_a": v for k, v in penalties_a.items()} | {f"{k}_b": v for k, v in penalties_b.items()}
        self.log_losses(
            g_loss=g_adversarial, g_cycle=g_cycle, g_identity=g_identity, d_loss_a=d_loss_a, d_loss_b=d_loss_b,
            **penalties,
        )

    def configure_optimizers(self):
        generators = itertools.chain(self.generator.parameters(), self.generator_ba.parameters())
        discriminators = itertools.chain(self.discriminator_a.parameters(), self.discriminator_b.parameters())
        opt_g, opt_d = self.make_optimizer(generators), self.make_optimizer(discriminators)
        return [opt_g, opt_d], self.epoch_schedulers([opt_g, opt_d])

    # ------------------------------------------------------------------ inference
    def translator(self, direction: str) -> nn.Module:
        self._check_direction(direction)
        return self.generator if direction == "AtoB" else self.generator_ba

    def size_multiple(self, direction: str) -> int:
        return 4  # two stride-2 downsamplings

    def grid_rows(self) -> list[Tensor]:
        """x | G(x) | F(G(x)) | y | F(y) | G(F(y))."""
        fake_b, fake_a = self.translate(self.grid_a), self.translate(self.grid_b, "BtoA")
        return [self.grid_a, fake_b, self.translate(fake_b, "BtoA"), self.grid_b, fake_a, self.translate(fake_a)]

    @property
    def directions(self) -> tuple[str, ...]:
        """Both directions, or ``("AtoB",)`` for a module around one released generator G."""
        return ("AtoB",) if self.released_generator_only else self.capabilities.directions

    @classmethod
    def from_pretrained_generator(cls, generator: nn.Module, network: dict[str, Any]) -> "CycleGAN":
        """A module around one released generator G (``network``: its constructor arguments).
        A released file holds G only, so the module translates ``"AtoB"`` only."""
        module = cls(in_channels=network.get("in_channels", 3), out_channels=network.get("out_channels", 3),
                     num_blocks=network.get("num_blocks", 9))  # the network's own defaults where not declared
        module.released_generator_only = True
        module.generator = generator
        return module

    # --------------------------------------------------------- checkpoint extras
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["image_pools"] = {"a": self.pool_a.state_dict(), "b": self.pool_b.state_dict()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        pools = checkpoint.get("image_pools")
        if pools:  # a resumed run continues with the same history of fakes
            self.pool_a.load_state_dict(pools["a"])
            self.pool_b.load_state_dict(pools["b"])
