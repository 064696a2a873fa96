"""``GANModule``: the LightningModule every variant subclasses.

A variant writes its networks in ``__init__``, its optimizers in
``configure_optimizers`` and one ``training_step`` that reads like the paper's
algorithm. Everything else lives here once:

* manual optimisation: ``with self.updating(opt):`` toggles the optimizer (only
  its parameters require grad), zeroes its gradients and, under DDP, turns on
  gradient synchronisation for exactly the networks that optimizer updates;
  ``self.backward_step(loss, opt)`` runs ``manual_backward``, optional gradient
  clipping, the step, and the generator EMA update.
* **Steps are generator iterations.** Lightning's ``global_step`` counts every
  ``optimizer.step()`` under manual optimisation (two per batch for a GAN).
  Here only the *first* optimizer returned by ``configure_optimizers`` (by
  convention the generator's) is counted, so ``global_step``,
  ``--trainer.max_steps``, sample/metric intervals and checkpoint names all
  count training iterations, as GAN papers do. The logged ``step`` column
  counts batches, which equals iterations unless a model skips G updates
  (e.g. WGAN-GP's ``n_critic``).
* the discriminator's update, once for every model: :meth:`GANModule.init_adversarial`
  validates and keeps the adversarial loss (``zoo.losses``), ``gp_weight``, ``n_critic``,
  ``r1_weight`` and ``r1_interval``; :meth:`GANModule.penalise` adds the WGAN-GP
  gradient penalty and the (lazy) R1 penalty to D's loss; :meth:`GANModule.generator_turn`
  says whether G steps after this batch (``n_critic``); :meth:`GANModule.discriminator_norm`
  is the one ``"auto"`` normalisation rule.
* one sampling contract, ``sample(n, *, noise=None, **conditions)`` (:meth:`GANModule.sample`).
* LR schedulers returned by ``configure_optimizers`` are stepped by the module
  (per iteration for ``interval="step"``, per epoch for ``"epoch"``).
* the fixed sampling noise is a buffer (saved, moved with the module, identical
  on every rank); an optional EMA of the generator weights
  (Karras et al. 2018; Yazıcı et al. 2019) is used by :meth:`sample` when on.
* log keys: ``train/d_loss``, ``train/g_loss``, ... (``self.log_losses``).
* DDP: with :class:`zoo.strategies.GANDDPStrategy` each network in
  :attr:`networks` gets its own ``DistributedDataParallel`` wrapper and is
  called through ``self.run(name, ...)`` (``self.G`` / ``self.D``), so no
  parameter is ever "unused" and ``find_unused_parameters`` stays off.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from collections.abc import Mapping
from typing import Any, Callable, ClassVar, Iterator

import lightning.pytorch as pl
import torch
from lightning.pytorch.strategies import DDPStrategy
from torch import Tensor, nn

from zoo.losses import AdversarialLoss, get_adversarial_loss, gradient_penalty, r1_penalty
from zoo.random_state import capture_rng_state, restore_rng_state
from zoo.registry import MODELS
from zoo.strategies import GANDDPStrategy
from zoo.weights import check_state_dict


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or weight; the message names the iteration, loss and network."""


def linear_decay(start: int, end: int) -> Callable[[int], float]:
    """LR factor: 1 until iteration ``start``, then linearly to 0 at ``end`` (for ``LambdaLR``)."""
    if end <= start:
        raise ValueError(f"linear LR decay needs end > start, got start={start}, end={end}")
    return lambda step: 1.0 if step < start else max(0.0, (end - step) / (end - start))


