"""``SamplingGAN``: the GANs that make images from noise (the sibling of ``TranslationGAN``).

One sampling contract for every such model: ``sample(n, *, noise=None, **conditions)`` returns
``n`` samples G(z[, c]); the conditions are keyword-only, optional and named by the class's
declaration (``capabilities.conditions``: ``labels=`` for cgan / acgan, ``codes=`` for InfoGAN,
none for the unconditional models). A subclass says how its inputs are drawn and fed to G
(:meth:`SamplingGAN.sample_inputs`, :meth:`SamplingGAN.generate`) and how the exported generator
is called (:meth:`SamplingGAN.export_inputs`, :meth:`SamplingGAN.export_forward`); the same
functions serve ``zoo.sample``, ``zoo.export``, the metrics callback and the page.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from zoo.models.base import GANModule
from zoo.models.capabilities import Capabilities


class SamplingGAN(GANModule):
    """Base of the noise-to-image GANs: ``sample``, ``noise``, the metric and export hooks.

    Sampling: ``sample(n, *, noise=None, **conditions)`` returns ``n`` samples G(z[, c]) (images
    (n, C, H, W) in [-1, 1]); ``noise`` fixes z; the conditions are those of
    ``capabilities.conditions``; any other keyword is a ``ValueError`` naming the valid ones.
    """

    capabilities: ClassVar[Capabilities] = Capabilities("unconditional")

    @property
    def noise_dim(self) -> int:
        """Size of the noise z (``hparams.latent_dim``; InfoGAN: ``noise_dim``)."""
        return self.hparams.latent_dim

    def noise(self, n: int) -> Tensor:
        """z ~ N(0, I), shape (n, noise_dim), on the module's device."""
        return torch.randn(n, self.noise_dim, device=self.device)

    def check_labels(self, labels: Tensor | int | None, n: int, num_classes: int) -> Tensor:
        """``labels`` as a (n,) long tensor on the module's device; ``None`` draws them uniformly."""
        if labels is None:
            return torch.randint(num_classes, (n,), device=self.device)
        labels = torch.as_tensor(labels, device=self.device).long()
        if labels.dim() == 0:
            labels = labels.expand(n)
        if labels.shape != (n,):
            raise ValueError(f"labels must be a class index or a tensor of shape ({n},), got {tuple(labels.shape)}")
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(
                f"labels must lie in [0, {num_classes - 1}], got {labels.min().item()}..{labels.max().item()}"
            )
        return labels

    @torch.no_grad()
    def sample(self, n: int, *, noise: Tensor | None = None, **conditions: Any) -> Tensor:
        """``n`` samples G(z[, c]) in the data's range, on the module's device: the zoo's one sampling contract.

        Args:
            n: number of samples.
            noise: optional z of shape (n, :attr:`noise_dim`); default fresh z ~ N(0, I).
                The same noise and conditions give the same samples.
            conditions: keyword-only, each optional (drawn from its prior when missing), the
                names in ``capabilities.conditions``: ``labels=`` for the class-conditional models
                (cgan, acgan: a class index or a tensor of ``n``), ``codes=`` for InfoGAN
                (``{"categorical": ..., "continuous": ...}``); none for the unconditional models.
                Any other keyword is a ``ValueError`` naming the valid ones.

        Returns:
            a tensor (n, C, H, W) for image models (values in [-1, 1]; (n, 2) points for the
            2-D toy), made by ``sampling_generator`` (the EMA generator when enabled) in
            eval mode, without gradients. Subclasses override :meth:`sample_inputs` and :meth:`generate`.
        """
        valid = self.capabilities.conditions
        unknown = sorted(set(conditions) - set(valid))
        if unknown:
            name = type(self).__name__
            raise ValueError(
                f"{name}.sample() got unknown condition(s) {', '.join(unknown)}; "
                + (f"valid conditions: {', '.join(valid)}" if valid else f"{name} is unconditional: it takes only n and noise=")
            )
        inputs = self.sample_inputs(n, **conditions)  # drawn before z, as every model always did
        noise = self.noise(n) if noise is None else noise.to(self.device)
        if noise.shape != (n, self.noise_dim):
            raise ValueError(f"noise must have shape ({n}, {self.noise_dim}), got {tuple(noise.shape)}")
        with self._eval_mode(self.sampling_generator) as generator:
            return self.generate(generator, noise, **inputs)

    def sample_inputs(self, n: int, **conditions: Any) -> dict[str, Any]:
        """The validated conditions of ``n`` samples, missing ones drawn (none: unconditional)."""
        return {}

    def generate(self, generator: nn.Module, noise: Tensor, **inputs: Any) -> Tensor:
        """The samples of ``generator`` for ``noise`` and the :meth:`sample_inputs` (unconditional: G(z))."""
        return generator(noise)

    def sample_for_metrics(self, n: int) -> tuple[Tensor, Tensor | None]:
        """``n`` samples for FID / IS / KID and the labels they were conditioned on (``None`` if none)."""
        return self.sample(n), None

    def grid_row_names(self) -> list[str] | None:
        """What each row of :meth:`sample_grid` shows (``zoo.sample --grid`` labels them), or ``None``."""
        return None

    # ----------------------------------------------------------------- export
    def export_inputs(self, n: int) -> dict[str, Tensor]:
        """Named example inputs of :meth:`export_forward` for ``n`` samples (``noise`` first)."""
        return {"noise": self.noise(n)}

    def export_forward(self, generator: nn.Module, noise: Tensor, *conditions: Tensor) -> Tensor:
        """The images of ``generator`` for tensors laid out as :meth:`export_inputs` (``zoo.export``)."""
        return self.generate(generator, noise)


