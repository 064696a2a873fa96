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
from typing import Any, Callable, ClassVar, Iterator

import lightning.pytorch as pl
import torch
from torch import Tensor, nn


def linear_decay(start: int, end: int) -> Callable[[int], float]:
    """LR factor: 1 until iteration ``start``, then linearly to 0 at ``end`` (for ``LambdaLR``)."""
    if end <= start:
        raise ValueError(f"linear LR decay needs end > start, got start={start}, end={end}")
    return lambda step: 1.0 if step < start else max(0.0, (end - step) / (end - start))


class GANModule(pl.LightningModule):
    """Base class of every GAN in the zoo (manual optimisation).

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

    def __init__(self, *, ema_decay: float | None = None, gradient_clip_val: float | None = None) -> None:
        super().__init__()
        self.automatic_optimization = False
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {ema_decay}")
        self.ema_decay = ema_decay
        self.gradient_clip_val = gradient_clip_val
        self._ddp: dict[str, nn.Module] = {}

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
        """``manual_backward`` + optional clipping + step (+ EMA after a generator step)."""
        self.manual_backward(loss)
        if self.gradient_clip_val:
            self.clip_gradients(optimizer, gradient_clip_val=self.gradient_clip_val, gradient_clip_algorithm="norm")
        if self._is_iteration_optimizer(optimizer):
            optimizer.step()  # counted by Lightning: global_step += 1
            self.update_ema()
            self._step_schedulers("step")
        else:
            # The same precision-aware step, but not counted as an iteration.
            self.trainer.strategy.optimizer_step(optimizer.optimizer, closure=lambda: None, model=self)

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

    def noise(self, n: int) -> Tensor:
        """z ~ N(0, I), shape (n, hparams.latent_dim), on the module's device."""
        return torch.randn(n, self.hparams.latent_dim, device=self.device)

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

    @torch.no_grad()
    def update_ema(self) -> None:
        """θ_ema <- β·θ_ema + (1-β)·θ after each generator step; buffers are copied."""
        if self.ema_decay is None:
            return
        for ema_p, p in zip(self.generator_ema.parameters(), self.generator.parameters()):
            ema_p.lerp_(p.detach(), 1.0 - self.ema_decay)
        for ema_b, b in zip(self.generator_ema.buffers(), self.generator.buffers()):
            ema_b.copy_(b)

    def log_losses(self, **losses: Tensor) -> None:
        """Log ``train/<name>`` for each keyword (one scheme for every model)."""
        self.log_dict({f"train/{k}": v.detach() for k, v in losses.items()}, prog_bar=True)

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
    def sample(self, n: int, labels: Tensor | None = None, noise: Tensor | None = None) -> Tensor:
        """``n`` samples G(z) in the data's range, on the module's device (unconditional models).

        ``noise``: optional z of shape (n, latent_dim). Every model shares the signature
        ``sample(n, labels=None, noise=None)``; for an unconditional model any ``labels``
        other than ``None`` is an error. Conditional models override this method.
        """
        if labels is not None:
            raise ValueError(f"{type(self).__name__} is unconditional: sample(n, noise=...) takes no labels")
        latent_dim = self.hparams.latent_dim
        noise = self.noise(n) if noise is None else noise.to(self.device)
        if noise.shape != (n, latent_dim):
            raise ValueError(f"noise must have shape ({n}, {latent_dim}), got {tuple(noise.shape)}")
        with self._eval_mode(self.sampling_generator) as generator:
            return generator(noise)

    def sample_for_metrics(self, n: int) -> tuple[Tensor, Tensor | None]:
        """``n`` samples for FID / IS / KID and the labels they were conditioned on (``None`` if none)."""
        return self.sample(n), None

    def sample_grid(self) -> tuple[Tensor, int]:
        """Images for the progress grid from the fixed noise and ``nrow`` for the grid."""
        raise NotImplementedError

    def on_train_start(self) -> None:
        # Lightning seeds every rank identically; give each rank its own noise stream so the
        # ranks' generated batches differ (otherwise DDP averages gradients of identical fakes).
        if self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.global_rank)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record which registered model this is, so ``zoo.load(path)`` needs nothing else."""
        from zoo.registry import MODELS

        entry = MODELS.find_class(type(self))
        checkpoint["zoo"] = {
            "name": entry.name if entry else type(self).__name__.lower(),
            "class_path": f"{type(self).__module__}.{type(self).__qualname__}",
        }
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        if datamodule is not None:
            from datamodules import DATAMODULES

            data_entry = DATAMODULES.find_class(type(datamodule))
            if data_entry is not None:  # lets zoo.evaluate rebuild the training data
                init_args = {k: v for k, v in dict(datamodule.hparams).items() if not k.startswith("_")}
                checkpoint["zoo"]["data"] = {"name": data_entry.name, "init_args": init_args}

    def on_fit_start(self) -> None:
        from lightning.pytorch.strategies import DDPStrategy

        from zoo.strategies import GANDDPStrategy

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