class GANModule(pl.LightningModule):
    """Base class of every GAN in the zoo (manual optimisation).

    Sampling, the one contract of every model: ``sample(n, *, noise=None, **conditions)``
    returns ``n`` samples G(z[, c]) (images (n, C, H, W) in [-1, 1]); ``noise`` fixes z;
    the conditions are keyword-only, optional and named by :attr:`sample_conditions`
    (``labels=`` for cgan / acgan, ``codes=`` for InfoGAN, none for the unconditional
    models); any other keyword is a ``ValueError`` naming the valid ones. See :meth:`sample`.

    The discriminator update, shared: :meth:`init_adversarial` (loss, ``gp_weight``,
    ``n_critic``, ``r1_weight``, ``r1_interval``), :meth:`real_input`, :meth:`penalise`,
    :meth:`generator_turn` and :meth:`discriminator_norm`.

    Args:
        ema_decay: if set (e.g. 0.999), keep ``generator_ema``, an exponential
            moving average of the generator's weights, used for sampling.
        gradient_clip_val: clip each network's gradient norm to this value
            before its optimizer steps (Lightning's trainer-level clipping does
            not apply under manual optimisation).
    """

    #: networks wrapped one by one in DDP (attribute names); subclasses extend it.
    networks: ClassVar[tuple[str, ...]] = ("generator", "discriminator")
    #: index (in ``configure_optimizers``) of the optimizer whose steps count as iterations.
    iteration_optimizer: ClassVar[int] = 0
    #: the keyword conditions :meth:`sample` takes (``("labels",)``: cgan, acgan; ``("codes",)``: InfoGAN).
    sample_conditions: ClassVar[tuple[str, ...]] = ()
    #: what a pretrained weights file holds (attribute names: networks or buffers). ``"generator"``
    #: is saved from :attr:`sampling_generator` (the EMA weights when kept) and loaded into both.
    pretrained_parts: ClassVar[tuple[str, ...]] = ("generator",)

    def __init__(self, *, ema_decay: float | None = None, gradient_clip_val: float | None = None) -> None:
        super().__init__()
        self.automatic_optimization = False
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {ema_decay}")
        self.ema_decay = ema_decay
        self.gradient_clip_val = gradient_clip_val
        self._ddp: dict[str, nn.Module] = {}
        self._latest_losses: dict[str, Tensor] = {}  # the last value of each train/ loss (see log_losses)
        # The D update's configuration, set by init_adversarial (defaults: no penalty, G every batch).
        self.adversarial: AdversarialLoss | None = None
        self.gp_weight, self.n_critic, self.r1_weight, self.r1_interval = 10.0, 1, 0.0, 1

    # ------------------------------------------------------------------ networks
    def init_ema(self) -> None:
        """Create ``generator_ema`` (call at the end of a subclass ``__init__``)."""
        if self.ema_decay is not None:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)

    def run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call network ``name`` through its DDP wrapper when distributed."""
        net = self._ddp.get(name) or getattr(self, name)
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

    # -------------------------------------------------------------- optimisation
    @contextmanager
    def updating(self, optimizer) -> Iterator[None]:
        """Context for one network's update: only ``optimizer``'s parameters require grad,
        its gradients start at zero, and only its networks synchronise gradients under DDP."""
        self.toggle_optimizer(optimizer)
        optimizer.zero_grad(set_to_none=True)
        owned = {id(p) for group in optimizer.param_groups for p in group["params"]}
        for wrapper in self._ddp.values():
            wrapper.require_backward_grad_sync = any(id(p) in owned for p in wrapper.parameters())
        try:
            yield
        finally:
            for wrapper in self._ddp.values():
                wrapper.require_backward_grad_sync = True
            self.untoggle_optimizer(optimizer)

    def backward_step(self, loss: Tensor, optimizer) -> None:
        """``manual_backward`` + step (+ EMA after a generator step); clipping happens in
        :meth:`on_before_optimizer_step`. Each optimizer step goes through the precision plugin,
        so under ``16-mixed`` every optimizer gets its own unscale / step / update of the scaler."""
        self.manual_backward(loss)
        if self._is_iteration_optimizer(optimizer):
            optimizer.step()  # counted by Lightning: global_step += 1
            self.update_ema()
            self._step_schedulers("step")
        else:
            # The same precision-aware step, but not counted as an iteration.
            self.trainer.strategy.optimizer_step(optimizer.optimizer, closure=lambda: None, model=self)

    def on_before_optimizer_step(self, optimizer) -> None:
        """Clip the gradient norm of the network being updated to ``gradient_clip_val``. Lightning calls
        this inside the precision plugin's step, after ``16-mixed``'s scaler has unscaled the
        gradients: clipping before the step would clip the scaled gradients (by 2**16) instead."""
        if self.gradient_clip_val:
            self.clip_gradients(optimizer, gradient_clip_val=self.gradient_clip_val, gradient_clip_algorithm="norm")

    def configure_optimizers(self):
        """Adam for G and D from ``hparams``: ``lr`` (``generator_lr`` for G when the model has
        one), ``betas``, and linear decay from ``lr_decay_start`` when set. G's optimizer comes
        first: its steps count as iterations. Models with other networks override this."""
        hp = self.hparams
        betas = tuple(hp.betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=hp.get("generator_lr") or hp.lr, betas=betas)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=hp.lr, betas=betas)
        return [opt_g, opt_d], self.linear_decay_schedulers([opt_g, opt_d], hp.get("lr_decay_start"))

    @property
    def batch_number(self) -> int:
        """Index of the current training batch counted across epochs (restored on resume).

        Schedules that count batches (``n_critic``, lazy regularisation) use it rather
        than ``training_step``'s ``batch_idx``, which restarts at 0 every epoch.
        """
        return self.trainer.fit_loop.epoch_loop.total_batch_idx

    # ------------------------------------------------------- the discriminator update
    def init_adversarial(
        self,
        loss: str | AdversarialLoss | None,
        *,
        gp_weight: float = 10.0,
        n_critic: int = 1,
        r1_weight: float = 0.0,
        r1_interval: int = 1,
    ) -> None:
        """Validate and keep the configuration of the D update (call in a subclass ``__init__``).

        Args:
            loss: the adversarial loss, by name (``zoo.losses.LOSSES``: ``bce``, ``lsgan``,
                ``hinge``, ``wgan-gp``) or as an object; ``None`` for a model that writes its
                own D loss (SGAN): no gradient penalty then.
            gp_weight: λ of the WGAN-GP gradient penalty (Gulrajani et al. 2017), used when the
                loss needs it (``wgan-gp``).
            n_critic: D steps per G step, each on a new batch (:meth:`generator_turn`).
            r1_weight: γ of the R1 penalty γ/2 · E_x[‖∇_x D(x)‖²] on real data (Mescheder et
                al. 2018, Eq. 9); 0 turns it off.
            r1_interval: compute R1 on every ``r1_interval``-th D step only, weighted by
                ``r1_interval``: the lazy regularisation of Karras et al. 2020 (StyleGAN2, §3.1).
        """
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        if gp_weight < 0:
            raise ValueError(f"gp_weight must be >= 0, got {gp_weight}")
        if r1_weight < 0:
            raise ValueError(f"r1_weight must be >= 0, got {r1_weight}")
        if r1_interval < 1:
            raise ValueError(f"r1_interval must be >= 1, got {r1_interval}")
        self.adversarial = get_adversarial_loss(loss) if isinstance(loss, str) else loss
        self.gp_weight, self.n_critic, self.r1_weight, self.r1_interval = gp_weight, n_critic, r1_weight, r1_interval

    @property
    def needs_gradient_penalty(self) -> bool:
        """Whether D's loss gets the WGAN-GP gradient penalty (the loss asks for it)."""
        return self.adversarial is not None and self.adversarial.needs_gradient_penalty

    def discriminator_norm(
        self, norm: str, flag: str = "discriminator_norm", per_image: tuple[str, ...] = ("layer", "instance", "none")
    ) -> str:
        """D's normalisation: ``"auto"`` is layer norm when D's loss has the gradient penalty,
        batch norm otherwise (call after :meth:`init_adversarial`).

        The penalty is defined per image, which batch norm (one output depends on the whole
        batch) breaks: "we use layer normalization as a drop-in replacement for batch
        normalization" (Gulrajani et al. 2017, §4). So batch norm with ``wgan-gp`` is an error
        naming ``flag`` and the model's ``per_image`` norms.
        """
        if norm == "auto":
            return "layer" if self.needs_gradient_penalty else "batch"
        if norm == "batch" and self.needs_gradient_penalty:
            raise ValueError(
                f"{flag}='batch' cannot be used with loss={self.adversarial.name!r}: batch norm mixes the images "
                f"of a batch, and the gradient penalty is per image; valid choices: {', '.join(per_image)}"
            )
        return norm

    def generator_turn(self) -> bool:
        """Whether G updates after this batch's D step: on every ``n_critic``-th batch
        (Gulrajani et al. 2017, Algorithm 1), counted across epochs (:attr:`batch_number`)."""
        return self.n_critic == 1 or (self.batch_number + 1) % self.n_critic == 0

    def r1_turn(self) -> bool:
        """Whether this batch's D step computes R1: on every ``r1_interval``-th batch, when on."""
        return self.r1_weight > 0 and self.batch_number % self.r1_interval == 0

    def real_input(self, real: Tensor) -> Tensor:
        """The real batch as D's input: on the steps that compute R1 a copy that requires grad
        (so that ∇_x D(x) exists; call it before ``D(real)``), ``real`` itself otherwise."""
        return real.detach().requires_grad_(True) if self.r1_turn() else real

    def penalise(
        self,
        d_loss: Tensor,
        *,
        real: Tensor,
        real_logits: Tensor,
        fake: Tensor | None = None,
        critic: Callable[[Tensor], Tensor] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """``d_loss`` plus this D step's gradient penalties, and their unweighted values to log.

        * ``gradient_penalty``, when the loss needs it (``wgan-gp``): ``gp_weight ·
          E[(‖∇_x̂ critic(x̂)‖₂ - 1)²]`` at random interpolates x̂ of ``real`` and ``fake``
          (Gulrajani et al. 2017, Eq. 3; :func:`zoo.losses.gradient_penalty`).
        * ``r1``, on the steps :meth:`r1_turn` picks: ``r1_interval · r1_weight / 2 ·
          E_x[‖∇_x D(x)‖²]`` with ``real_logits = D(real)`` and ``real`` from
          :meth:`real_input` (Mescheder et al. 2018, Eq. 9, γ = ``r1_weight``; lazy with weight
          ``r1_interval``: Karras et al. 2020, §3.1; :func:`zoo.losses.r1_penalty`).

        ``critic`` maps images to D's logits (default ``self.D``; a lambda passes D's
        condition, e.g. ``lambda images: self.D(images, y)``); both penalties differentiate
        with respect to the images ``real`` / ``fake``, never the condition. Without any
        penalty ``d_loss`` is returned unchanged.
        """
        logged: dict[str, Tensor] = {}
        if self.needs_gradient_penalty:
            if fake is None:
                raise ValueError(f"loss={self.adversarial.name!r} needs the fake batch for its gradient penalty")
            penalty = gradient_penalty(critic or self.D, real, fake)
            d_loss = d_loss + self.gp_weight * penalty
            logged["gradient_penalty"] = penalty
        if self.r1_turn():
            r1 = r1_penalty(real_logits, real)
            d_loss = d_loss + self.r1_weight * self.r1_interval / 2 * r1
            logged["r1"] = r1
        return d_loss, logged

    @property
    def noise_dim(self) -> int:
        """Size of the noise z (``hparams.latent_dim``; InfoGAN: ``noise_dim``)."""
        return self.hparams.latent_dim

    def noise(self, n: int) -> Tensor:
        """z ~ N(0, I), shape (n, noise_dim), on the module's device."""
        return torch.randn(n, self.noise_dim, device=self.device)

    def linear_decay_schedulers(self, optimizers: list, start: int | None) -> list[dict]:
        """Per-iteration ``LambdaLR`` schedulers decaying every LR linearly to 0 at ``max_steps``."""
        if start is None:
            return []
        end = self.trainer.max_steps
        if end is None or end < 0:
            raise ValueError("lr_decay_start needs --trainer.max_steps to know where the decay ends")
        factor = linear_decay(start, end)
        return [
            {"scheduler": torch.optim.lr_scheduler.LambdaLR(opt, factor), "interval": "step"} for opt in optimizers
        ]

    def _is_iteration_optimizer(self, optimizer) -> bool:
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        return optimizer is optimizers[self.iteration_optimizer]

    def on_train_epoch_end(self) -> None:
        self._step_schedulers("epoch")

    def _step_schedulers(self, interval: str) -> None:
        configs = self.trainer.lr_scheduler_configs if self._trainer is not None else []
        for config in configs:
            if config.interval == interval:
                config.scheduler.step()

    def ema_beta(self) -> float:
        """β of the next EMA update: ``ema_decay`` (a subclass may tie it to the images per step)."""
        return self.ema_decay

    @torch.no_grad()
    def update_ema(self) -> None:
        """θ_ema <- β·θ_ema + (1-β)·θ after each generator step (β: :meth:`ema_beta`); buffers are copied."""
        if self.ema_decay is None:
            return
        beta = self.ema_beta()
        for ema_p, p in zip(self.generator_ema.parameters(), self.generator.parameters()):
            ema_p.lerp_(p.detach(), 1.0 - beta)
        for ema_b, b in zip(self.generator_ema.buffers(), self.generator.buffers()):
            ema_b.copy_(b)

    def log_losses(self, **losses: Tensor) -> None:
        """Log ``train/<name>`` for each keyword (one scheme for every model), after checking that
        every loss is finite (:meth:`check_finite`).

        Handed to Lightning only on the steps whose logs it writes (every ``log_every_n_steps``, and
        the last step): ``self.log`` costs about a millisecond per key in Python, as much as a whole
        iteration of the 2-D toy (``benchmarks.overhead`` measured it), and the values of the other
        steps were never written. A loss computed only on some steps (lazy R1, ``n_critic``) is
        logged with its latest value.
        """
        self.check_finite(losses)
        self._latest_losses.update({f"train/{k}": v.detach() for k, v in losses.items()})
        if self.writes_logs_now():
            self.log_dict(self._latest_losses, prog_bar=True)

    def writes_logs_now(self) -> bool:
        """Whether Lightning writes this training step's logs (``log_every_n_steps``, or the run's last
        step); ``True`` outside a Trainer."""
        trainer = self._trainer
        connector = getattr(trainer, "_logger_connector", None)
        if connector is None:
            return True
        last = trainer.max_steps is not None and 0 < trainer.max_steps <= self.global_step
        return bool(connector.should_update_logs or last)

    def check_finite(self, losses: dict[str, Tensor]) -> None:
        """Stop training at the first non-finite loss, naming the iteration, the loss and its network.

        One host synchronisation per step (all losses checked in one reduction). The checkpoint
        callbacks then write nothing more, so the last checkpoint on disk is the last good one
        (:meth:`on_save_checkpoint` also refuses to save non-finite weights).
        """
        if not losses or torch.stack([v.detach().float().reshape(()) for v in losses.values()]).isfinite().all():
            return
        bad = {k: float(v) for k, v in losses.items() if not torch.isfinite(v.detach()).all()}
        names = ", ".join(f"train/{k} = {v}" for k, v in bad.items())
        owners = sorted({self._owner_of_loss(k) for k in bad})
        raise DivergenceError(
            f"training diverged at iteration {self.global_step} (batch {self.batch_number}): {names} "
            f"(the {' and '.join(owners)}'s loss). Nothing from this step was saved; the last checkpoint is the "
            "last good one. Lower the learning rate, or add --model.gradient_clip_val / a gradient penalty."
        )

    @staticmethod
    def _owner_of_loss(name: str) -> str:
        return "generator" if name.startswith("g_") else "discriminator"

    # ----------------------------------------------------------------- inference
    @property
    def sampling_generator(self) -> nn.Module:
        """The network used for sampling: the EMA generator when enabled."""
        return self.generator_ema if self.ema_decay is not None else self.generator

    @contextmanager
    def _eval_mode(self, net: nn.Module) -> Iterator[nn.Module]:
        was_training = net.training
        net.eval()
        try:
            yield net
        finally:
            net.train(was_training)

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
                names in :attr:`sample_conditions`: ``labels=`` for the class-conditional models
                (cgan, acgan: a class index or a tensor of ``n``), ``codes=`` for InfoGAN
                (``{"categorical": ..., "continuous": ...}``); none for the unconditional models.
                Any other keyword is a ``ValueError`` naming the valid ones.

        Returns:
            a tensor (n, C, H, W) for image models (values in [-1, 1]; (n, 2) points for the
            2-D toy), made by :attr:`sampling_generator` (the EMA generator when enabled) in
            eval mode, without gradients. The image-to-image models translate inputs instead
            (``translate``). Subclasses override :meth:`sample_inputs` and :meth:`generate`.
        """
        unknown = sorted(set(conditions) - set(self.sample_conditions))
        if unknown:
            name = type(self).__name__
            valid = ", ".join(self.sample_conditions)
            raise ValueError(
                f"{name}.sample() got unknown condition(s) {', '.join(unknown)}; "
                + (f"valid conditions: {valid}" if valid else f"{name} is unconditional: it takes only n and noise=")
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

    def sample_grid(self) -> tuple[Tensor, int]:
        """Images for the progress grid from the fixed noise and ``nrow`` for the grid."""
        raise NotImplementedError

    # ----------------------------------------------------------------- pretrained weights
    def _pretrained_source(self, part: str) -> nn.Module | Tensor:
        return self.sampling_generator if part == "generator" else getattr(self, part)

    def pretrained_state_dict(self, dtype: torch.dtype | None = torch.float16) -> dict[str, Tensor]:
        """The tensors a pretrained weights file holds: :attr:`pretrained_parts`, on the CPU.

        Keys are ``"<part>.<key>"`` (``"generator.net.0.weight"``; a buffer part is its own key).
        Floating-point tensors are cast to ``dtype`` (float16 halves the packaged files; the
        weights' metrics are measured on what the file holds); ``None`` keeps their dtype.
        """
        state: dict[str, Tensor] = {}
        for part in self.pretrained_parts:
            source = self._pretrained_source(part)
            items = source.state_dict().items() if isinstance(source, nn.Module) else [("", source)]
            for key, value in items:
                value = value.detach().cpu()
                if dtype is not None and value.is_floating_point():
                    value = value.to(dtype)
                state[f"{part}.{key}" if key else part] = value
        return state

    def load_pretrained_state(self, state: Mapping[str, Tensor], what: str = "the weights") -> None:
        """Load :meth:`pretrained_state_dict`'s tensors (any float dtype) strictly.

        Every key of :attr:`pretrained_parts` must be there with its shape, and nothing else
        (:class:`zoo.weights.StateDictMismatchError` lists the offending keys). The generator's
        weights go into ``generator`` and, when the model keeps one, ``generator_ema``.
        """
        expected = self.pretrained_state_dict(dtype=None)
        check_state_dict(state, expected, f"{what} do not fit {type(self).__name__} "
                         "(check the constructor arguments: image shape, widths, classes)")
        for part in self.pretrained_parts:
            targets = [self.generator] if part == "generator" else [self._pretrained_source(part)]
            if part == "generator" and self.ema_decay is not None:
                targets.append(self.generator_ema)
            for target in targets:
                if isinstance(target, nn.Module):
                    prefix = part + "."
                    own = target.state_dict()
                    target.load_state_dict(
                        {k[len(prefix):]: v.to(own[k[len(prefix):]].dtype) for k, v in state.items()
                         if k.startswith(prefix)}, strict=True)
                else:
                    target.copy_(state[part])

    # ----------------------------------------------------------------- export
    def export_network(self) -> nn.Module:
        """The network an exported generator runs (:attr:`sampling_generator`)."""
        return self.sampling_generator

    def export_inputs(self, n: int) -> dict[str, Tensor]:
        """Named example inputs of :meth:`export_forward` for ``n`` samples (``noise`` first)."""
        return {"noise": self.noise(n)}

    def export_forward(self, generator: nn.Module, noise: Tensor, *conditions: Tensor) -> Tensor:
        """The images of ``generator`` for tensors laid out as :meth:`export_inputs` (``zoo.export``)."""
        return self.generate(generator, noise)

    def on_train_start(self) -> None:
        # A resumed single-process run continues the random streams it was saved with: the same
        # noise, data order and coin flips as the uninterrupted run (see on_load_checkpoint).
        saved, self._resumed_rng_state = getattr(self, "_resumed_rng_state", None), None
        if saved is not None and self.trainer.world_size == 1:
            restore_rng_state(saved)
        # Lightning seeds every rank identically; give each rank its own noise stream so the
        # ranks' generated batches differ (otherwise DDP averages gradients of identical fakes).
        elif self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.global_rank)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the checkpoint's random-stream state; :meth:`on_train_start` restores it when the
        run resumes (single process: under DDP each rank restarts its own seeded stream)."""
        self._resumed_rng_state = checkpoint.get("zoo", {}).get("rng")

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
        )

    def on_fit_start(self) -> None:
        strategy = self.trainer.strategy
        if (
            isinstance(strategy, DDPStrategy)
            and not isinstance(strategy, GANDDPStrategy)
            and not strategy._ddp_kwargs.get("find_unused_parameters", False)
        ):
            raise RuntimeError(
                f"{type(self).__name__} updates its networks one at a time, which plain DDPStrategy cannot "
                "synchronise without find_unused_parameters=True. Use strategy='gan_ddp' "
                "(zoo.strategies.GANDDPStrategy: one DDP wrapper per network, no unused parameters); "
                "`python -m zoo.fit --trainer.strategy ddp` selects it for you."
            )
