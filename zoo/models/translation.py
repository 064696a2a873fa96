"""``TranslationGAN``: what the image-to-image models (Pix2Pix, CycleGAN) share.

* :meth:`TranslationGAN.translate`: tensors or PIL images of any size in, the
  same out. Inputs are padded (reflection) to the multiple of 2^k the
  generator needs and the output is cropped back, or resized to ``size``.
* The progress grid: a fixed set of validation inputs (captured from the
  DataModule when training starts, identical on every rank) shown as rows of
  ``input | translation | target`` (or ``| reconstruction`` for CycleGAN).
* Validation metrics each epoch, when the validation split has them: L1, PSNR
  and SSIM against the ground truth (``zoo.metrics.paired``) and, on the
  embedded digit tasks (labels known), the identity accuracy of the shipped
  digits classifier: the fraction of translated digits still read as their
  source's class. torchmetrics states, so the values are exact under DDP.
* The learning-rate schedule of both papers' reference code: constant for
  ``n_epochs`` epochs, then linear decay towards 0 over ``n_epochs_decay`` more.
* The GAN terms in the papers' form (:func:`image_to_image_loss`): G minimises
  ``loss.generator(D(G(x)))``, D minimises ``½ loss.discriminator(D(y), D(G(x)))``
  (the ½ is written in each model's ``training_step``), with the loss objects of
  ``zoo.losses``; the penalties (WGAN-GP, R1) come from ``GANModule.penalise``.
* No ``sample()``: these models translate inputs (:meth:`TranslationGAN.translate`); they are
  the sibling of :class:`zoo.models.sampling.SamplingGAN`, not a kind of it.

Batches are the dicts of the image-to-image DataModules
(``datamodules.translation``): ``"A"`` (input side), ``"B"`` (target side / other
domain), ``"A_label"``, ``"B_label"`` (-1 when unknown), ``"A_name"``, ``"B_name"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Callable, ClassVar, Sequence

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn
from torchmetrics import MeanMetric

from zoo.images import Direction, pad_to_multiple, pil_to_tensor, tensor_to_pil
from zoo.losses import AdversarialLoss, LeastSquaresLoss, get_adversarial_loss
from zoo.metrics.paired import l1_distance, psnr, ssim
from zoo.models.base import GANModule
from zoo.models.capabilities import Capabilities


def image_to_image_loss(name: str) -> AdversarialLoss:
    """The adversarial loss ``name`` (``bce``, ``lsgan``, ``hinge``, ``wgan-gp``) in the form pix2pix
    and CycleGAN write their GAN terms: G minimises ℓ(D(G(x)), real) and D ℓ(D(y), real) +
    ℓ(D(G(x)), fake), which the model then halves for D (pix2pix §3.3).

    For ``bce`` that is :class:`~zoo.losses.NonSaturatingLoss` as it stands (pix2pix Eq. 1 with the
    non-saturating G loss of §3.3). For ``lsgan`` it is the squared error *without* Mao et al.'s ½
    (CycleGAN §4: "we train the G to minimize E[(D(G(x)) - 1)²] and train the D to minimize
    E[(D(y) - 1)²] + E[D(G(x))²]"), ``LeastSquaresLoss(scale=1)``: the reference code's ``nn.MSELoss``.
    ``hinge`` and ``wgan-gp`` are the zoo's losses as they are (on PatchGAN maps every mean runs
    over the patches too).
    """
    return LeastSquaresLoss(scale=1.0) if name == "lsgan" else get_adversarial_loss(name)



def reference_lr_factor(n_epochs: int, n_epochs_decay: int) -> Callable[[int], float]:
    """LR factor per (0-based) epoch: 1 for ``n_epochs`` epochs, then linearly down over ``n_epochs_decay``.

    The rule of the pix2pix / CycleGAN reference code: ``1 - max(0, epoch + 1 - n_epochs) /
    (n_epochs_decay + 1)``, so the last decay epoch still trains at ``1 / (n_epochs_decay + 1)``
    and the factor reaches 0 one epoch later. ``n_epochs_decay=0`` keeps the LR constant.
    """
    if n_epochs < 0 or n_epochs_decay < 0:
        raise ValueError(f"n_epochs and n_epochs_decay must be >= 0, got {n_epochs} and {n_epochs_decay}")
    if n_epochs_decay == 0:
        return lambda epoch: 1.0
    return lambda epoch: max(0.0, 1.0 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1))


def as_rgb_if_needed(images: Sequence[Tensor]) -> list[Tensor]:
    """Make a list of (N, C, H, W) batches share one channel count (grey repeated to RGB)."""
    channels = max(image.shape[1] for image in images)
    return [image.expand(-1, channels, -1, -1) if image.shape[1] != channels else image for image in images]


class TranslationGAN(GANModule):
    """Base of the image-to-image GANs: ``translate``, the progress grid, validation metrics.

    Subclasses declare their :attr:`capabilities` (paired or not, the directions), build the
    generators and implement :meth:`translator` and :meth:`grid_rows`. ``hparams`` must hold
    ``in_channels``, ``out_channels``, ``grid_size``.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        "image-to-image", paired_data=True, directions=("AtoB",), exports=("image",))
    #: whether validation batches come with an aligned ground truth ("B" is the target of "A")
    ground_truth_always: ClassVar[bool] = True
    fixed_settings: ClassVar[Mapping[str, str]] = {
        "n_critic": "the pix2pix / CycleGAN papers alternate one D and one G step",
        "lr_decay_start": "the learning rates follow the papers' per-epoch schedule: n_epochs, then n_epochs_decay",
        "ema_decay": "translate() uses the trained generators, as the papers do",
    }

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        # Progress-grid inputs, captured from the data at fit start (not saved: re-captured on resume).
        self.register_buffer("grid_a", torch.empty(0), persistent=False)
        self.register_buffer("grid_b", torch.empty(0), persistent=False)
        self._val_metrics = nn.ModuleDict()

    # ----------------------------------------------------------------- inference
    def adversarial_loss(self, name: str) -> AdversarialLoss:
        """The GAN terms in the papers' form (:func:`image_to_image_loss`)."""
        return image_to_image_loss(name)

    @property
    def directions(self) -> tuple[str, ...]:
        """The directions this module translates: the declared ones (``capabilities.directions``)."""
        return self.capabilities.directions

    def export_network(self) -> nn.Module:
        """The ``"AtoB"`` generator (CycleGAN's G; its F is ``translator("BtoA")``)."""
        return self.translator("AtoB")

    def export_inputs(self, n: int, size: int | None = None) -> dict[str, Tensor]:
        """``image`` (n, C_in, size, size) in [-1, 1]; ``size`` defaults to the training size (else 32),
        rounded up to the generator's multiple."""
        size = size or self.hparams.get("image_size") or 32
        multiple = self.size_multiple("AtoB")
        size = -(-size // multiple) * multiple
        return {"image": torch.rand(n, self.hparams.in_channels, size, size, device=self.device) * 2 - 1}

    def export_forward(self, generator: nn.Module, image: Tensor) -> Tensor:
        return generator(image)

    def translator(self, direction: str) -> nn.Module:
        """The generator mapping ``direction`` (subclasses)."""
        raise NotImplementedError

    def size_multiple(self, direction: str) -> int:
        """Input sides must be multiples of this (2 ** number of stride-2 downsamplings)."""
        raise NotImplementedError

    def _check_direction(self, direction: str) -> None:
        if direction not in self.directions:
            raise ValueError(
                f"{type(self).__name__} cannot translate {direction!r}; valid directions: {', '.join(self.directions)}"
            )

    def _channels(self, direction: str) -> int:
        return self.hparams.in_channels if direction == "AtoB" else self.hparams.out_channels

    @torch.no_grad()
    def translate(
        self,
        images: Tensor | Image.Image | Sequence[Image.Image],
        direction: Direction = "AtoB",
        size: int | None = None,
        batch_size: int = 16,
    ) -> Tensor | Image.Image | list[Image.Image]:
        """Translate ``images`` with the generator of ``direction`` (eval mode, no grad).

        Args:
            images: a float tensor (C, H, W) or (N, C, H, W) in [-1, 1]; or a PIL image; or a
                list of PIL images (any sizes and modes: converted to the model's channels).
            direction: ``"AtoB"`` (the model's main generator) or ``"BtoA"`` (CycleGAN's inverse F).
            size: ``None`` keeps each input's own size (padded by reflection to the multiple the
                network needs, output cropped back); an int resizes inputs to ``size`` x ``size``
                (bicubic) and returns outputs of that size.
            batch_size: tensors are translated in chunks of this many images.

        Returns:
            the same kind as the input: a tensor on the module's device (same leading shape), a
            PIL image, or a list of PIL images, each the size of its input (or ``size``).
        """
        self._check_direction(direction)
        if isinstance(images, Image.Image):
            return self.translate([images], direction, size, batch_size)[0]
        if isinstance(images, (list, tuple)):
            channels = self._channels(direction)
            outputs = []
            for image in images:
                if not isinstance(image, Image.Image):
                    raise TypeError(f"a list passed to translate() must hold PIL images, got {type(image).__name__}")
                outputs.append(tensor_to_pil(self.translate(pil_to_tensor(image, channels), direction, size)))
            return outputs
        if not torch.is_tensor(images) or images.ndim not in (3, 4):
            raise ValueError(
                f"translate() takes a (C, H, W) or (N, C, H, W) tensor, a PIL image or a list of them, got "
                f"{tuple(images.shape) if torch.is_tensor(images) else type(images).__name__}"
            )
        if images.ndim == 3:
            return self.translate(images.unsqueeze(0), direction, size, batch_size)[0]
        channels = self._channels(direction)
        if images.shape[1] != channels:
            raise ValueError(f"{direction} expects {channels}-channel inputs, got {images.shape[1]} channels")
        images = images.to(self.device, torch.float32)
        if size is not None:
            images = F.interpolate(images, size=(size, size), mode="bicubic", align_corners=False).clamp(-1, 1)
        padded, (height, width) = pad_to_multiple(images, self.size_multiple(direction))
        generator = self.translator(direction)
        with self._eval_mode(generator):
            out = torch.cat([generator(chunk) for chunk in padded.split(batch_size)])
        return out[..., :height, :width]

    # ------------------------------------------------------------ progress grid
    def on_fit_start(self) -> None:
        super().on_fit_start()
        if self.grid_a.numel() == 0:
            self.capture_grid_inputs()

    def on_train_batch_start(self, batch: dict, batch_idx: int) -> None:
        super().on_train_batch_start(batch, batch_idx)
        if self.grid_a.numel() == 0:  # no DataModule to draw from: the first training pairs
            self.grid_a = batch["A"][: self.hparams.grid_size].detach().clone()
            self.grid_b = batch["B"][: self.hparams.grid_size].detach().clone()

    def capture_grid_inputs(self) -> None:
        """The first ``grid_size`` validation pairs (training pairs if there is no validation split;
        with plain dataloaders instead of a DataModule, the first training batch)."""
        datamodule = self.trainer.datamodule
        if datamodule is None:
            return
        batches = []
        for loader_name in ("val_dataloader", "train_dataloader"):
            try:
                loader = getattr(datamodule, loader_name)()
            except (AttributeError, NotImplementedError, ValueError):
                continue
            taken = 0
            for batch in loader:
                batches.append(batch)
                taken += len(batch["A"])
                if taken >= self.hparams.grid_size:
                    break
            if batches:
                break
        if not batches:
            raise RuntimeError("no validation or training batch to draw the progress grid from")
        count = self.hparams.grid_size
        self.grid_a = torch.cat([b["A"] for b in batches])[:count].to(self.device)
        self.grid_b = torch.cat([b["B"] for b in batches])[:count].to(self.device)

    def grid_rows(self) -> list[Tensor]:
        """Columns of the grid (subclasses), each (n, C, H, W)."""
        raise NotImplementedError

    def sample_grid(self) -> tuple[Tensor, int]:
        """One row per fixed input: the columns of :meth:`grid_rows` side by side."""
        if self.grid_a.numel() == 0:
            raise RuntimeError("the progress grid needs fit() to have started (its inputs come from the data)")
        columns = as_rgb_if_needed(self.grid_rows())
        return torch.stack(columns, dim=1).flatten(0, 1), len(columns)

    # --------------------------------------------------------------- validation
    def _metric(self, stage: str, name: str) -> MeanMetric:
        key = f"{stage}_{name}"
        if key not in self._val_metrics:
            self._val_metrics[key] = MeanMetric().to(self.device)
        return self._val_metrics[key]

    def has_ground_truth(self) -> bool:
        """Whether validation "B" is the exact target of "A" (paired data, or the embedded unpaired task)."""
        if self.ground_truth_always:
            return True
        datamodule = getattr(self.trainer, "datamodule", None)
        return bool(getattr(datamodule, "eval_has_ground_truth", False))

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.evaluate_batch(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.evaluate_batch(batch, "test")

    def evaluate_batch(self, batch: dict, stage: str) -> None:
        """Accumulate ``<stage>/l1``, ``psnr``, ``ssim`` (with ground truth) and ``identity_accuracy``
        (labelled digits) of each direction; BtoA keys end in ``_BtoA``."""
        ground_truth = self.has_ground_truth()
        for direction in self.directions:
            source, target, labels = (
                (batch["A"], batch["B"], batch["A_label"]) if direction == "AtoB" else (batch["B"], batch["A"], batch["B_label"])
            )
            suffix = "" if direction == "AtoB" else "_BtoA"
            output = self.translator(direction)(source)
            n = len(source)
            if ground_truth:  # mean L1, PSNR of each image averaged, mean SSIM (zoo.metrics.paired)
                self._metric(stage, "l1" + suffix).update(l1_distance(output, target), n)
                self._metric(stage, "psnr" + suffix).update(psnr(output, target, per_image=True).mean(), n)
                self._metric(stage, "ssim" + suffix).update(ssim(output, target), n)
            if bool((labels >= 0).all()):
                from zoo.metrics.digits import load_digits_classifier

                predicted = load_digits_classifier(self.device)(output).argmax(dim=1)
                self._metric(stage, "identity_accuracy" + suffix).update((predicted == labels).float().mean(), n)

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    def _log_metrics(self, stage: str) -> None:
        for key, metric in self._val_metrics.items():
            if key.startswith(stage + "_") and metric.update_called:
                value = metric.compute()  # synchronised across ranks by torchmetrics
                if not math.isnan(value.item()):
                    self.log(f"{stage}/{key[len(stage) + 1:]}", value)
                metric.reset()

    # --------------------------------------------------------------- schedules
    def epoch_schedulers(self, optimizers: list) -> list[dict]:
        """The reference code's per-epoch linear decay for every optimizer (see :func:`reference_lr_factor`)."""
        factor = reference_lr_factor(self.hparams.n_epochs, self.hparams.n_epochs_decay)
        return [
            {"scheduler": torch.optim.lr_scheduler.LambdaLR(opt, factor), "interval": "epoch"} for opt in optimizers
        ]
