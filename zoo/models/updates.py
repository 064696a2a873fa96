"""How a network is updated: the mechanics every GAN shares, written once (a mixin of ``GANModule``).

* ``with self.updating(opt):`` toggles the optimizer (only its parameters require grad), zeroes
  its gradients and, under DDP, turns on gradient synchronisation for exactly the networks that
  optimizer updates; ``self.backward_step(loss, opt)`` runs ``manual_backward``, the step
  (clipped in :meth:`UpdateMechanics.on_before_optimizer_step`) and, after a generator step,
  the EMA update and the per-iteration LR schedulers.
* **Steps are generator iterations.** Lightning's ``global_step`` counts every
  ``optimizer.step()`` under manual optimisation (two per batch for a GAN). Only the *first*
  optimizer returned by ``configure_optimizers`` (by convention the generator's) is counted,
  so ``global_step``, ``--trainer.max_steps``, sample / metric intervals, checkpoint names and
  the ``step`` column of ``metrics.csv`` all count training iterations, as GAN papers do.
* **Batches are counted here**, not read from Lightning's loops (private attributes there):
  :attr:`UpdateMechanics.batch_number` is the index of the current training batch across
  epochs, saved in checkpoints and restored on resume; ``n_critic`` and lazy R1 count it.
* LR schedulers returned by ``configure_optimizers`` are stepped by the module (per iteration
  for ``interval="step"``, per epoch for ``"epoch"``); :meth:`linear_decay_schedulers` is the
  ``lr_decay_start`` schedule.
* The generator EMA (Karras et al. 2018; Yazıcı et al. 2019): θ_ema <- β·θ_ema + (1-β)·θ after
  each generator step, β = ``ema_decay`` (or :meth:`ema_beta`).
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch
from torch import Tensor


def linear_decay(start: int, end: int) -> Callable[[int], float]:
    """LR factor: 1 until iteration ``start``, then linearly to 0 at ``end`` (for ``LambdaLR``)."""
    if end <= start:
        raise ValueError(f"linear LR decay needs end > start, got start={start}, end={end}")
    return lambda step: 1.0 if step < start else max(0.0, (end - step) / (end - start))


def fused_adam_applies(parameters: list) -> bool:
    """Whether torch's fused Adam kernel can take ``parameters`` (floating point, on a CPU or CUDA device).

    One fused kernel updates every tensor where the default implementation loops over them in
    Python (measured in docs/benchmarks.md); the update is the same algorithm (Kingma & Ba), rounded
    differently.
    """
    parameters = [p for group in parameters for p in (group["params"] if isinstance(group, dict) else [group])]
    return bool(parameters) and all(p.dtype.is_floating_point and p.device.type in ("cpu", "cuda") for p in parameters)


class UpdateMechanics:
    """Optimizer toggling, backward + step, clipping, LR schedules, the generator EMA and batch counting."""

    #: index (in ``configure_optimizers``) of the optimizer whose steps count as iterations.
    iteration_optimizer: int = 0

    def init_update_state(self) -> None:
        """The counters this mixin keeps (called by ``GANModule.__init__``)."""
        self._batch_number = 0  # index of the batch being trained on, across epochs
        self._batches_started = 0  # batches whose training_step has begun (restored on resume)
        self.critic_steps = 0  # discriminator steps since the last generator step (restored on resume)

    @property
    def has_trainer(self) -> bool:
        """Whether a Trainer drives this module (Lightning's ``trainer`` raises otherwise)."""
        try:
            self.trainer
        except RuntimeError:
            return False
        return True

    # -------------------------------------------------------------- batches
    @property
    def batch_number(self) -> int:
        """Index of the current training batch counted across epochs (restored on resume).

        Schedules that count batches (``n_critic``, lazy regularisation) use it rather than
        ``training_step``'s ``batch_idx``, which restarts at 0 every epoch.
        """
        return self._batch_number

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._batch_number = self._batches_started
        self._batches_started += 1

    # ----------------------------------------------------------- one update
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
        """``manual_backward`` + step (+ EMA and per-iteration schedulers after a generator step).

        A non-finite ``loss`` stops training *before* its backward (``check_finite``), so the
        weights stay those of the last good step. Each optimizer step goes through the precision
        plugin, so under ``16-mixed`` every optimizer gets its own unscale / step / scaler update.
        """
        self.check_finite({self._loss_name(optimizer): loss})
        self.manual_backward(loss)
        if self._is_iteration_optimizer(optimizer):
            optimizer.step()  # counted by Lightning: global_step += 1
            self.update_ema()
            self._step_schedulers("step")
            self.critic_steps = 0
        else:
            # The same precision-aware step, but not counted as an iteration.
            self.trainer.strategy.optimizer_step(optimizer.optimizer, closure=lambda: None, model=self)
            self.critic_steps += 1
            self.clip_critics()

    def _loss_name(self, optimizer) -> str:
        return "g_total" if self._is_iteration_optimizer(optimizer) else "d_total"

    def on_before_optimizer_step(self, optimizer) -> None:
        """Clip the gradient norm of the network being updated to ``gradient_clip_val``. Lightning calls
        this inside the precision plugin's step, after ``16-mixed``'s scaler has unscaled the
        gradients: clipping before the step would clip the scaled gradients (by 2**16) instead."""
        if self.hparams.gradient_clip_val:
            self.clip_gradients(optimizer, gradient_clip_val=self.hparams.gradient_clip_val,
                                gradient_clip_algorithm="norm")

    def _is_iteration_optimizer(self, optimizer) -> bool:
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        return optimizer is optimizers[self.iteration_optimizer]

    # ------------------------------------------------------------ optimizers
    def configure_optimizers(self):
        """One optimizer for G and one for D (:meth:`make_optimizer`: ``lr``, ``generator_lr`` for G when the
        model has one), and linear decay from ``lr_decay_start`` when set. G's optimizer comes first: its
        steps count as iterations. Models with other networks override this."""
        hp = self.hparams
        opt_g = self.make_optimizer(self.generator.parameters(), lr=hp.get("generator_lr") or hp.lr)
        opt_d = self.make_optimizer(self.discriminator.parameters())
        return [opt_g, opt_d], self.linear_decay_schedulers([opt_g, opt_d], hp.lr_decay_start)

    def make_optimizer(self, parameters, lr: float | None = None, **adam: Any) -> torch.optim.Optimizer:
        """The optimizer of the shared settings: Adam(``lr``, ``betas``, ``**adam``), or RMSprop(``lr``) with
        ``loss=wgan``, as the WGAN paper trains (Arjovsky et al. 2017, §4: momentum-based optimizers such as
        Adam made its clipped critic unstable)."""
        hp = self.hparams
        lr = hp.lr if lr is None else lr
        parameters = list(parameters)
        if hp.get("loss") == "wgan":
            return torch.optim.RMSprop(parameters, lr=lr)
        try:
            precision = str(getattr(self.trainer, "precision", ""))
        except RuntimeError:  # a module not attached to a Trainer
            precision = ""
        # Lightning's mixed-precision plugins refuse to clip a fused optimizer's gradients (it would unscale inside)
        refused = bool(hp.get("gradient_clip_val")) and "mixed" in precision
        adam.setdefault("fused", not refused and fused_adam_applies(parameters))
        return torch.optim.Adam(parameters, lr=lr, betas=tuple(hp.betas), **adam)

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

    def on_train_epoch_end(self) -> None:
        self._step_schedulers("epoch")

    def _step_schedulers(self, interval: str) -> None:
        configs = self.trainer.lr_scheduler_configs if self.has_trainer else []
        for config in configs:
            if config.interval == interval:
                config.scheduler.step()

    # ------------------------------------------------------------------- EMA
    def init_ema(self) -> None:
        """Create ``generator_ema`` when ``ema_decay`` is set (``GANModule.networks_built`` calls it, once
        the generator exists and its spectral norm, if any, is applied)."""
        if self.hparams.ema_decay is not None:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)

    def ema_beta(self) -> float:
        """β of the next EMA update: ``ema_decay`` (a subclass may tie it to the images per step)."""
        return self.hparams.ema_decay

    @torch.no_grad()
    def update_ema(self) -> None:
        """θ_ema <- β·θ_ema + (1-β)·θ after each generator step (β: :meth:`ema_beta`); buffers are copied."""
        if self.hparams.ema_decay is None:
            return
        beta = self.ema_beta()
        for ema_p, p in zip(self.generator_ema.parameters(), self.generator.parameters()):
            ema_p.lerp_(p.detach(), 1.0 - beta)
        for ema_b, b in zip(self.generator_ema.buffers(), self.generator.buffers()):
            ema_b.copy_(b)
