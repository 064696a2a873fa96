"""One file per variant; importing this package registers them all (``zoo.registry.MODELS``)."""

from zoo.models.acgan import ACGAN
from zoo.models.base import GANModule
from zoo.models.biggan import BigGAN
from zoo.models.capabilities import Capabilities
from zoo.models.cgan import CGAN
from zoo.models.cyclegan import CycleGAN
from zoo.models.dcgan import DCGAN
from zoo.models.gan import GAN
from zoo.models.infogan import InfoGAN
from zoo.models.pix2pix import Pix2Pix
from zoo.models.progan import ProGAN
from zoo.models.sampling import ClassConditionalGAN, SamplingGAN
from zoo.models.sgan import SGAN
from zoo.models.translation import TranslationGAN

__all__ = ["GANModule", "SamplingGAN", "ClassConditionalGAN", "TranslationGAN", "Capabilities", "CGAN", "ACGAN", "DCGAN", "SGAN", "InfoGAN", "GAN", "Pix2Pix", "CycleGAN", "ProGAN", "BigGAN"]
