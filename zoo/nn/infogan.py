"""InfoGAN's discriminator: a DCGAN trunk shared by D and the recognition network Q.

Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, "InfoGAN: Interpretable
Representation Learning by Information Maximizing Generative Adversarial Nets",
NIPS 2016 (arXiv:1606.03657). §6 (Implementation): Q(c|x) is a neural network
that shares all convolutional layers with D, plus one final fully connected
layer giving the parameters of Q(c|x): a softmax for each categorical code, a
factored Gaussian for the continuous codes. Appendix C (MNIST): Q's head is
FC 128 - BN - LeakyReLU - FC output.

Layout (all plain torch; no Lightning):

* ``features``: the DCGAN convolutional trunk, the same down-sampling plan as
  :class:`zoo.nn.DCGANDiscriminator` (:func:`resolution_plan`, :func:`norm_layer`),
  ending flattened;
* ``logit``: the source head D(x), one logit per image;
* ``q``: the Q head, FC ``q_hidden`` - norm - LeakyReLU(0.2) - FC to the
  parameters of Q(c|x): one set of logits per categorical code, then the mean
  and the log-standard-deviation of each continuous code.

It is ONE module, so a trainer that wraps networks one by one (the zoo's
``GANDDPStrategy``) sees D and Q as a single network whose parameters all
receive a gradient in the discriminator's update.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from zoo.nn.dcgan import NormName, norm_layer, resolution_plan
from zoo.nn.init import init_weights

LOG_STD_RANGE = (-5.0, 2.0)
"""Bounds of the predicted log-std (keeps the Gaussian likelihood finite)."""


class QOutput(NamedTuple):
    """Parameters of Q(c|x) for a batch of B images.

    ``categorical``: one ``(B, K_i)`` logit tensor per categorical code;
    ``mean`` / ``log_std``: ``(B, continuous_dim)`` each, the factored Gaussian
    of the continuous codes (``log_std`` clamped to :data:`LOG_STD_RANGE`).
    """

    categorical: list[Tensor]
    mean: Tensor
    log_std: Tensor


def _norm_1d(name: NormName, features: int) -> nn.Module:
    """The 1-d counterpart of :func:`norm_layer` for the Q head's hidden layer."""
    if name == "batch":
        return nn.BatchNorm1d(features)
    if name in ("layer", "instance"):
        return nn.LayerNorm(features)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {name!r}; valid choices: batch, layer, instance, none")


class InfoGANDiscriminator(nn.Module):
    """D(x) and Q(c|x) on a shared convolutional trunk: ``forward(x) -> (logit (B,), QOutput)``.

    Args:
        image_shape: (channels, height, width) of the input; square, side 4..7
            times a power of two (28, 32, 64, ...).
        base_channels: width of the first conv layer; later layers double it.
        categorical_dims: number of values ``K_i`` of each categorical code.
        continuous_dim: number of continuous codes.
        norm: normalisation of the trunk's hidden layers and of Q's hidden layer
            (``batch`` as in the paper; ``layer`` / ``none`` for a gradient penalty).
        q_hidden: width of Q's hidden fully connected layer (paper: 128).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 32, 32),
        base_channels: int = 64,
        categorical_dims: list[int] | tuple[int, ...] = (10,),
        continuous_dim: int = 2,
        norm: NormName = "batch",
        q_hidden: int = 128,
    ) -> None:
        super().__init__()
        channels, height, width = image_shape
        if height != width:
            raise ValueError(f"DCGAN networks need square images, got image_shape={tuple(image_shape)}")
        self.categorical_dims = [int(k) for k in categorical_dims]
        if any(k < 2 for k in self.categorical_dims):
            raise ValueError(f"every categorical code needs at least 2 values, got {self.categorical_dims}")
        if continuous_dim < 0:
            raise ValueError(f"continuous_dim must be >= 0, got {continuous_dim}")
        self.continuous_dim = continuous_dim
        start, n_down = resolution_plan(height)
        layers: list[nn.Module] = [nn.Conv2d(channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        c = base_channels
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), norm_layer(norm, c * 2), nn.LeakyReLU(0.2, inplace=True)]
            c *= 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        feature_dim = c * start * start
        self.logit = nn.Linear(feature_dim, 1)
        self.q = nn.Sequential(
            nn.Linear(feature_dim, q_hidden, bias=norm == "none"),
            _norm_1d(norm, q_hidden),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(q_hidden, sum(self.categorical_dims) + 2 * continuous_dim),
        )
        init_weights(self, "normal")

    def forward(self, x: Tensor, with_q: bool = True) -> tuple[Tensor, QOutput | None]:
        """``(D's logit (B,), Q's parameters)``; ``with_q=False`` skips the Q head (returns ``None`` for it)."""
        h = self.features(x)
        logit = self.logit(h).squeeze(1)
        return logit, (self.q_output(h) if with_q else None)

    def q_output(self, features: Tensor) -> QOutput:
        out = self.q(features)
        categorical = list(out[:, : sum(self.categorical_dims)].split(self.categorical_dims, dim=1))
        continuous = out[:, sum(self.categorical_dims) :]
        mean, log_std = continuous[:, : self.continuous_dim], continuous[:, self.continuous_dim :]
        return QOutput(categorical, mean, log_std.clamp(*LOG_STD_RANGE))
