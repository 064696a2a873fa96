"""Adversarial losses, selectable by name (plain torch, no Lightning).

Every loss works on the discriminator's raw outputs ("logits", any shape: a
scalar per image or a PatchGAN map) and exposes the two sides of the game:

``discriminator(real_logits, fake_logits)``  the loss D minimises (the sum of
                                           ``discriminator_terms``: its real and fake parts),
``generator(fake_logits)``                  the loss G minimises.

Every mean runs over all logits, so the same objects serve the class-conditional
models (one logit per image) and the image-to-image ones (PatchGAN maps).

=============  ==================================================================
name           definition (D(x) = logit, sigma = sigmoid)
=============  ==================================================================
``bce``        Goodfellow et al. 2014, with the non-saturating G loss of §3:
               L_D = -log sigma(D(x)) - log(1 - sigma(D(G(z)))),  L_G = -log sigma(D(G(z)))
``lsgan``      Mao et al. 2017, Eq. (2) with a=0, b=1, c=1:
               L_D = ½(D(x) - 1)² + ½D(G(z))²,  L_G = ½(D(G(z)) - 1)²
               (``LeastSquaresLoss(scale=1)``: without the ½s, as CycleGAN §4 writes it)
``hinge``      Lim & Ye 2017 / Miyato et al. 2018:
               L_D = relu(1 - D(x)) + relu(1 + D(G(z))),  L_G = -D(G(z))
``wgan``       Arjovsky et al. 2017, Algorithm 1: L_D = D(G(z)) - D(x),  L_G = -D(G(z)),
               the critic's weights clipped to [-c, c] after each of its steps
``wgan-gp``    Gulrajani et al. 2017, Algorithm 1:
               L_D = D(G(z)) - D(x) + λ(‖∇D(x̂)‖₂ - 1)²,  L_G = -D(G(z))
=============  ==================================================================

The gradient penalty of ``wgan-gp`` needs the critic itself, so it is a
separate function, :func:`gradient_penalty`, added when
``loss.needs_gradient_penalty`` is true. :func:`r1_penalty` (Mescheder et al.
2018) is the other gradient regulariser: it penalises D's gradient on the real
data only, with any of the losses above. Both are added to D's loss, weighted,
in one place: ``zoo.models.base.GANModule.penalise``.
"""

from __future__ import annotations

from typing import Callable, Iterable, Literal

import torch
import torch.nn.functional as F
from torch import Tensor


