"""Plain-torch networks: they know nothing of training and never import Lightning."""

from zoo.nn.dcgan import DCGANDiscriminator, DCGANGenerator, norm_layer, resolution_plan
from zoo.nn.init import init_weights

__all__ = ["DCGANGenerator", "DCGANDiscriminator", "init_weights", "norm_layer", "resolution_plan"]
