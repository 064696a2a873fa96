"""ProGAN-lite: progressive growing of GANs, with fade-in, on a CPU budget.

Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", ICLR 2018 (arXiv:1710.10196). Training
starts with 4x4 images and doubles the resolution phase by phase; each new
block of G and D is faded in smoothly (§2, Fig. 2). The networks, equalized
learning rate, pixel norm and minibatch standard deviation are in
:mod:`zoo.nn.progan`; this module is the training schedule and the losses.

The schedule (:class:`~zoo.models.progan_schedule.ProgressiveSchedule`, the reference's
``TrainingSchedule``) is counted in thousands of real images shown to D (``kimg``; 600 per phase there):

* 4x4: ``stabilize_kimg`` of training;
* then for each higher resolution r: ``fade_kimg`` with α going 0 -> 1 linearly
  (the new block blended with the up-sampled output of the previous resolution),
  then ``stabilize_kimg`` at α = 1; the final resolution trains on until
  ``--trainer.max_steps``.

Real images are served at full resolution by the DataModule; the module
down-samples them to the current resolution (2x2 average pooling,
:func:`zoo.nn.progan.downsample_to`) and, during a fade, blends them with their
2x-down-then-up copy by the same α (:func:`zoo.nn.progan.fade_reals`, the
authors' ``process_reals``), so D never tells real from fake by sharpness. The
per-resolution batch size (``batch_sizes``) takes the first images of each
loader batch, so the loaders are never rebuilt.

Code names -> paper symbols:

* ``self.G(z, resolution, alpha)`` / ``self.D(x, resolution, alpha)``: G and D at
  the current level of detail; ``alpha`` α of Fig. 2.
* ``d_loss``: the WGAN-GP critic loss E[D(G(z))] - E[D(x)] (Gulrajani et al.
  2017), plus ``gradient_penalty`` with λ = ``gp_weight`` (10, target 1) and
  ``drift``: ε_drift · E[D(x)²] with ε_drift = 0.001 (§A.1: "to keep the
  discriminator output from drifting too far away from zero").
* ``g_loss``: -E[D(G(z))].
* ``aux_loss`` (``conditional``): the auxiliary classifier's cross-entropy on
  real and fake images, as the paper's conditional CIFAR-10 run (§6.3 after
  Odena et al. 2017): D gets 1 + ``num_classes`` outputs, G the label embedding.
* ``images_seen``: real images shown so far (all ranks), the clock of the schedule.
* ``generator_ema``: G with EMA weights (β 0.999, §A.1), used for sampling.

Optimiser: Adam(lr 1e-3, β = (0, 0.99), ε = 1e-8) for both networks (§A.1).
With ``reset_optimizers`` (the authors' ``reset_opt_for_new_lod``) both Adam
states are cleared whenever a fade starts or ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.losses import LossName
from zoo.models.capabilities import Capabilities
from zoo.models.progan_schedule import Phase, ProgressiveSchedule  # noqa: F401  (re-exported)
from zoo.models.sampling import SamplingGAN
from zoo.nn.progan import ProGANDiscriminator, ProGANGenerator, downsample_to, fade_reals, feature_counts
from zoo.registry import register_model
from zoo.weights import PretrainedWeights, packaged_weights

# --- packaged weights (re-created by `python -m benchmarks.pretrained --model progan`) ---------------------
PACKAGED_WEIGHTS: tuple[PretrainedWeights, ...] = (
    packaged_weights(
        'progan', 'digits', sha256='6f1d50522b9bc25bb30d5f67462eaddfc0a365f9bdba44d562a473f2ecd19f5f',
        kwargs={'num_classes': 10,
                'conditional': True,
                'fmap_base': 256,
                'fmap_max': 64,
                'stabilize_kimg': 5.0,
                'fade_kimg': 5.0,
                'batch_sizes': {'4': 64, '8': 64, '16': 32, '32': 32},
                'reset_optimizers': False,
                'ema_kimg': 3.0},
        direction='32x32 digits of a chosen class, grown from 4x4',
        metrics={'fd': 33.7201,
                 'fd_floor': 18.1724,
                 'fd_ratio': 1.8556,
                 'conditional_accuracy': 0.965,
                 'min_class_share': 0.09},
    ),
)


def parse_batch_sizes(batch_sizes: Mapping[Any, Any] | None, resolutions: list[int]) -> dict[int, int]:
    """``{resolution: batch size}`` with int keys, each checked. Keys may arrive as strings: LightningCLI
    records the config, whose dict keys are text, as the hyper-parameters, and a checkpoint or weights
    file then holds those."""
    parsed: dict[int, int] = {}
    for r, b in (batch_sizes or {}).items():
        resolution = int(r) if str(r).isdigit() else r
        if resolution not in resolutions or int(b) < 1:
            raise ValueError(
                f"batch_sizes: {r}: {b} is not a valid entry; resolutions: {', '.join(map(str, resolutions))}, "
                "batch sizes >= 1"
            )
        parsed[resolution] = int(b)
    return parsed


@register_model(
    "progan",
    weights=PACKAGED_WEIGHTS,
    default_data="digits",
    # the 1439 embedded digits in 15 minutes of 2 CPU cores (docs/models/progan.md#results, measured):
    # conditioned on the label (the paper's AC-GAN form), narrow networks (64, 32, 16, 8 maps at 4-32 px),
    # 5 + 5 kimg phases, an EMA half-life of 3 kimg (a fixed beta 0.999 lags phases this short), Adam kept
    # across phases; 15 minutes (the step cap only stops a fast machine)
    recipe={"model.conditional": True, "model.fmap_base": 256, "model.fmap_max": 64, "model.stabilize_kimg": 5,
            "model.fade_kimg": 5, "model.ema_kimg": 3, "model.reset_optimizers": False,
            "model.batch_sizes": {4: 64, 8: 64, 16: 32, 32: 32}, "data.batch_size": 64,
            "trainer.max_steps": 20000, "trainer.max_time": "00:00:15:00"},
    summary="ProGAN-lite (Karras et al. 2018): progressive growing with fade-in",
)
class ProGAN(SamplingGAN):
    """Progressively grown WGAN-GP with equalized learning rate, pixel norm and minibatch stddev.

    ``sample(n, resolution=..., labels=...)`` samples at the highest resolution trained so
    far, or at an earlier one.

    Args:
        image_shape: (channels, height, width) of the data; height = width must be a
            power of two (the final resolution); linked from the DataModule by ``zoo.fit``.
        num_classes: number of classes of the data (linked); used only with ``conditional``.
        conditional: condition G on the label and give D an auxiliary classifier (AC-GAN
            form, the paper's conditional CIFAR-10 run); needs labelled data.
        latent_dim: size of z (512 in the paper).
        fmap_base: feature maps per resolution r are ``min(fmap_base / r, fmap_max)``
            (the paper: 16384 and 512; lite: 1024 and 128).
        fmap_max: see ``fmap_base``.
        stabilize_kimg: thousands of real images per stabilisation phase (paper: 600).
        fade_kimg: thousands of real images per fade-in phase (paper: 600).
        batch_sizes: images per D step at each resolution, e.g. ``{4: 64, 8: 64, 16: 32, 32: 32}``
            (taken from each loader batch, so at most the DataModule's ``batch_size``);
            ``None``: the whole loader batch at every resolution.
        drift: ε_drift of the drift term ε_drift · E[D(x)²] (0.001; wgan-gp only).
        aux_weight: weight of the auxiliary classification loss (``conditional``).
        eps: Adam ε (1e-8).
        reset_optimizers: clear both Adam states when a fade starts or ends (the authors'
            ``reset_opt_for_new_lod``).
        ema_kimg: if set, the EMA's half-life in thousands of real images instead of a fixed β:
            β = 0.5 ** (images per step / (1000 · ema_kimg)) (StyleGAN's ``G_smoothing_kimg``,
            Karras et al. 2019: 10). With phases of a few kimg, β = 0.999 lags a new block by
            more than a whole phase (docs/models/progan.md#the-generator-ema).
        grid_size: the progress grid is ``grid_size`` x ``grid_size`` images (one row per
            class when conditional).
        loss: the shared adversarial loss; ``wgan-gp`` as in the paper (the others are allowed
            for experiments: ``bce``, ``lsgan``, ``hinge``).
        lr: Adam learning rate of G and D (the paper's 1e-3).
        betas: Adam (β1, β2) (the paper's (0, 0.99)).
        ema_decay: β of the generator EMA used for sampling (the paper's 0.999; ``None`` turns it off).
        settings: the other shared settings (``gp_weight`` (λ = 10), ``r1_weight``, ``r1_interval``,
            ``lr_decay_start``, ``gradient_clip_val``): see :class:`~zoo.models.base.GANModule`.
            ``n_critic`` is fixed at 1 (the schedule's clock counts the images of each G step).
    """

    #: ``labels=`` only when built with ``conditional=True`` (an unconditional ProGAN refuses them)
    capabilities: ClassVar[Capabilities] = Capabilities(
        "unconditional", conditions=("labels", "resolution"), exports=("noise", "labels"))
    fixed_settings: ClassVar[Mapping[str, str]] = {
        "n_critic": "one D step per G step, as the paper: the schedule counts the real images of each step"}
    #: the schedule's clock travels with the weights: it says which resolution and alpha G reached
    pretrained_parts = ("generator", "images_seen")
    #: each step runs only the blocks of the current resolution: DDP must find the unused ones
    partial_forward = True

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 32, 32),
        num_classes: int | None = None,
        conditional: bool = False,
        latent_dim: int = 128,
        fmap_base: int = 1024,
        fmap_max: int = 128,
        stabilize_kimg: float = 60.0,
        fade_kimg: float = 60.0,
        batch_sizes: dict[int, int] | None = None,
        drift: float = 0.001,
        aux_weight: float = 1.0,
        eps: float = 1e-8,
        reset_optimizers: bool = True,
        ema_kimg: float | None = None,
        grid_size: int = 8,
        loss: LossName = "wgan-gp",
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.0, 0.99),
        ema_decay: float | None = 0.999,
        **settings: Any,
    ) -> None:
        super().__init__(loss=loss, lr=lr, betas=betas, ema_decay=ema_decay, **settings)
        channels, height, width = tuple(image_shape)
        if height != width:
            raise ValueError(f"ProGAN needs square images, got image_shape {tuple(image_shape)}")
        if ema_kimg is not None and ema_kimg <= 0:
            raise ValueError(f"ema_kimg must be > 0 (thousands of images) or None, got {ema_kimg}")
        if conditional and (num_classes is None or num_classes < 2):
            raise ValueError(
                f"conditional=True needs labelled data with num_classes >= 2, got num_classes={num_classes}"
            )
        self.schedule = ProgressiveSchedule(height, stabilize_kimg, fade_kimg)
        self.batch_sizes = parse_batch_sizes(batch_sizes, self.schedule.resolutions)
        classes = num_classes if conditional else None
        widths = feature_counts(height, fmap_base, fmap_max)
        self.generator = ProGANGenerator(latent_dim, height, widths, channels, num_classes=classes)
        self.discriminator = ProGANDiscriminator(height, widths, channels, num_classes=classes)
        self.networks_built()
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.long))
        self.register_grid(grid_size)
        self._phase_index: int | None = None
        self._phase_ended_at = -1  # global_step after the last step of a phase (a grid is due then)
        self._images_per_step = 0  # real images (all ranks) of the step being taken: the EMA's clock

    def register_grid(self, grid_size: int) -> None:
        """Fixed inputs of the progress grid: ``grid_size`` x ``grid_size`` noise vectors, or one row of
        ``grid_size`` per class when conditional."""
        hp = self.hparams
        count = hp.num_classes * grid_size if hp.conditional else grid_size**2
        noise = torch.randn(count, hp.latent_dim, generator=torch.Generator().manual_seed(0))
        self.register_buffer("fixed_noise", noise)
        if hp.conditional:
            self.register_buffer("fixed_labels", torch.arange(hp.num_classes).repeat_interleave(grid_size))

    # ----------------------------------------------------------------- schedule
    @property
    def kimg(self) -> float:
        return float(self.images_seen) / 1000.0

    def level(self) -> tuple[int, float, Phase]:
        """``(resolution, alpha, phase)`` now (from :attr:`images_seen`)."""
        return self.schedule.at(self.kimg)

    @property
    def trained_resolution(self) -> int:
        """The highest resolution trained so far (the current one, faded in or not)."""
        return self.level()[0]

    def batch_size_at(self, resolution: int, available: int) -> int:
        return min(self.batch_sizes.get(resolution, available), available)

    def on_fit_start(self) -> None:
        super().on_fit_start()
        if self.trainer.is_global_zero:
            print(f"ProGAN schedule (kimg = thousands of real images; now {self.kimg:g}):\n"
                  + self.schedule.table(self.batch_sizes))

    def _enter_phase(self, phase: Phase) -> None:
        """Before a step: at the first step of a new phase (a fade starts or ends), reset both Adam
        states when ``reset_optimizers`` (not at the first step of a run, fresh or resumed)."""
        if self._phase_index is not None and phase.index != self._phase_index and self.hparams.reset_optimizers:
            for optimizer in self.optimizers():
                optimizer.optimizer.state.clear()
        self._phase_index = phase.index

    def grid_requested(self) -> bool:
        """Whether the step just taken ended a phase (``SampleGrid`` then writes that phase's last grid)."""
        return self._phase_ended_at == self.global_step

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Also record the schedule and where training is in it (readable without the module)."""
        super().on_save_checkpoint(checkpoint)
        resolution, alpha, phase = self.level()
        checkpoint["zoo"]["progan"] = {
            "images_seen": int(self.images_seen), "resolution": resolution, "alpha": alpha, "phase": phase.index,
            "schedule": [(p.resolution, "fade" if p.fading else "stabilize", p.start_kimg, p.end_kimg)
                         for p in self.schedule.phases],
        }

    # ----------------------------------------------------------------- training
    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        resolution, alpha, phase = self.level()
        self._enter_phase(phase)
        hp = self.hparams
        b = self.batch_size_at(resolution, batch[0].size(0))
        x = fade_reals(downsample_to(batch[0][:b], resolution), alpha)  # reals at the current level of detail
        y = batch[1][:b] if hp.conditional else None
        opt_g, opt_d = self.optimizers()

        def critic(images: Tensor) -> Tensor:
            out = self.D(images, resolution, alpha)
            return out[0] if hp.conditional else out

        # (1) Update D: WGAN-GP critic loss + λ·GP + ε_drift·D(x)² [+ auxiliary classifier].
        with self.updating(opt_d):
            with torch.no_grad():
                fake = self.G(self.noise(b), resolution, alpha, labels=y)
            x = self.real_input(x)
            real_out, fake_out = self.D(x, resolution, alpha), self.D(fake, resolution, alpha)
            real_score, fake_score = (real_out[0], fake_out[0]) if hp.conditional else (real_out, fake_out)
            d_loss = self.adversarial.discriminator(real_score, fake_score)
            d_total, losses = self.penalise(d_loss, real=x, real_logits=real_score, fake=fake, critic=critic)
            if self.needs_gradient_penalty and hp.drift > 0:
                drift = real_score.float().pow(2).mean()
                d_total = d_total + hp.drift * drift
                losses["drift"] = drift
            if hp.conditional:
                aux = F.cross_entropy(real_out[1], y) + F.cross_entropy(fake_out[1], y)
                d_total = d_total + hp.aux_weight * aux
                losses["d_aux"] = aux
            self.backward_step(d_total, opt_d)
        losses["d_loss"] = d_loss

        # (2) Update G: -E[D(G(z))] [+ auxiliary classification of its fakes].
        self._images_per_step = b * self.trainer.world_size
        with self.updating(opt_g):
            out = self.D(self.G(self.noise(b), resolution, alpha, labels=y), resolution, alpha)
            g_loss = self.adversarial.generator(out[0] if hp.conditional else out)
            g_total = g_loss + (hp.aux_weight * F.cross_entropy(out[1], y) if hp.conditional else 0.0)
            self.backward_step(g_total, opt_g)
        losses["g_loss"] = g_loss
        self.images_seen += self._images_per_step
        if self.schedule.phase(self.kimg).index != phase.index:
            self._phase_ended_at = self.global_step  # this step ended the phase: its last grid is due
        self.log_losses(**losses)
        if self.writes_logs_now():
            self.log_dict({"train/resolution": float(resolution), "train/alpha": alpha, "train/kimg": self.kimg})

    def ema_beta(self) -> float:
        """β per step: ``ema_decay``, or from the half-life ``ema_kimg`` and this step's images."""
        if self.hparams.ema_kimg is None:
            return super().ema_beta()
        return 0.5 ** (self._images_per_step / (1000.0 * self.hparams.ema_kimg))

    def configure_optimizers(self):
        hp = self.hparams
        opt_g = self.make_optimizer(self.generator.parameters(), eps=hp.eps)
        opt_d = self.make_optimizer(self.discriminator.parameters(), eps=hp.eps)
        return [opt_g, opt_d], self.linear_decay_schedulers([opt_g, opt_d], hp.lr_decay_start)

    # ----------------------------------------------------------------- sampling
    def sample_inputs(self, n: int, labels: Tensor | int | None = None, resolution: int | None = None) -> dict[str, Any]:
        """``sample(n, resolution=8)`` samples at an earlier resolution (α = 1); the default is
        the highest resolution trained so far, at the current α. ``labels=`` when conditional."""
        if resolution is None:
            resolution, alpha, _ = self.level()
        else:
            self.generator.stage(resolution)  # checks it
            if resolution > self.trained_resolution:
                raise ValueError(
                    f"resolution {resolution} has not been trained yet (trained up to {self.trained_resolution})"
                )
            alpha = 1.0
        inputs: dict[str, Any] = {"resolution": resolution, "alpha": alpha}
        if self.hparams.conditional:
            inputs["labels"] = self.check_labels(labels, n, self.hparams.num_classes)
        elif labels is not None:
            raise ValueError("this ProGAN is unconditional (conditional=False): it takes no labels=")
        return inputs

    def generate(self, generator: nn.Module, noise: Tensor, resolution: int, alpha: float,
                 labels: Tensor | None = None) -> Tensor:
        """G(z[, y]) at ``resolution``, clamped to the data's range [-1, 1] (G's output is linear)."""
        return generator(noise, resolution, alpha, labels=labels).clamp(-1, 1)

    def export_inputs(self, n: int) -> dict[str, Tensor]:
        """``noise`` (n, latent_dim) [and ``labels`` (n,) when conditional]; the exported G runs at the
        resolution and alpha reached (fixed at export time)."""
        inputs = {"noise": self.noise(n)}
        if self.hparams.conditional:
            inputs["labels"] = self.check_labels(None, n, self.hparams.num_classes)
        return inputs

    def export_forward(self, generator: nn.Module, noise: Tensor, labels: Tensor | None = None) -> Tensor:
        resolution, alpha, _ = self.level()
        return self.generate(generator, noise, resolution, alpha, labels=labels)

    def sample_for_metrics(self, n: int) -> tuple[Tensor, Tensor | None]:
        """Samples at the data's resolution (up-sampled when training has not reached it yet)."""
        if self.hparams.conditional:
            labels = torch.randint(self.hparams.num_classes, (n,), device=self.device)
            images = self.sample(n, labels=labels)
        else:
            labels, images = None, self.sample(n)
        size = self.hparams.image_shape[-1]
        if images.shape[-1] != size:
            images = F.interpolate(images, size=(size, size), mode="nearest")
        return images, labels

    def sample_grid(self) -> tuple[Tensor, int]:
        """The fixed noise at the current level, enlarged (nearest) to the data's size so every
        phase's grid has the same size."""
        if self.hparams.conditional:
            images = self.sample(len(self.fixed_labels), labels=self.fixed_labels, noise=self.fixed_noise)
        else:
            images = self.sample(len(self.fixed_noise), noise=self.fixed_noise)
        size = self.hparams.image_shape[-1]
        return F.interpolate(images, size=(size, size), mode="nearest"), self.hparams.grid_size

    def grid_row_names(self) -> list[str] | None:
        """One row per class when conditional."""
        return [f"class {k}" for k in range(self.hparams.num_classes)] if self.hparams.conditional else None
