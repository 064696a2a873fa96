"""Image-to-image networks of CycleGAN and pix2pix: two generators and the PatchGAN.

* :class:`ResnetGenerator` — Johnson, Alahi & Fei-Fei, "Perceptual Losses for
  Real-Time Style Transfer and Super-Resolution", ECCV 2016 (arXiv:1603.08155),
  as used by CycleGAN: Zhu, Park, Isola & Efros, "Unpaired Image-to-Image
  Translation using Cycle-Consistent Adversarial Networks", ICCV 2017
  (arXiv:1703.10593), appendix 7.2: ``c7s1-64, d128, d256, R256 x 9, u128, u64, c7s1-3``.
* :class:`UnetGenerator` — Isola, Zhu, Zhou & Efros, "Image-to-Image Translation
  with Conditional Adversarial Networks", CVPR 2017 (arXiv:1611.07004), §3.2.1
  and appendix 6.1.1: encoder ``C64-C128-C256-C512-C512-C512-C512-C512``, a
  decoder that mirrors it, skip connections between mirrored layers.
* :class:`PatchDiscriminator` — the same paper's PatchGAN (§3.2.2, appendix
  6.1.2): one real/fake logit per overlapping N x N patch, 70 x 70 by default.

The layers, their order and the use of biases are exactly those of the authors'
PyTorch reference (``models/networks.py`` of junyanz/pytorch-CycleGAN-and-pix2pix),
so that the generators they released load one-to-one (:mod:`zoo.weights`); each
generator's :meth:`reference_names` says which of our layers is which of theirs.
Like the reference, convolutions followed by a normalisation layer have a bias
only when that normalisation is instance norm (batch norm's shift makes a bias
redundant; the reference applies the same rule with ``norm="none"``).

Normalisation (:func:`translation_norm`) follows the reference too: batch norm
is affine with running statistics, instance norm has neither (``affine=False``,
no running statistics), so the statistics of each image are always its own.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

import torch
from torch import Tensor, nn

from zoo.nn.init import init_weights

TranslationNorm = Literal["batch", "instance", "none"]
Padding = Literal["reflect", "replicate", "zero"]

NORMS = ("batch", "instance", "none")
PADDINGS = ("reflect", "replicate", "zero")


def translation_norm(name: TranslationNorm, channels: int) -> nn.Module:
    """A normalisation layer as the CycleGAN / pix2pix reference builds it.

    ``batch``: affine, with running statistics. ``instance``: no affine
    parameters, no running statistics (unlike :func:`zoo.nn.dcgan.norm_layer`'s
    affine instance norm). ``none``: identity.
    """
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {name!r}; valid choices: {', '.join(NORMS)}")


def _check_choice(what: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid choices: {', '.join(valid)}")


def _padding_layer(padding: Padding, size: int) -> nn.Module | None:
    """The explicit padding layer before a convolution (``None`` for zero padding, done by the conv)."""
    if padding == "reflect":
        return nn.ReflectionPad2d(size)
    if padding == "replicate":
        return nn.ReplicationPad2d(size)
    return None


def _leaves(prefix: str, module: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(dotted name, layer)`` of the layers inside nested Sequentials, in forward order."""
    if not isinstance(module, nn.Sequential):
        return [(prefix, module)]
    return [leaf for name, child in module.named_children() for leaf in _leaves(f"{prefix}.{name}", child)]


# --- ResNet generator (Johnson et al. 2016; CycleGAN) ------------------------------


