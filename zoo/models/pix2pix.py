"""Pix2Pix: image-to-image translation with a conditional adversarial network.

Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017 (arXiv:1611.07004).

G learns a mapping from an observed image x (and dropout noise z) to y; D is
conditioned on x and judges pairs, per 70x70 patch. The objective (paper Eq. 4) is

    G* = arg min_G max_D  L_cGAN(G, D) + λ L_L1(G),
    L_cGAN(G, D) = E_{x,y}[log D(x, y)] + E_{x,z}[log(1 - D(x, G(x, z)))],
    L_L1(G) = E_{x,y,z}[‖y - G(x, z)‖₁],   λ = 100.

Code names -> paper symbols:

* ``batch["A"]`` is x (input), ``batch["B"]`` is y (target); ``--data.direction BtoA`` swaps them.
* ``self.generator`` / ``self.G(x)``: G(x, z), the U-Net of §3.2.1 (skip connections
  between mirrored layers); z is the dropout of its decoder, on at training time (§3.1).
  ``generator="resnet_9blocks"`` uses CycleGAN's ResNet generator instead.
* ``self.discriminator`` / ``self.D(x, y)``: D(x, y), the PatchGAN of §3.2.2 on the
  channel-concatenation [x, y]; one logit per patch (70x70 receptive field for
  ``discriminator_layers=3``).
* ``d_real``, ``d_fake``: the two terms of D's adversarial loss, ℓ(D(x, y), real) and
  ℓ(D(x, G(x)), fake) (``self.adversarial.discriminator_terms``); ℓ is BCE for ``loss="bce"``
  (the paper), squared error for ``"lsgan"`` (:func:`~zoo.models.translation.image_to_image_loss`),
  or the hinge / WGAN terms.
* ``d_loss``: ½(d_real + d_fake): "we divide the objective by 2 while optimizing D, which
  slows down the rate at which D learns relative to G" (§3.3). D minimises ``d_loss`` plus
  the penalties of ``self.penalise`` (not halved): with ``wgan-gp`` the gradient penalty
  E[(‖∇_ŷ D(x, ŷ)‖₂ - 1)²] at ŷ = εy + (1 - ε)G(x), and with ``r1_weight`` > 0 the R1 penalty
  ‖∇_y D(x, y)‖² at the real pair. Both differentiate with respect to the target side only:
  x is D's condition, as the label is cGAN's, and G cannot move it.
* ``g_adversarial``: ℓ(D(x, G(x)), real), the non-saturating form of maximising
  log D(x, G(x, z)) (§3.3); ``g_l1``: L_L1; G minimises ``g_adversarial + lambda_l1 * g_l1``.

Optimisation (§3.3, reference code): one D step then one G step per batch on the same G(x),
Adam(lr 2e-4, β = (0.5, 0.999)), constant LR for ``n_epochs`` then linear decay to 0
over ``n_epochs_decay`` (100 + 100 in the reference code), N(0, 0.02) initialisation.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import Tensor, nn

from zoo.losses import l1_loss
from zoo.models.translation import TranslationGAN
from zoo.nn.diffaugment import GEOMETRIC
from zoo.nn.init import init_weights
from zoo.nn.translation import PatchDiscriminator, ResnetGenerator, UnetGenerator
from zoo.registry import register_model
from zoo.weights import PretrainedWeights, packaged_weights

# --- packaged weights (re-created by `python -m benchmarks.pretrained --model pix2pix`) ---------------------
PACKAGED_WEIGHTS: tuple[PretrainedWeights, ...] = (
    packaged_weights(
        'pix2pix', 'digit_outlines', sha256='26d61546606ea3e3bd737f2426563c1fc37817eed1961754bbcd5446b40c3aa2',
        kwargs={'in_channels': 1,
                'out_channels': 1,
                'image_size': 32,
                'generator_channels': 16,
                'n_epochs': 11,
                'n_epochs_decay': 11},
        direction='digit outline -> filled digit (32x32)',
        metrics={'l1': 0.0459, 'psnr': 28.9661, 'ssim': 0.9345, 'identity_accuracy': 0.9665},
        protocol='translation',
    ),
)

GeneratorName = Literal["unet", "resnet_9blocks", "resnet_6blocks"]

# --- the authors' released generators -------------------------------------------------
# Names and URLs from the reference repository's scripts/download_pix2pix_model.sh
# (junyanz/pytorch-CycleGAN-and-pix2pix). Each file is the state dict of net_G: unet_256
# (8 levels) with batch norm, 3 -> 3 channels, dropout (its pix2pix defaults
# --netG unet_256 --norm batch; scripts/test_single.sh passes the same).
RELEASED_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{name}.pth"
RELEASED_NETWORK = {"in_channels": 3, "out_channels": 3, "num_downs": 8, "base_channels": 64,
                    "norm": "batch", "dropout": True}
RELEASED_WEIGHTS: tuple[PretrainedWeights, ...] = tuple(
    PretrainedWeights("pix2pix", name, RELEASED_URL.format(name=name), UnetGenerator, RELEASED_NETWORK, direction)
    for name, direction in (
        ("edges2shoes", "edge map -> shoe photo (UT Zappos50K)"),
        ("sat2map", "satellite photo -> Google map (maps)"),
        ("map2sat", "Google map -> satellite photo (maps)"),
        ("facades_label2photo", "label map -> facade photo (CMP Facades)"),
        ("day2night", "daytime photo -> night photo (Laffont et al. webcams)"),
    )
)
WEIGHTS = (*PACKAGED_WEIGHTS, *RELEASED_WEIGHTS)


def unet_depth(image_size: int, max_depth: int = 8) -> int:
    """Number of U-Net downsamplings for ``image_size``: log2 of it (1x1 bottleneck), at most ``max_depth``.

    256 -> 8 (the paper's U-Net), 128 -> 7, 32 -> 5. The side must be a multiple of 2**depth.
    """
    if image_size < 2:
        raise ValueError(f"image_size must be >= 2, got {image_size}")
    return max(1, min(max_depth, int(math.log2(image_size))))


def build_generator(
    name: str, in_channels: int, out_channels: int, image_size: int, channels: int, norm: str, dropout: bool
) -> tuple[nn.Module, int]:
    """The generator called ``name`` and the multiple its input sides must have."""
    if name == "unet":
        depth = unet_depth(image_size)
        return UnetGenerator(in_channels, out_channels, depth, channels, norm=norm, dropout=dropout), 2**depth
    if name in ("resnet_9blocks", "resnet_6blocks"):
        blocks = 9 if name == "resnet_9blocks" else 6
        return ResnetGenerator(in_channels, out_channels, channels, blocks, norm=norm, dropout=dropout), 4
    raise ValueError(f"unknown generator {name!r}; valid choices: unet, resnet_9blocks, resnet_6blocks")


@register_model(
    "pix2pix",
    default_data="digit_outlines",
    # The embedded 32x32 outline -> digit task: the paper's networks (a 5-level U-Net at 32 px) and
    # its schedule squeezed into 2000 iterations (89 per epoch): 11 epochs constant, 11 of decay.
    recipe={"model.n_epochs": 11, "model.n_epochs_decay": 11, "trainer.max_steps": 2000},
    weights=WEIGHTS,
    summary="Pix2Pix (Isola et al. 2017): U-Net + PatchGAN, paired",
)
class Pix2Pix(TranslationGAN):
    """Pix2Pix: G(x) with a PatchGAN D(x, y) and an L1 term.

    Args:
        in_channels: channels of x (input side); linked from the DataModule by ``zoo.fit``.
        out_channels: channels of y (target side); linked from the DataModule.
        image_size: training crop side; sets the U-Net depth (log2, at most 8) and is
            linked from the DataModule. Inference works at other sizes (see ``translate``).
        generator: ``unet`` (the paper's), ``resnet_9blocks`` or ``resnet_6blocks``.
        generator_channels: width of G's first layer (64 in the paper, "C64").
        discriminator_channels: width of D's first layer.
        discriminator_layers: stride-2 conv layers of the PatchGAN (3: 70x70 patches; 0
            would be a per-pixel "PixelGAN", §4.4).
        norm: ``batch`` (the paper; with batch size 1 it acts as instance norm), ``instance`` or ``none``.
        dropout: dropout 0.5 in the U-Net decoder's three innermost blocks, the noise z (§3.1).
        lambda_l1: λ, the weight of the L1 term (100 in the paper).
        n_epochs: epochs at the initial learning rate.
        n_epochs_decay: epochs of linear decay to 0 after them (0 keeps the LR constant).
        grid_size: validation inputs shown in the progress grid (rows of x | G(x) | y).
        settings: the shared settings (``loss``: the GAN terms, ``bce`` as the paper, ``lsgan``, ``hinge``
            or ``wgan-gp``, which needs ``norm`` instance or none since batch norm breaks its per-image
            penalty; ``gp_weight``; ``r1_weight``: R1 γ/2 · E[‖∇_y D(x, y)‖²] on the real pairs;
            ``r1_interval``; ``lr`` (2e-4); ``betas`` ((0.5, 0.999)); ``gradient_clip_val``): see
            :class:`~zoo.models.base.GANModule`. ``n_critic``, ``lr_decay_start`` and ``ema_decay``
            are fixed (:attr:`TranslationGAN.fixed_settings`).
    """

    #: D sees the input and the output concatenated along the channels: colour ops would mix the two images
    diffaugment_policies = GEOMETRIC

    @classmethod
    def diffaugment_reason(cls) -> str:
        return ("pix2pix's D sees the input and the output concatenated along the channels, which colour "
                "augmentation would mix; translation and cutout move both halves alike")

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        image_size: int = 256,
        generator: GeneratorName = "unet",
        generator_channels: int = 64,
        discriminator_channels: int = 64,
        discriminator_layers: int = 3,
        norm: Literal["batch", "instance", "none"] = "batch",
        dropout: bool = True,
        lambda_l1: float = 100.0,
        n_epochs: int = 100,
        n_epochs_decay: int = 100,
        grid_size: int = 8,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        if lambda_l1 < 0:
            raise ValueError(f"lambda_l1 must be >= 0, got {lambda_l1}")
        # D shares G's norm; batch norm cannot go with the per-image penalty of wgan-gp
        norm = self.discriminator_norm(norm, flag="norm", per_image=("instance", "none"))
        self.generator, self._size_multiple = build_generator(
            generator, in_channels, out_channels, image_size, generator_channels, norm, dropout
        )
        self.discriminator = PatchDiscriminator(
            in_channels + out_channels, discriminator_channels, discriminator_layers, norm=norm
        )
        init_weights(self.generator, "normal", 0.02)
        init_weights(self.discriminator, "normal", 0.02)
        self.networks_built()

    def training_step(self, batch: dict, batch_idx: int) -> None:
        x, y = batch["A"], batch["B"]
        opt_g, opt_d = self.optimizers()
        fake = self.G(x)  # G(x, z): z is the decoder's dropout

        # (1) Update D: maximise L_cGAN on real pairs (x, y) and fake pairs (x, G(x)); objective halved
        #     [+ the penalties when on, with respect to the target side: x is the condition].
        with self.updating(opt_d):
            real = self.real_input(y)  # requires grad on the D steps that compute R1
            real_logits = self.D(torch.cat([x, real], 1))
            d_real, d_fake = self.adversarial.discriminator_terms(real_logits, self.D(torch.cat([x, fake.detach()], 1)))
            d_loss = 0.5 * (d_real + d_fake)  # "we divide the objective by 2 while optimizing D" (§3.3)
            d_total, penalties = self.penalise(
                d_loss, real=real, real_logits=real_logits, fake=fake.detach(),
                critic=lambda target: self.D(torch.cat([x, target], 1)),
            )
            self.backward_step(d_total, opt_d)

        # (2) Update G: fool D on (x, G(x)) and stay close to y in L1.
        with self.updating(opt_g):
            g_adversarial = self.adversarial.generator(self.D(torch.cat([x, fake], 1)))
            g_l1 = l1_loss(fake, y)
            self.backward_step(g_adversarial + self.hparams.lambda_l1 * g_l1, opt_g)
        self.log_losses(d_loss=d_loss, d_real=d_real, d_fake=d_fake, **penalties, g_loss=g_adversarial, g_l1=g_l1)

    def configure_optimizers(self):
        opt_g, opt_d = self.make_optimizer(self.generator.parameters()), self.make_optimizer(self.discriminator.parameters())
        return [opt_g, opt_d], self.epoch_schedulers([opt_g, opt_d])

    # ------------------------------------------------------------------ inference
    @classmethod
    def from_pretrained_generator(cls, generator: nn.Module, network: dict) -> "Pix2Pix":
        """A module around one released U-Net (``network``: its constructor arguments)."""
        module = cls(in_channels=network.get("in_channels", 3), out_channels=network.get("out_channels", 3),
                     image_size=2 ** network.get("num_downs", 8))  # the network's own defaults where not declared
        module.generator = generator
        return module

    def translator(self, direction: str) -> nn.Module:
        self._check_direction(direction)
        return self.generator

    def size_multiple(self, direction: str) -> int:
        return self._size_multiple

    def grid_rows(self) -> list[Tensor]:
        """x | G(x) | y."""
        return [self.grid_a, self.translate(self.grid_a), self.grid_b]