class ClassConditionalGAN(SamplingGAN):
    """What the class-conditional models share: ``sample(n, labels=...)``, uniformly random classes for
    the metrics (the class-conditional FID / IS protocols), ``labels`` as an exported input, and a
    progress grid of one row per class from fixed noise (``fixed_noise`` / ``fixed_labels``)."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        "class-conditional", conditions=("labels",), needs_labels=True, exports=("noise", "labels"))

    def register_class_grid(self, per_class: int, noise_dim: int) -> None:
        """The fixed inputs of the progress grid: ``per_class`` noise vectors, repeated for every class."""
        classes = self.hparams.num_classes
        noise = torch.randn(per_class, noise_dim, generator=torch.Generator().manual_seed(0))
        self.register_buffer("fixed_noise", noise.repeat(classes, 1))
        self.register_buffer("fixed_labels", torch.arange(classes).repeat_interleave(per_class))

    def sample_inputs(self, n: int, labels: Tensor | int | None = None) -> dict[str, Tensor]:
        """``sample(n, labels=...)``: a class index for all, a tensor of ``n`` indices, or
        ``None`` for uniformly random classes."""
        return {"labels": self.check_labels(labels, n, self.hparams.num_classes)}

    def generate(self, generator: nn.Module, noise: Tensor, labels: Tensor) -> Tensor:
        """G(z | y)."""
        return generator(noise, labels)

    def export_inputs(self, n: int) -> dict[str, Tensor]:
        """``noise`` (n, noise_dim) and ``labels`` (n,) class indices: the exported G's inputs."""
        return {"noise": self.noise(n), "labels": self.check_labels(None, n, self.hparams.num_classes)}

    def export_forward(self, generator: nn.Module, noise: Tensor, labels: Tensor) -> Tensor:
        return self.generate(generator, noise, labels)

    def sample_for_metrics(self, n: int) -> tuple[Tensor, Tensor]:
        """Uniformly random classes, as the class-conditional FID / IS protocols use."""
        labels = torch.randint(self.hparams.num_classes, (n,), device=self.device)
        return self.sample(n, labels=labels), labels

    def sample_grid(self) -> tuple[Tensor, int]:
        """One row per class from the fixed noise."""
        images = self.sample(len(self.fixed_labels), labels=self.fixed_labels, noise=self.fixed_noise)
        return images, len(self.fixed_labels) // self.hparams.num_classes

    def grid_row_names(self) -> list[str]:
        return [f"class {k}" for k in range(self.hparams.num_classes)]