class AdversarialLoss:
    """Base class: the pair of losses of one GAN objective.

    A subclass writes :meth:`discriminator_terms` (D's loss as its term on the real
    and its term on the fake logits) and :meth:`generator`; :meth:`discriminator`
    is the sum of the two terms.
    """

    name: str = ""
    needs_gradient_penalty: bool = False
    #: the critic's weights are clipped to ±c after each of its steps (the original WGAN)
    clips_weights: bool = False

    def discriminator_terms(self, real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
        """D's loss split into ``(term on D(x), term on D(G(z)))``, e.g. to log both."""
        raise NotImplementedError

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """The loss D minimises."""
        real, fake = self.discriminator_terms(real_logits, fake_logits)
        return real + fake

    def generator(self, fake_logits: Tensor) -> Tensor:
        """The loss G minimises."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NonSaturatingLoss(AdversarialLoss):
    """Binary cross-entropy with the non-saturating generator loss (Goodfellow et al. 2014).

    Each term is a mean over every logit (over the batch, and over the patches of
    a PatchGAN map): BCE against all-``real_label`` and all-zero targets, as
    pix2pix writes its objective (Isola et al. 2017, Eq. 1). ``real_label`` < 1
    gives one-sided label smoothing (Salimans et al. 2016, §3.4).
    """

    name = "bce"

    def __init__(self, real_label: float = 1.0) -> None:
        self.real_label = real_label

    def discriminator_terms(self, real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
        real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, self.real_label))
        fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        return real, fake

    def generator(self, fake_logits: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))

    def __repr__(self) -> str:
        return f"NonSaturatingLoss(real_label={self.real_label})"


class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al. 2017), Eq. (2) with targets a=0 (fake), b=1 (real), c=1.

    ``scale`` is the factor of every mean squared error: ½ in Mao et al.'s Eq. (2)
    (the default), 1 in the form CycleGAN writes (§4: "we train the G to minimize
    E[(D(G(x)) - 1)²] and train the D to minimize E[(D(y) - 1)²] + E[D(G(x))²]"),
    which is what the pix2pix / CycleGAN reference code computes (``nn.MSELoss``).
    The errors are ``F.mse_loss`` against constant targets (float32 under autocast).
    """

    name = "lsgan"

    def __init__(self, scale: float = 0.5) -> None:
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.scale = scale

    def discriminator_terms(self, real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
        real = F.mse_loss(real_logits, torch.ones_like(real_logits))
        fake = F.mse_loss(fake_logits, torch.zeros_like(fake_logits))
        return self.scale * real, self.scale * fake

    def generator(self, fake_logits: Tensor) -> Tensor:
        return self.scale * F.mse_loss(fake_logits, torch.ones_like(fake_logits))

    def __repr__(self) -> str:
        return f"LeastSquaresLoss(scale={self.scale})"


class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018, Eq. 16)."""

    name = "hinge"

    def discriminator_terms(self, real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
        return F.relu(1 - real_logits).mean(), F.relu(1 + fake_logits).mean()

    def generator(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()


class WassersteinLoss(AdversarialLoss):
    """The original WGAN (Arjovsky, Chintala & Bottou 2017, Algorithm 1): the critic maximises
    E[D(x)] - E[D(G(z))] with no sigmoid, its weights clipped to [-c, c] after each of its steps
    (``GANModule``'s ``weight_clip``) to keep it Lipschitz; G minimises -E[D(G(z))]."""

    name = "wgan"
    clips_weights = True

    def discriminator_terms(self, real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
        return -real_logits.mean(), fake_logits.mean()

    def generator(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()


class WassersteinGPLoss(AdversarialLoss):
    """WGAN-GP critic and generator losses (Gulrajani et al. 2017, Algorithm 1).

    The λ·(‖∇D(x̂)‖₂ - 1)² term is :func:`gradient_penalty`, added by the model
    (``GANModule.penalise``).
    """

    name = "wgan-gp"
    needs_gradient_penalty = True

    def discriminator_terms(self, real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, Tensor]:
        return -real_logits.mean(), fake_logits.mean()

    def generator(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean()


#: the names ``loss=`` takes (``--model.loss``): the keys of :data:`LOSSES`
LossName = Literal["bce", "lsgan", "hinge", "wgan", "wgan-gp"]

LOSSES: dict[str, type[AdversarialLoss]] = {
    cls.name: cls for cls in (NonSaturatingLoss, LeastSquaresLoss, HingeLoss, WassersteinLoss, WassersteinGPLoss)
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
    so that its own gradient reaches the critic's parameters. For a critic with
    several logits per image (a PatchGAN map) the gradient is that of their sum, as
    in the pix2pix / CycleGAN reference code's ``cal_gradient_penalty``.
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
    paper's Theorem 4), which damps the oscillation of the final iterate. For
    several logits per image (a PatchGAN map) the gradient is that of their sum.
    """
    if not real.requires_grad:
        raise ValueError("r1_penalty needs the real batch to require grad before D(real) is computed")
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.float().flatten(1).pow(2).sum(1).mean()


def l1_loss(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error ‖prediction - target‖₁ / N: pix2pix's L_L1 and CycleGAN's cycle / identity terms."""
    return (prediction - target).abs().mean()


def orthogonal_penalty(weights: Iterable[Tensor]) -> Tensor:
    """Σ_W ‖W Wᵀ ⊙ (1 - I)‖²_F over ``weights``, each flattened to (out, -1): BigGAN's orthogonal
    regularisation R_β without its β (Brock et al. 2019, §3.1, Eq. 3: it pushes the filters of a layer
    towards orthogonality without constraining their norms). Its gradient is 4 (W Wᵀ ⊙ (1 - I)) W."""
    total: Tensor | None = None
    for weight in weights:
        w = weight.flatten(1)
        gram = w @ w.t()
        term = (gram * (1 - torch.eye(gram.size(0), device=gram.device, dtype=gram.dtype))).pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_penalty needs at least one weight")
    return total