class ResidualBlock(nn.Module):
    """``R{channels}``: x + [pad, conv3x3, norm, ReLU, (dropout), pad, conv3x3, norm](x).

    CycleGAN appendix 7.2: "a residual block that contains two 3 x 3 convolutional
    layers with the same number of filters on both layer". The layers of ``body``
    are in the reference's ``conv_block`` order, so index ``j`` of ``body`` is the
    reference's ``conv_block.j``.
    """

    def __init__(self, channels: int, norm: TranslationNorm, dropout: bool, padding: Padding) -> None:
        super().__init__()
        bias = norm == "instance"
        conv_padding = 1 if padding == "zero" else 0
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i in (1, 2):
            pad = _padding_layer(padding, 1)
            if pad is not None:
                layers[f"pad{i}"] = pad
            layers[f"conv{i}"] = nn.Conv2d(channels, channels, 3, padding=conv_padding, bias=bias)
            layers[f"norm{i}"] = translation_norm(norm, channels)
            if i == 1:
                layers["act"] = nn.ReLU(inplace=True)
                if dropout:
                    layers["dropout"] = nn.Dropout(0.5)
        self.body = nn.Sequential(layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _conv_norm_relu(conv: nn.Module, norm: TranslationNorm, channels: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict(conv=conv, norm=translation_norm(norm, channels), act=nn.ReLU(inplace=True)))


class ResnetGenerator(nn.Module):
    """G(x) -> image in [-1, 1] with the input's size: the CycleGAN generator.

    Layers (CycleGAN appendix 7.2, with ``base_channels`` = 64 and 9 blocks):

    * ``stem``: ``c7s1-64`` — reflection pad 3, 7x7 conv, norm, ReLU.
    * ``down``: ``d128, d256`` — 3x3 stride-2 convs, norm, ReLU.
    * ``blocks``: ``R256`` x ``num_blocks`` (:class:`ResidualBlock`).
    * ``up``: ``u128, u64`` — 3x3 stride-1/2 (transposed) convs, norm, ReLU.
    * ``head``: ``c7s1-out`` — reflection pad 3, 7x7 conv (with bias), Tanh.

    The paper uses 6 blocks for 128 x 128 images and 9 for 256 x 256 and above;
    the released models all use 9 and instance norm. Any height and width
    divisible by 4 work (two stride-2 stages).

    Args:
        in_channels: channels of the input image x.
        out_channels: channels of the output image G(x).
        base_channels: width of ``c7s1``; the two ``d`` stages double it (``ngf``).
        num_blocks: number of residual blocks (``n_blocks``).
        norm: ``"instance"`` (CycleGAN), ``"batch"`` or ``"none"``.
        dropout: dropout(0.5) inside each residual block (off in CycleGAN).
        padding: padding of the residual blocks' convs: ``"reflect"`` (the paper's,
            against border artefacts), ``"replicate"`` or ``"zero"``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        num_blocks: int = 9,
        norm: TranslationNorm = "instance",
        dropout: bool = False,
        padding: Padding = "reflect",
    ) -> None:
        super().__init__()
        _check_choice("norm", norm, NORMS)
        _check_choice("padding", padding, PADDINGS)
        if num_blocks < 0:
            raise ValueError(f"num_blocks must be >= 0, got {num_blocks}")
        bias = norm == "instance"
        c = base_channels
        self.stem = nn.Sequential(
            OrderedDict(
                pad=nn.ReflectionPad2d(3),
                conv=nn.Conv2d(in_channels, c, 7, bias=bias),
                norm=translation_norm(norm, c),
                act=nn.ReLU(inplace=True),
            )
        )
        self.down = nn.Sequential(
            _conv_norm_relu(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias), norm, 2 * c),
            _conv_norm_relu(nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1, bias=bias), norm, 4 * c),
        )
        self.blocks = nn.Sequential(*(ResidualBlock(4 * c, norm, dropout, padding) for _ in range(num_blocks)))
        self.up = nn.Sequential(
            _conv_norm_relu(nn.ConvTranspose2d(4 * c, 2 * c, 3, 2, 1, output_padding=1, bias=bias), norm, 2 * c),
            _conv_norm_relu(nn.ConvTranspose2d(2 * c, c, 3, 2, 1, output_padding=1, bias=bias), norm, c),
        )
        self.head = nn.Sequential(
            OrderedDict(pad=nn.ReflectionPad2d(3), conv=nn.Conv2d(c, out_channels, 7), tanh=nn.Tanh())
        )
        init_weights(self, "normal", 0.02)

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        if height % 4 or width % 4:
            raise ValueError(f"ResnetGenerator needs a height and width divisible by 4, got {height}x{width}")
        return self.head(self.up(self.blocks(self.down(self.stem(x)))))

    def reference_names(self) -> dict[str, str]:
        """Our layer names -> the reference ``ResnetGenerator``'s.

        The reference keeps every layer in one flat ``model`` Sequential, in our
        forward order: ``stem`` is ``model.0``-``model.3``, ``down`` ``model.4``-
        ``model.9``, the residual blocks ``model.10`` onwards (their inner layers
        ``model.{i}.conv_block.{j}``), then ``up`` and ``head``.
        """
        slots = [
            *_leaves("stem", self.stem),
            *_leaves("down", self.down),
            *((f"blocks.{i}", block) for i, block in enumerate(self.blocks)),
            *_leaves("up", self.up),
            *_leaves("head", self.head),
        ]
        names: dict[str, str] = {}
        for index, (name, layer) in enumerate(slots):
            names[name] = f"model.{index}"
            if isinstance(layer, ResidualBlock):
                for j, (child, _) in enumerate(layer.body.named_children()):
                    names[f"{name}.body.{child}"] = f"model.{index}.conv_block.{j}"
        return names


# --- U-Net generator (pix2pix) -------------------------------------------------------


class UnetGenerator(nn.Module):
    """G(x) -> image in [-1, 1] with the input's size: the pix2pix U-Net.

    ``num_downs`` levels k = 0 .. L (L = ``num_downs`` - 1), each halving the
    resolution; ``encoder[k]`` goes down, ``decoder[k]`` comes back up, and every
    ``decoder[k]`` but the bottleneck's (k = L) reads the concatenation
    ``[encoder[k] output, decoder[k+1] output]`` (pix2pix §3.2.1, "skip
    connections between each layer i and layer n - i"). With ``base_channels``
    = 64 and ``num_downs`` = 8 (the reference's ``unet_256``):

    * encoder (pix2pix appendix 6.1.1 ``C64-C128-C256-C512-C512-C512-C512-C512``):
      4x4 stride-2 conv, norm (not on the first level nor the bottleneck), then
      LeakyReLU(0.2) (not on the bottleneck, which is followed by the decoder's ReLU);
    * decoder: ReLU, 4x4 stride-2 transposed conv, norm, and dropout(0.5) on the
      levels 4 .. L-1; the last level (k = 0) maps to ``out_channels`` with a
      biased transposed conv and Tanh instead of norm.

    Dropout is G's only noise source (pix2pix §3.1: "we provide noise only in the
    form of dropout, applied on several layers of our generator at both training
    and test time"). The paper lists it on the first three decoder layers; the
    reference code, which trained the released weights, puts it on the 8x-wide
    levels between the bottleneck and the 4x-wide level — 3 layers for
    ``num_downs`` = 8, none for 5 — and so do we.

    The skip connections carry the encoder features after their LeakyReLU (in
    the reference an in-place LeakyReLU rewrites the tensor that is then
    concatenated); as every decoder level starts with a ReLU and
    ReLU(LeakyReLU(s)) = ReLU(s), this is the same function as skipping the
    features before it.

    Args:
        in_channels: channels of the input image x.
        out_channels: channels of the output image G(x).
        num_downs: number of stride-2 levels (>= 5); input sides must be divisible
            by ``2 ** num_downs`` (7: 128 x 128 -> 1 x 1, 8: 256 x 256 -> 1 x 1).
        base_channels: width of the first level (``ngf``); it doubles per level up to 8x.
        norm: ``"batch"`` (pix2pix), ``"instance"`` or ``"none"``.
        dropout: dropout(0.5) in the decoder as above (on in pix2pix).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        num_downs: int = 8,
        base_channels: int = 64,
        norm: TranslationNorm = "batch",
        dropout: bool = True,
    ) -> None:
        super().__init__()
        _check_choice("norm", norm, NORMS)
        if num_downs < 5:
            raise ValueError(f"num_downs must be >= 5 (the reference's smallest U-Net), got {num_downs}")
        self.num_downs = num_downs
        bias = norm == "instance"
        last = num_downs - 1
        widths = [base_channels * min(2**k, 8) for k in range(num_downs)]  # encoder[k] output channels
        encoder, decoder = [], []
        for k in range(num_downs):
            c_in = in_channels if k == 0 else widths[k - 1]
            down: OrderedDict[str, nn.Module] = OrderedDict(conv=nn.Conv2d(c_in, widths[k], 4, 2, 1, bias=bias))
            if 0 < k < last:
                down["norm"] = translation_norm(norm, widths[k])
            if k < last:
                down["act"] = nn.LeakyReLU(0.2, inplace=True)
            encoder.append(nn.Sequential(down))

            up_in = widths[k] if k == last else 2 * widths[k]
            up: OrderedDict[str, nn.Module] = OrderedDict(act=nn.ReLU(inplace=True))
            if k == 0:
                up["conv"] = nn.ConvTranspose2d(up_in, out_channels, 4, 2, 1)
                up["tanh"] = nn.Tanh()
            else:
                up["conv"] = nn.ConvTranspose2d(up_in, c_in, 4, 2, 1, bias=bias)
                up["norm"] = translation_norm(norm, c_in)
                if dropout and 4 <= k < last:
                    up["dropout"] = nn.Dropout(0.5)
            decoder.append(nn.Sequential(up))
        self.encoder = nn.ModuleList(encoder)
        self.decoder = nn.ModuleList(decoder)
        init_weights(self, "normal", 0.02)

    def forward(self, x: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        factor = 2**self.num_downs
        if height % factor or width % factor:
            raise ValueError(
                f"UnetGenerator with num_downs={self.num_downs} needs a height and width divisible by "
                f"2**{self.num_downs} = {factor}, got {height}x{width}"
            )
        skips = []
        h = x
        for down in self.encoder:
            h = down(h)
            skips.append(h)
        h = self.decoder[-1](skips.pop())  # the bottleneck
        for k in reversed(range(len(skips))):
            h = self.decoder[k](torch.cat([skips[k], h], dim=1))
        return h

    def reference_names(self) -> dict[str, str]:
        """Our layer names -> the reference ``UnetGenerator``'s nested blocks.

        The reference nests one ``UnetSkipConnectionBlock`` per level: level k's
        layers live in ``model.model`` (k = 0) or ``model.model.1`` +
        ``.model.3`` x (k - 1) + ``.model``, numbered in order: outermost
        ``[down conv, (level 1), ReLU, up conv, Tanh]``, middle ``[LeakyReLU,
        down conv, down norm, (level k+1), ReLU, up conv, up norm, (dropout)]``,
        innermost ``[LeakyReLU, down conv, ReLU, up conv, up norm]``.
        """
        last = self.num_downs - 1
        names: dict[str, str] = {}
        for k in range(self.num_downs):
            block = "model.model" if k == 0 else "model.model.1" + ".model.3" * (k - 1) + ".model"
            if k == 0:
                positions = {"encoder.0.conv": 0, "decoder.0.conv": 3}
            elif k == last:
                positions = {f"encoder.{k}.conv": 1, f"decoder.{k}.conv": 3, f"decoder.{k}.norm": 4}
            else:
                positions = {
                    f"encoder.{k}.conv": 1, f"encoder.{k}.norm": 2, f"decoder.{k}.conv": 5, f"decoder.{k}.norm": 6
                }
            names.update({ours: f"{block}.{position}" for ours, position in positions.items()})
        return names


# --- PatchGAN discriminator (pix2pix) ------------------------------------------------


def patch_receptive_field(num_layers: int = 3) -> int:
    """Side N of the N x N input patch seen by one output logit of :class:`PatchDiscriminator`.

    ``num_layers`` stride-2 4x4 convs then two stride-1 4x4 convs: 1 -> 16
    (pix2pix's 16 x 16 PatchGAN), 3 -> 70 (its 70 x 70), 5 -> 286 (its 286 x 286).
    """
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}")
    field = 1
    for stride in [1, 1] + [2] * num_layers:  # from the output back to the input
        field = (field - 1) * stride + 4
    return field


class PatchDiscriminator(nn.Module):
    """D(x) -> raw logits of shape (B, 1, H', W'), one per overlapping N x N patch.

    pix2pix appendix 6.1.2, 70 x 70 discriminator ``C64-C128-C256-C512`` then a
    1-channel conv: 4x4 convs with LeakyReLU(0.2), no norm on the first layer,
    the first ``num_layers`` with stride 2, the last two with stride 1 (as the
    reference). Widths double per layer up to 8 x ``base_channels``. For
    conditional D (pix2pix) pass ``in_channels`` = channels of x + channels of y
    and feed ``torch.cat([x, y], 1)``. The receptive field is
    :func:`patch_receptive_field` (``num_layers`` = 3: 70 x 70).

    Args:
        in_channels: channels of D's input.
        base_channels: width of the first conv (``ndf``).
        num_layers: number of stride-2 convs (``n_layers_D``): 3 -> 70 x 70 patches.
        norm: ``"batch"`` (pix2pix), ``"instance"`` (CycleGAN) or ``"none"``.
    """

    def __init__(
        self, in_channels: int, base_channels: int = 64, num_layers: int = 3, norm: TranslationNorm = "batch"
    ) -> None:
        super().__init__()
        _check_choice("norm", norm, NORMS)
        self.receptive_field = patch_receptive_field(num_layers)  # also checks num_layers >= 1
        bias = norm == "instance"
        width = [base_channels * min(2**n, 8) for n in range(num_layers + 1)]
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width[0], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for n in range(1, num_layers + 1):
            stride = 2 if n < num_layers else 1
            layers += [
                nn.Conv2d(width[n - 1], width[n], 4, stride, 1, bias=bias),
                translation_norm(norm, width[n]),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        self.features = nn.Sequential(*layers)
        self.logits = nn.Conv2d(width[-1], 1, 4, 1, 1)
        init_weights(self, "normal", 0.02)

    def forward(self, x: Tensor) -> Tensor:
        return self.logits(self.features(x))
