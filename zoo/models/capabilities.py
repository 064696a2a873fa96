"""What a model is and can do, declared once on its class and read by every entry point.

Each model class sets :attr:`~zoo.models.base.GANModule.capabilities` to a
:class:`Capabilities` record. ``zoo.fit`` reads it to refuse data the model cannot train on
before any work, ``zoo.sample`` / ``zoo.export`` / ``zoo.translate`` to decide what they can
do with a model, the metrics callback to choose between generated and translated images, and
``benchmarks.run`` / ``hubconf`` to describe the model. Nothing asks a model object whether it
happens to have a method (``hasattr``): the class says it, once, where a type checker sees it
(the habit of torchvision's weights enums and Lightning's hooks: declared, not probed).

    >>> from zoo.models import CGAN
    >>> CGAN.capabilities.task, CGAN.capabilities.conditions
    ('class-conditional', ('labels',))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

#: What a model does with its inputs.
Task = Literal[
    "unconditional",  # G(z): dcgan, gan, sgan, progan (unconditional form)
    "class-conditional",  # G(z, y) with a class label y: cgan, acgan, biggan, conditional progan
    "code-conditional",  # G(z, c) with latent codes c: infogan
    "image-to-image",  # G(x): pix2pix, cyclegan (translate(), not sample())
    "inpainting",  # G(x, mask): context encoder (inpaint())
    "text-conditional",  # G(z, text): stackgan
]
TASKS: tuple[str, ...] = get_args(Task)

#: The tasks whose models make images from noise (``sample(n, ...)``): ``SamplingGAN`` subclasses.
SAMPLING_TASKS = ("unconditional", "class-conditional", "code-conditional", "text-conditional")


@dataclass(frozen=True)
class Capabilities:
    """The declaration of one model class.

    Attributes:
        task: what the model does (:data:`Task`).
        conditions: the keyword conditions ``sample()`` takes besides ``n`` and ``noise``
            (``("labels",)`` for cgan / acgan, ``("codes",)`` for InfoGAN, ``()`` when
            unconditional); any other keyword is a ``ValueError`` naming these.
        needs_labels: trains on labelled data only (``zoo.fit`` refuses unlabelled data
            before any work, naming the labelled data sets).
        paired_data: image-to-image models only: trains on aligned pairs (pix2pix, ``True``)
            or on two unpaired domains (cyclegan, ``False``); ``None`` for every other task.
        directions: image-to-image models only: the directions ``translate()`` serves
            (``"AtoB"``: the trained generator; ``"BtoA"``: CycleGAN's inverse F).
        exports: the named inputs of the exported generator (``zoo.export``), e.g.
            ``("noise", "labels")``; ``("image",)`` for image-to-image models.
    """

    task: Task
    conditions: tuple[str, ...] = ()
    needs_labels: bool = False
    paired_data: bool | None = None
    directions: tuple[str, ...] = ()
    exports: tuple[str, ...] = ("noise",)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; valid choices: {', '.join(TASKS)}")
        translates = self.task == "image-to-image"
        if translates != (self.paired_data is not None) or translates != bool(self.directions):
            raise ValueError("paired_data and directions are declared by (and only by) image-to-image models")

    @property
    def samples(self) -> bool:
        """Whether the model makes images from noise (``sample(n, ...)``)."""
        return self.task in SAMPLING_TASKS

    @property
    def translates(self) -> bool:
        """Whether the model maps an image to an image (``translate(images)``)."""
        return self.task == "image-to-image"

    @property
    def class_conditional(self) -> bool:
        """Whether ``sample()`` takes ``labels=`` (the class-conditional metrics then apply)."""
        return "labels" in self.conditions
