"""``GANModule``: the LightningModule every variant subclasses.

A variant builds its networks in ``__init__``, declares what it is in :attr:`GANModule.capabilities`
and writes one ``training_step`` that reads like the paper's algorithm. Everything else lives
once, in the base and the mixins it is made of, one concern per module:

=====================================  ==============================================================
``zoo.models.updates``                 ``updating(opt)`` / ``backward_step``, clipping, LR schedules,
                                       the generator EMA, batch counting
``zoo.models.discriminator_update``    ``penalise`` (WGAN-GP, R1), ``generator_turn`` (n_critic),
                                       ``real_input``, the ``discriminator_norm`` rule
``zoo.models.loss_log``                ``log_losses`` (``train/<name>``), ``DivergenceError``
``zoo.models.pretrained_state``        what a pretrained weights file holds
this module                            the shared settings, networks and their DDP wrappers, the
                                       progress-grid hooks, checkpoint hooks, the DDP guard
=====================================  ==============================================================

**The shared settings are declared once**, as the keyword-only arguments of
:meth:`GANModule.__init__` (documented there). A model's constructor takes its own arguments
and ``**settings``, which it passes on: ``LightningCLI`` reads through ``**settings`` to the base,
so ``--model.loss hinge`` / ``--model.r1_weight 1`` are flags of every model, with one docstring.
A model whose paper fixes a setting differently re-declares only that setting with its own
default (ProGAN: ``loss="wgan-gp"``, ``lr=1e-3``); a model that cannot honour a setting names it
in :attr:`GANModule.fixed_settings` with the reason, and a non-default value is refused before
any work.

The two families are sibling classes: :class:`zoo.models.sampling.SamplingGAN` (``sample(n, ...)``)
and :class:`zoo.models.translation.TranslationGAN` (``translate(images)``).

DDP: with :class:`zoo.strategies.GANDDPStrategy` each network in :attr:`networks` gets its own
``DistributedDataParallel`` wrapper and is called through ``self.run(name, ...)`` (``self.G`` /
``self.D``), so no parameter is ever "unused" and ``find_unused_parameters`` stays off.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from typing import Any, Callable, ClassVar, Iterator, Mapping

import lightning.pytorch as pl
import torch
from lightning.pytorch.strategies import DDPStrategy
from torch import Tensor, nn

from zoo.losses import AdversarialLoss, LossName, get_adversarial_loss
from zoo.models.capabilities import Capabilities
from zoo.models.discriminator_update import DiscriminatorUpdate
from zoo.models.loss_log import DivergenceError, LossLog
from zoo.models.pretrained_state import PretrainedState
from zoo.models.updates import UpdateMechanics, linear_decay
from zoo.nn.blocks import apply_spectral_norm
from zoo.nn.diffaugment import POLICIES, DiffAugment, parse_policy
from zoo.random_state import capture_rng_state, restore_rng_state
from zoo.registry import MODELS
from zoo.strategies import GANDDPStrategy

__all__ = ["GANModule", "DivergenceError", "linear_decay"]


class GANModule(UpdateMechanics, DiscriminatorUpdate, LossLog, PretrainedState, pl.LightningModule):
    """Base class of every GAN in the zoo (manual optimisation).

    The shared settings: every model takes these (through its ``**settings``), documented here once.

    Args:
        loss: the adversarial loss, by name (``zoo.losses``): ``bce`` (non-saturating, Goodfellow
            et al. 2014 §3), ``lsgan`` (Mao et al. 2017), ``hinge`` (Lim & Ye 2017) or ``wgan-gp``
            (Gulrajani et al. 2017).
        gp_weight: λ of the WGAN-GP gradient penalty (used with ``loss=wgan-gp``).
        n_critic: discriminator steps per generator step, each on a new batch (5 is WGAN-GP's).
        r1_weight: γ of the R1 penalty γ/2 · E_x[‖∇_x D(x)‖²] on real data (Mescheder et al.
            2018, Eq. 9); 0 turns it off.
        r1_interval: compute R1 on every ``r1_interval``-th D step only, weighted by
            ``r1_interval`` (the lazy regularisation of Karras et al. 2020, §3.1).
        lr: Adam learning rate of the networks (DCGAN: 2e-4).
        betas: Adam (β1, β2) (DCGAN: (0.5, 0.999); WGAN-GP: (0.0, 0.9)).
        lr_decay_start: if set, every learning rate decays linearly from this iteration to 0 at
            ``trainer.max_steps`` (constant otherwise).
        ema_decay: if set (e.g. 0.999), keep ``generator_ema``, an exponential moving average of
            the generator's weights (Karras et al. 2018; Yazıcı et al. 2019), used for sampling.
        gradient_clip_val: clip each network's gradient norm to this value before its optimizer
            steps (Lightning's trainer-level clipping does not apply under manual optimisation).
        spectral_norm: spectrally normalise every layer of the discriminator(s) (Miyato et al. 2018;
            ``zoo.nn.blocks.apply_spectral_norm``: one power iteration per step, state checkpointed).
        spectral_norm_g: the same for the generator(s) (SAGAN, BigGAN).
        diffaugment: DiffAugment policies applied to every image a discriminator sees, reals and
            fakes, in D's and G's steps (Zhao et al. 2020; ``zoo.nn.diffaugment``): any of
            ``color``, ``translation``, ``cutout``, comma-separated; empty: none.
        weight_clip: c of ``loss=wgan``: every critic parameter is clipped to [-c, c] after each of its
            steps (Arjovsky et al. 2017: 0.01).
    """

    #: what the model is and can do, read by every entry point (``zoo.models.capabilities``).
    capabilities: ClassVar[Capabilities]
    #: networks wrapped one by one in DDP (attribute names); subclasses extend it.
    networks: ClassVar[tuple[str, ...]] = ("generator", "discriminator")
    #: shared settings this model cannot honour, with the reason: a non-default value is refused.
    fixed_settings: ClassVar[Mapping[str, str]] = {}
    #: the ε of the spectral norm's power iteration (torch's default; BigGAN uses 1e-6)
    spectral_norm_eps: ClassVar[float] = 1e-12
    #: the networks in :attr:`networks` that judge images (spectral norm, DiffAugment); the others generate.
    discriminators: ClassVar[tuple[str, ...]] = ("discriminator",)
    #: the DiffAugment policies this model's discriminators can take, and why not the others (pix2pix).
    diffaugment_policies: ClassVar[tuple[str, ...]] = POLICIES
    #: each step runs only part of a network (ProGAN: the current resolution), so DDP must look for
    #: the parameters without gradient (``find_unused_parameters``).
    partial_forward: ClassVar[bool] = False

    def __init__(
        self,
        *,
        loss: LossName = "bce",
        gp_weight: float = 10.0,
        n_critic: int = 1,
        r1_weight: float = 0.0,
        r1_interval: int = 1,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_decay_start: int | None = None,
        ema_decay: float | None = None,
        gradient_clip_val: float | None = None,
        spectral_norm: bool = False,
        spectral_norm_g: bool = False,
        diffaugment: str = "",
        weight_clip: float = 0.01,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.save_hyperparameters()  # the subclass's arguments too: Lightning reads every __init__ frame
        check_settings(type(self), dict(
            loss=loss, gp_weight=gp_weight, n_critic=n_critic, r1_weight=r1_weight, r1_interval=r1_interval, lr=lr,
            betas=tuple(betas), lr_decay_start=lr_decay_start, ema_decay=ema_decay, gradient_clip_val=gradient_clip_val,
            spectral_norm=spectral_norm, spectral_norm_g=spectral_norm_g, diffaugment=diffaugment,
            weight_clip=weight_clip,
        ))
        self.augment = DiffAugment(self.checked_policy(diffaugment))
        self.adversarial = self.adversarial_loss(loss)
        self._ddp: dict[str, nn.Module] = {}
        self.init_update_state()
        self.init_loss_log()

    @classmethod
    def settings(cls) -> dict[str, Any]:
        """The shared settings this model takes, with its defaults (a model's own default where it
        re-declares one); the :attr:`fixed_settings` are left out."""
        own = inspect.signature(cls.__init__).parameters
        return {name: own[name].default if name in own else default
                for name, default in shared_setting_defaults().items() if name not in cls.fixed_settings}

    def adversarial_loss(self, name: str) -> AdversarialLoss | None:
        """The loss object for ``loss=name`` (the image-to-image models write theirs in the papers' form)."""
        return get_adversarial_loss(name)

    @classmethod
    def checked_policy(cls, diffaugment: str) -> tuple[str, ...]:
        """``--model.diffaugment`` as a policy tuple, refusing the policies this model's D cannot take."""
        policy = parse_policy(diffaugment)
        refused = [name for name in policy if name not in cls.diffaugment_policies]
        if refused:
            raise ValueError(f"{cls.__name__} does not take diffaugment {', '.join(refused)}: {cls.diffaugment_reason()}; "
                             f"valid choices: {', '.join(cls.diffaugment_policies)}")
        return policy

    @classmethod
    def diffaugment_reason(cls) -> str:
        """Why some DiffAugment policies are refused (a model that restricts them says why)."""
        return "not sound for this model's discriminator"

    # ------------------------------------------------------------------ networks
    def networks_built(self) -> None:
        """Call at the end of a subclass ``__init__``, once its networks exist: applies the shared network
        settings (``spectral_norm`` to the :attr:`discriminators`, ``spectral_norm_g`` to the other
        networks) and creates the generator EMA (``ema_decay``) from the generator as it then is."""
        for name in self.networks:
            judge = name in self.discriminators
            if (judge and self.hparams.spectral_norm) or (not judge and self.hparams.spectral_norm_g):
                apply_spectral_norm(getattr(self, name), eps=self.spectral_norm_eps)
        self.init_ema()
        self._networks_built = True

    def run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call network ``name`` through its DDP wrapper when distributed. In training, a discriminator's
        first argument (the images) goes through ``--model.diffaugment`` first (a fresh draw per call)."""
        net = self._ddp.get(name) or getattr(self, name)
        if args and self.training and self.augment.policy and name in self.discriminators:
            args = (self.augment(args[0]), *args[1:])
        return net(*args, **kwargs)

    def G(self, *args: Any, **kwargs: Any) -> Tensor:
        """The generator G, as called inside ``training_step``."""
        return self.run("generator", *args, **kwargs)

    def D(self, *args: Any, **kwargs: Any) -> Tensor:
        """The discriminator D, as called inside ``training_step``."""
        return self.run("discriminator", *args, **kwargs)

    def wrap_networks(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """Give each network in :attr:`networks` its own (DDP) wrapper; used by the strategy."""
        self._ddp = {name: wrap(getattr(self, name)) for name in self.networks}

    def unwrap_networks(self) -> None:
        self._ddp = {}

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator inference uses: the EMA generator when kept."""
        return self.generator_ema if self.hparams.get("ema_decay") is not None else self.generator

    def export_network(self) -> nn.Module:
        """The network an exported generator runs (``zoo.export``)."""
        return self.sampling_generator

    @contextmanager
    def _eval_mode(self, net: nn.Module) -> Iterator[nn.Module]:
        was_training = net.training
        net.eval()
        try:
            yield net
        finally:
            net.train(was_training)

    # ------------------------------------------------------------- progress grids
    def sample_grid(self) -> tuple[Tensor, int]:
        """Images for the progress grid (from fixed inputs) and ``nrow`` for the grid."""
        raise NotImplementedError(f"{type(self).__name__} must define sample_grid()")

    def progress_grids(self) -> dict[str, tuple[Tensor, int]]:
        """Every grid ``SampleGrid`` writes: ``{"samples": sample_grid()}``, and a model's extras
        (InfoGAN adds one latent-code sweep per continuous code)."""
        return {"samples": self.sample_grid()}

    def grid_requested(self) -> bool:
        """Whether the step just taken asks for a grid besides the periodic ones (ProGAN: the last
        step of a resolution phase). A question: it changes nothing."""
        return False

    # ------------------------------------------------------------ training hooks
    def on_train_start(self) -> None:
        self.clip_critics()  # loss=wgan: the first critic step starts from clipped weights
        # A resumed single-process run continues the random streams it was saved with: the same
        # noise, data order and coin flips as the uninterrupted run (see on_load_checkpoint).
        saved, self._resumed_rng_state = getattr(self, "_resumed_rng_state", None), None
        if saved is not None and self.trainer.world_size == 1:
            restore_rng_state(saved)
        # Lightning seeds every rank identically; give each rank its own noise stream so the
        # ranks' generated batches differ (otherwise DDP averages gradients of identical fakes).
        elif self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.global_rank)

    def on_train_end(self) -> None:
        self.write_final_losses()

    def on_fit_start(self) -> None:
        """Refuse plain ``DDPStrategy`` without ``find_unused_parameters`` (it cannot synchronise a GAN)."""
        strategy = self.trainer.strategy
        if isinstance(strategy, DDPStrategy) and not isinstance(strategy, GANDDPStrategy):
            if not getattr(strategy.model, "find_unused_parameters", False):  # the DistributedDataParallel wrapper
                raise RuntimeError(
                    f"{type(self).__name__} updates its networks one at a time, which plain DDPStrategy cannot "
                    "synchronise without find_unused_parameters=True. Use strategy='gan_ddp' "
                    "(zoo.strategies.GANDDPStrategy: one DDP wrapper per network, no unused parameters); "
                    "`python -m zoo.fit --trainer.strategy ddp` selects it for you."
                )
        if not getattr(self, "_networks_built", False):
            raise RuntimeError(f"{type(self).__name__} never called self.networks_built() at the end of its __init__ "
                               "(spectral norm and the generator EMA are applied there)")

    # ------------------------------------------------------------ checkpoints
    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the checkpoint's random-stream state (:meth:`on_train_start` restores it when the run
        resumes, single process) and its batch count (checkpoints written before the zoo counted
        batches itself hold Lightning's count instead)."""
        zoo_state = checkpoint.get("zoo", {})
        self._resumed_rng_state = zoo_state.get("rng")
        batches = zoo_state.get("batches")
        if batches is None:  # written by an older zoo: the loop's own record of batches trained on
            progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.batch_progress", {})
            batches = progress.get("total", {}).get("completed", 0)
        self._batches_started = int(batches)
        self.critic_steps = int(zoo_state.get("critic_steps", 0))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record which registered model this is, so ``zoo.load(path)`` needs nothing else.
        (Which data set trained it is added by ``zoo.callbacks.RunProvenance``.) Non-finite
        weights are never saved: :class:`DivergenceError` names the network and the tensor."""
        for name in self.networks:
            for key, value in getattr(self, name).state_dict().items():
                if value.is_floating_point() and not torch.isfinite(value).all():
                    raise DivergenceError(
                        f"not saving a checkpoint at iteration {self.global_step}: {name}.{key} holds non-finite "
                        "values (training diverged); the previous checkpoint is kept"
                    )
        checkpoint.setdefault("zoo", {}).update(
            name=MODELS.name_of(self), class_path=f"{type(self).__module__}.{type(self).__qualname__}",
            rng=capture_rng_state(),  # this process's streams (rank 0 under DDP), for an exact resume
            batches=self._batches_started, critic_steps=self.critic_steps,
        )


def shared_setting_defaults() -> dict[str, Any]:
    """The shared settings and their defaults (the keyword-only arguments of ``GANModule.__init__``)."""
    parameters = inspect.signature(GANModule.__init__).parameters.values()
    return {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


def check_settings(cls: type, values: dict[str, Any]) -> None:
    """Validate the shared settings' ``values``, and refuse a non-default value of one ``cls`` fixes."""
    if values["n_critic"] < 1:
        raise ValueError(f"n_critic must be >= 1, got {values['n_critic']}")
    for name in ("gp_weight", "r1_weight"):
        if values[name] < 0:
            raise ValueError(f"{name} must be >= 0, got {values[name]}")
    if values["r1_interval"] < 1:
        raise ValueError(f"r1_interval must be >= 1, got {values['r1_interval']}")
    if values["ema_decay"] is not None and not 0.0 < values["ema_decay"] < 1.0:
        raise ValueError(f"ema_decay must be in (0, 1) or None, got {values['ema_decay']}")
    if values["lr"] <= 0:
        raise ValueError(f"lr must be > 0, got {values['lr']}")
    if values["weight_clip"] <= 0:
        raise ValueError(f"weight_clip must be > 0, got {values['weight_clip']}")
    if values["loss"] == "wgan" and values["r1_weight"] > 0:
        raise ValueError("loss='wgan' keeps its critic Lipschitz by clipping its weights; a gradient penalty (r1_weight "
                         f"{values['r1_weight']}) is WGAN-GP's idea: use loss='wgan-gp', or r1_weight=0")
    defaults = shared_setting_defaults()
    for name, reason in cls.fixed_settings.items():
        if values[name] != defaults[name]:
            raise ValueError(f"{cls.__name__} does not take {name} (got {values[name]!r}): {reason}")
