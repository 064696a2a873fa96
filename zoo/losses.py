"""Adversarial losses, selectable by name (plain torch, no Lightning).

Every loss works on the discriminator's raw outputs ("logits", any shape: a
scalar per image or a PatchGAN map) and exposes the two sides of the game:

``discriminator(real_logits, fake_logits)``  the loss D minimises,
``generator(fake_logits)``                  the loss G minimises.

=============  ==================================================================
name           definition (D(x) = logit, sigma = sigmoid)
=============  ==================================================================
``bce``        Goodfellow et al. 2014, with the non-saturating G loss of §3:
               L_D = -log sigma(D(x)) - log(1 - sigma(D(G(z)))),  L_G = -log sigma(D(G(z)))
``lsgan``      Mao et al. 2017, Eq. (2) with a=0, b=1, c=1:
               L_D = ½(D(x) - 1)² + ½D(G(z))²,  L_G = ½(D(G(z)) - 1)²
``hinge``      Lim & Ye 2017 / Miyato et al. 2018:
               L_D = relu(1 - D(x)) + relu(1 + D(G(z))),  L_G = -D(G(z))
``wgan-gp``    Gulrajani et al. 2017, Algorithm 1:
               L_D = D(G(z)) - D(x) + λ(‖∇D(x̂)‖₂ - 1)²,  L_G = -D(G(z))
=============  ==================================================================

The gradient penalty of ``wgan-gp`` needs the critic itself, so it is a
separate function, :func:`gradient_penalty`, that a model adds when
``loss.needs_gradient_penalty`` is true. :func:`r1_penalty` (Mescheder et al.
2018) is the other gradient regulariser: it penalises D's gradient on the real
data only, with any of the losses above.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


class AdversarialLoss:
    """Base class: the pair of losses of one GAN objective."""

    name: str = ""
    needs_gradient_penalty: bool = False

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def generator(self, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NonSaturatingLoss(AdversarialLoss):
    """Binary cross-entropy with the non-saturating generator loss (Goodfellow et al. 2014).

    ``real_label`` < 1 gives one-sided label smoothing (Salimans et al. 2016, §3.4).
    """

    name = "bce"

    def __init__(self, real_label: float = 1.0) -> None:
        self.real_label = real_label

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, self.real_label))
        fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        return real + fake

    def generator(self, fake_logits: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al. 2017), Eq. (2) with targets a=0 (fake), b=1 (real), c=1."""

    name = "lsgan"

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return 0.5 * ((real_logits - 1).pow(2).mean() + fake_logits.pow(2).mean())

    def generator(self, fake_logits: Tensor) -> Tensor:
        return 0.5 * (fake_logits - 1).pow(2).mean()


class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018, Eq. 16)."""

    name = "hinge"

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()

    def generator(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()


class WassersteinGPLoss(AdversarialLoss):
    """WGAN-GP critic and generator losses (Gulrajani et al. 2017, Algorithm 1).

    The λ·(‖∇D(x̂)‖₂ - 1)² term is :func:`gradient_penalty`, added by the model.
    """

    name = "wgan-gp"
    needs_gradient_penalty = True

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return fake_logits.mean() - real_logits.mean()

    def generator(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()


LOSSES: dict[str, type[AdversarialLoss]] = {
    cls.name: cls for cls in (NonSaturatingLoss, LeastSquaresLoss, HingeLoss, WassersteinGPLoss)
}


def get_adversarial_loss(name: str) -> AdversarialLoss:
    """The adversarial loss called ``name``; an unknown name lists the valid ones."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise ValueError(f"unknown adversarial loss {name!r}; valid choices: {', '.join(LOSSES)}") from None


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """E[(‖∇_x̂ D(x̂)‖₂ - 1)²] at x̂ = εx + (1-ε)x̃, ε ~ U[0, 1] (Gulrajani et al. 2017, Eq. 3).

    ``critic`` maps images to logits (wrap it in a lambda to pass labels). The
    returned term is *not* multiplied by λ. It is built with ``create_graph=True``
    so that its own gradient reaches the critic's parameters.
    """
    eps = torch.rand(real.size(0), *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    logits = critic(x_hat)
    (grad,) = torch.autograd.grad(logits.sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def r1_penalty(real_logits: Tensor, real: Tensor) -> Tensor:
    """E_x[‖∇_x D(x)‖²] on real data: the R1 regulariser of Mescheder, Geiger & Nowozin 2018, Eq. 9.

    ``real`` must require grad and ``real_logits = D(real)`` must have been
    computed from it. The returned term is *not* multiplied by γ/2. It is built
    with ``create_graph=True`` so that its own gradient reaches D's parameters.
    R1 makes the GAN game locally convergent for the non-saturating loss (the
    paper's Theorem 4), which damps the oscillation of the final iterate.
    """
    if not real.requires_grad:
        raise ValueError("r1_penalty needs the real batch to require grad before D(real) is computed")
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.float().flatten(1).pow(2).sum(1).mean()


# -- the image-to-image papers' form ---------------------------------------------------

TARGET_LOSSES = ("bce", "lsgan")
"""Losses of :func:`target_loss` (the two GAN modes of the pix2pix / CycleGAN reference code)."""


def check_target_loss(kind: str) -> str:
    """Validate the name of a :func:`target_loss` kind; an unknown one lists the valid ones."""
    if kind not in TARGET_LOSSES:
        raise ValueError(f"unknown image-to-image GAN loss {kind!r}; valid choices: {', '.join(TARGET_LOSSES)}")
    return kind


def target_loss(logits: Tensor, real: bool, kind: str = "lsgan") -> Tensor:
    """D's output pushed towards the "real" (1) or "fake" (0) target, as pix2pix / CycleGAN write it.

    ``bce``: binary cross-entropy with logits (pix2pix's objective, Isola et al. 2017, Eq. 1);
    ``lsgan``: squared error (CycleGAN §4, after Mao et al. 2017). Both papers use it as
    L_G = target_loss(D(G(x)), real=True) for the generator and
    L_D = ½ [target_loss(D(y), True) + target_loss(D(G(x)), False)] ("we divide the objective by 2
    while optimizing D", pix2pix §3.3). Works on any logit shape (a PatchGAN map included).
    """
    target = torch.full_like(logits, 1.0 if real else 0.0)
    if check_target_loss(kind) == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    return F.mse_loss(logits, target)


def l1_loss(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error ‖prediction - target‖₁ / N: pix2pix's L_L1 and CycleGAN's cycle / identity terms."""
    return (prediction - target).abs().mean()
