"""The discriminator's update, shared by every model (a mixin of ``GANModule``).

The adversarial settings themselves (``loss``, ``gp_weight``, ``n_critic``, ``r1_weight``,
``r1_interval``) are constructor arguments of ``GANModule``, declared once; this mixin is what
a ``training_step`` does with them:

* :meth:`DiscriminatorUpdate.real_input` and :meth:`~DiscriminatorUpdate.penalise`: the WGAN-GP
  gradient penalty (Gulrajani et al. 2017, Eq. 3) and the (lazy) R1 penalty (Mescheder et al.
  2018, Eq. 9; Karras et al. 2020, §3.1) added to D's loss;
* :meth:`~DiscriminatorUpdate.generator_turn`: whether G steps after this batch (``n_critic``,
  Gulrajani et al. 2017, Algorithm 1);
* :meth:`~DiscriminatorUpdate.discriminator_norm`: the one ``"auto"`` normalisation rule.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from zoo.losses import AdversarialLoss, gradient_penalty, r1_penalty


class DiscriminatorUpdate:
    """Penalties, the ``n_critic`` schedule and the normalisation rule of D's update."""

    #: the adversarial loss object (``zoo.losses``), or ``None`` for a model with its own D loss (SGAN)
    adversarial: AdversarialLoss | None

    @property
    def needs_gradient_penalty(self) -> bool:
        """Whether D's loss gets the WGAN-GP gradient penalty (the loss asks for it)."""
        return self.adversarial is not None and self.adversarial.needs_gradient_penalty

    def discriminator_norm(
        self, norm: str, flag: str = "discriminator_norm", per_image: tuple[str, ...] = ("layer", "instance", "none")
    ) -> str:
        """D's normalisation: ``"auto"`` is layer norm when D's loss has the gradient penalty,
        batch norm otherwise.

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
        (Gulrajani et al. 2017, Algorithm 1), counted across epochs (:attr:`batch_number`). With
        ``loss=wgan`` the original schedule instead (:meth:`critic_iterations`)."""
        if self.adversarial is not None and self.adversarial.clips_weights:
            return self.critic_steps >= self.critic_iterations(self.global_step)
        n_critic = self.hparams.n_critic
        return n_critic == 1 or (self.batch_number + 1) % n_critic == 0

    def critic_iterations(self, generator_step: int) -> int:
        """The WGAN authors' schedule (``main.py``): 100 critic steps before each of the first 25 generator
        steps and before every 500th, ``n_critic`` otherwise (so the critic is near optimal when it matters)."""
        return 100 if generator_step < 25 or generator_step % 500 == 0 else self.hparams.n_critic

    @torch.no_grad()
    def clip_critics(self) -> None:
        """With ``loss=wgan``, clip every parameter of the discriminators to [-weight_clip, weight_clip]
        (after each critic step, and once before training: every critic step then starts from clipped
        weights, as the authors' loop clips before each critic iteration)."""
        if self.adversarial is None or not self.adversarial.clips_weights:
            return
        clip = self.hparams.weight_clip
        for name in self.discriminators:
            for parameter in getattr(self, name).parameters():
                parameter.clamp_(-clip, clip)

    def r1_turn(self) -> bool:
        """Whether this batch's D step computes R1: on every ``r1_interval``-th batch, when on."""
        return self.hparams.r1_weight > 0 and self.batch_number % self.hparams.r1_interval == 0

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
        hp = self.hparams
        logged: dict[str, Tensor] = {}
        if self.needs_gradient_penalty:
            if fake is None:
                raise ValueError(f"loss={self.adversarial.name!r} needs the fake batch for its gradient penalty")
            penalty = gradient_penalty(critic or self.D, real, fake)
            d_loss = d_loss + hp.gp_weight * penalty
            logged["gradient_penalty"] = penalty
        if self.r1_turn():
            r1 = r1_penalty(real_logits, real)
            d_loss = d_loss + hp.r1_weight * hp.r1_interval / 2 * r1
            logged["r1"] = r1
        return d_loss, logged
