"""Plain-torch networks: they know nothing of training and never import Lightning."""

from zoo.nn.dcgan import DCGANDiscriminator, DCGANGenerator, norm_layer, resolution_plan
from zoo.nn.init import init_weights
from zoo.nn.translation import (
    PatchDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    patch_receptive_field,
    translation_norm,
)

__all__ = [
    "DCGANDiscriminator",
    "DCGANGenerator",
    "PatchDiscriminator",
    "ResnetGenerator",
    "UnetGenerator",
    "init_weights",
    "norm_layer",
    "patch_receptive_field",
    "resolution_plan",
    "translation_norm",
]
