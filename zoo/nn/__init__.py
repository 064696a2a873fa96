"""Plain-torch networks: they know nothing of training and never import Lightning."""

from zoo.nn.blocks import ConditionalBatchNorm2d, ResBlockDown, ResBlockUp, SelfAttention, apply_spectral_norm
from zoo.nn.dcgan import DCGANDiscriminator, DCGANGenerator, norm_layer, resolution_plan
from zoo.nn.diffaugment import DiffAugment
from zoo.nn.equalized import EqualizedConv2d, EqualizedLinear
from zoo.nn.init import init_weights
from zoo.nn.progan import ProGANDiscriminator, ProGANGenerator
from zoo.nn.progan_layers import MinibatchStdDev, PixelNorm, downsample_to, fade_reals, feature_counts, resolutions
from zoo.nn.translation import (
    PatchDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    patch_receptive_field,
    translation_norm,
)

__all__ = [
    "ConditionalBatchNorm2d",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "DiffAugment",
    "EqualizedConv2d",
    "EqualizedLinear",
    "MinibatchStdDev",
    "PatchDiscriminator",
    "PixelNorm",
    "ProGANDiscriminator",
    "ProGANGenerator",
    "ResBlockDown",
    "ResBlockUp",
    "ResnetGenerator",
    "SelfAttention",
    "UnetGenerator",
    "apply_spectral_norm",
    "downsample_to",
    "fade_reals",
    "feature_counts",
    "init_weights",
    "norm_layer",
    "patch_receptive_field",
    "resolution_plan",
    "resolutions",
    "translation_norm",
]
