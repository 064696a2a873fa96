"""InfoGAN: interpretable latent codes by maximising mutual information.

Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, "InfoGAN: Interpretable
Representation Learning by Information Maximizing Generative Adversarial Nets",
NIPS 2016 (arXiv:1606.03657), with DCGAN convolutional networks.

The generator's input is split into incompressible noise z and a latent code
c = (c_cat, c_cont); InfoGAN adds to the GAN game a variational lower bound
L_I(G, Q) of the mutual information I(c; G(z, c)) (paper Eq. 5-6):

    min_{G,Q} max_D  V(D, G) - λ L_I(G, Q),
    L_I(G, Q) = E_{c ~ P(c), x ~ G(z, c)}[log Q(c|x)] + H(c)  <=  I(c; G(z, c)).

Code names -> paper symbols:

* ``self.generator`` / ``self.G(latent)``: G(z, c); ``latent`` is
  concat(z, one-hot(c_cat_1), ..., c_cont) (:meth:`InfoGAN.latent`).
  z ~ N(0, I) of size ``noise_dim``; each categorical code ~ Cat(K_i = 1/K_i)
  (sizes ``categorical_dims``); ``continuous_dim`` codes ~ U(-1, 1).
* ``self.discriminator`` / ``self.D(x)``: returns (D(x) logit, Q(c|x)); D and Q
  share the convolutional trunk (§6), see :class:`zoo.nn.infogan.InfoGANDiscriminator`.
* ``info_loss``: λ_cat Σ_i CE(Q_i(x̃), c_i) + λ_cont NLL(c_cont | N(μ(x̃), σ(x̃)²)),
  i.e. -λ·L_I up to the constant λ·H(c) (with ``continuous_loss="mse"`` the
  Gaussian's σ is fixed at 1: ½‖c_cont - μ(x̃)‖²). λ is ``lambda_categorical`` (paper: 1)
  and ``lambda_continuous`` (paper: "smaller", 0.1 here).
* ``d_loss``: the adversarial loss of D (``zoo.losses``; bce by default), and
  ``g_loss``: G's non-saturating loss -log D(G(z, c)).
* ``gradient_penalty`` / ``r1``: the penalties ``self.penalise`` adds to D's loss
  (WGAN-GP; R1 on real data when ``r1_weight`` > 0), on the D logit only, not Q.

Optimiser scheme (as in the authors' reference code, openai/InfoGAN): λ·L_I is
added to BOTH the discriminator's and the generator's loss. D's optimiser owns
the whole discriminator module (trunk, D head and Q head), so Q is trained in
D's update on that update's fakes (drawn under ``no_grad``); G's optimiser owns
G alone, and in G's update the gradient of λ·L_I flows through the frozen D/Q
(``toggle_optimizer``) into G. No parameter belongs to two optimisers, and D and
Q are one DDP-wrapped network.

The model is unsupervised: the labels of the data batches are ignored;
``num_classes`` (linked from the data by ``zoo.fit``) only sets the default
size of the first categorical code.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.models.capabilities import Capabilities
from zoo.models.sampling import SamplingGAN
from zoo.nn.dcgan import DCGANGenerator
from zoo.nn.infogan import InfoGANDiscriminator, QOutput
from zoo.registry import register_model
from zoo.weights import PretrainedWeights, packaged_weights

# --- packaged weights (re-created by `python -m benchmarks.pretrained --model infogan`) ---------------------
PACKAGED_WEIGHTS: tuple[PretrainedWeights, ...] = (
    packaged_weights(
        'infogan', 'digits', sha256='4a55a2260a02055eaa2df924e3cc6a2714526df08d56da75fdf358b00ed2cf0c',
        kwargs={'num_classes': 10, 'noise_dim': 16, 'lambda_categorical': 2.0},
        direction=('32x32 digits; the categorical code picks the digit, two continuous codes its '
                   'style'),
        metrics={'fd': 33.4286, 'fd_floor': 18.1724, 'fd_ratio': 1.8395, 'code_accuracy': 0.966},
    ),
)


SWEEP_RANGE = (-2.0, 2.0)
"""Values of a continuous code swept by :meth:`InfoGAN.sweep_grid` (the paper's Figure 2; training uses [-1, 1])."""


def info_nll(
    q: QOutput,
    categorical: Tensor,
    continuous: Tensor,
    continuous_loss: Literal["gaussian_nll", "mse"] = "gaussian_nll",
) -> tuple[Tensor, Tensor]:
    """Negative log-likelihoods of the codes under Q(c|x), averaged over the batch.

    Returns ``(categorical_nll, continuous_nll)``: the cross-entropy summed over the
    categorical codes, and for the continuous codes (summed over dimensions) the
    Gaussian NLL ``log σ + ½((c - μ)/σ)² + ½ log 2π`` (``gaussian_nll``) or
    ``½(c - μ)²`` (``mse``: σ fixed at 1, constant dropped).
    """
    cat_nll = sum(
        (F.cross_entropy(logits, categorical[:, i]) for i, logits in enumerate(q.categorical)),
        start=continuous.new_zeros(()),
    )
    if continuous.size(1) == 0:
        return cat_nll, continuous.new_zeros(())
    if continuous_loss == "gaussian_nll":
        z = (continuous - q.mean) * torch.exp(-q.log_std)
        per_dim = q.log_std + 0.5 * z.pow(2) + 0.5 * math.log(2 * math.pi)
    elif continuous_loss == "mse":
        per_dim = 0.5 * (continuous - q.mean).pow(2)
    else:
        raise ValueError(f"unknown continuous_loss {continuous_loss!r}; valid choices: gaussian_nll, mse")
    return cat_nll, per_dim.sum(dim=1).mean()


@register_model(
    "infogan",
    weights=PACKAGED_WEIGHTS,
    default_data="digits",
    # fewer noise dimensions and a stronger code term for the small embedded set; the measurements
    # behind them: docs/models/infogan.md#results
    recipe={"model.noise_dim": 16, "model.lambda_categorical": 2.0, "trainer.max_steps": 3000},
    summary="InfoGAN (Chen et al. 2016): interpretable codes, no labels",
)
class InfoGAN(SamplingGAN):
    """DCGAN with a latent code c whose mutual information with G(z, c) is maximised through Q(c|x).

    ``sample(n, codes=..., noise=...)`` sets the codes of the samples. The shared ``lr`` is the
    learning rate of D and Q (paper: 2e-4); G has its own, ``generator_lr``.

    Args:
        image_shape: (channels, height, width) of the images; linked from the
            DataModule by ``zoo.fit``.
        num_classes: linked from the DataModule; only the default size of the
            first categorical code (10 when ``None``). Labels are never used.
        noise_dim: size of the incompressible noise z (paper, MNIST: 62).
        categorical_dims: number of values of each categorical code
            (default ``[num_classes or 10]``; paper, MNIST: one code of 10).
        continuous_dim: number of continuous codes, each ~ U(-1, 1) (paper: 2).
        continuous_loss: ``gaussian_nll`` (Q predicts a mean and a log-std) or
            ``mse`` (fixed unit variance, as the reference code's ``fix_std``).
        lambda_categorical: λ of the categorical codes' term of L_I (paper: 1).
        lambda_continuous: λ of the continuous codes' term (paper: smaller; 0.1).
        generator_channels: width of G's last hidden layer (earlier ones double it).
        discriminator_channels: width of D's first layer (later ones double it).
        q_hidden: width of Q's hidden fully connected layer (paper: 128).
        discriminator_norm: ``"auto"`` is batch norm, or layer norm for ``wgan-gp``.
        generator_lr: Adam learning rate of G (paper: 1e-3).
        samples_per_code: columns of the progress grid (one row per value of
            the first categorical code).
        settings: the shared settings of every GAN (``loss``, ``gp_weight``, ``n_critic`` (D and Q
            steps per G step), ``r1_weight``, ``r1_interval``, ``lr``, ``betas``, ``lr_decay_start``,
            ``ema_decay``, ``gradient_clip_val``): see :class:`~zoo.models.base.GANModule`.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        "code-conditional", conditions=("codes",), exports=("noise", "categorical", "continuous"))

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 32, 32),
        num_classes: int | None = None,
        noise_dim: int = 62,
        categorical_dims: list[int] | None = None,
        continuous_dim: int = 2,
        continuous_loss: Literal["gaussian_nll", "mse"] = "gaussian_nll",
        lambda_categorical: float = 1.0,
        lambda_continuous: float = 0.1,
        generator_channels: int = 64,
        discriminator_channels: int = 64,
        q_hidden: int = 128,
        discriminator_norm: Literal["auto", "batch", "layer", "instance", "none"] = "auto",
        generator_lr: float = 1e-3,
        samples_per_code: int = 8,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        if continuous_loss not in ("gaussian_nll", "mse"):
            raise ValueError(f"unknown continuous_loss {continuous_loss!r}; valid choices: gaussian_nll, mse")
        self.categorical_dims = [int(k) for k in (categorical_dims or [num_classes or 10])]
        if any(k < 2 for k in self.categorical_dims):
            raise ValueError(f"every categorical code needs at least 2 values, got {self.categorical_dims}")
        if continuous_dim < 0 or noise_dim < 0:
            raise ValueError(f"noise_dim and continuous_dim must be >= 0, got {noise_dim}, {continuous_dim}")
        discriminator_norm = self.discriminator_norm(discriminator_norm)
        image_shape = tuple(image_shape)
        latent_dim = noise_dim + sum(self.categorical_dims) + continuous_dim
        self.generator = DCGANGenerator(latent_dim, image_shape, None, generator_channels)
        self.discriminator = InfoGANDiscriminator(
            image_shape, discriminator_channels, self.categorical_dims, continuous_dim, discriminator_norm, q_hidden
        )
        self.networks_built()
        self.register_code_grid(samples_per_code)

    def register_code_grid(self, cols: int) -> None:
        """Fixed latents for the progress grid: row k has value k of the first categorical code,
        column j one fixed (z, other codes) shared by every row."""
        rows = self.categorical_dims[0]
        gen = torch.Generator().manual_seed(0)
        noise = torch.randn(cols, self.hparams.noise_dim, generator=gen)
        other = torch.stack([torch.randint(k, (cols,), generator=gen) for k in self.categorical_dims], dim=1)
        continuous = torch.rand(cols, self.hparams.continuous_dim, generator=gen) * 2 - 1
        categorical = other.repeat(rows, 1)
        categorical[:, 0] = torch.arange(rows).repeat_interleave(cols)
        self.register_buffer("fixed_noise", noise.repeat(rows, 1))
        self.register_buffer("fixed_categorical", categorical)
        self.register_buffer("fixed_continuous", continuous.repeat(rows, 1))

    # ------------------------------------------------------------------- latents
    @property
    def noise_dim(self) -> int:
        """Size of the incompressible noise z (``GANModule.noise`` draws z ~ N(0, I) of this size)."""
        return self.hparams.noise_dim

    def random_codes(self, n: int) -> tuple[Tensor, Tensor]:
        """``(categorical (n, n_codes) long, continuous (n, continuous_dim) ~ U(-1, 1))``."""
        categorical = torch.stack([torch.randint(k, (n,), device=self.device) for k in self.categorical_dims], 1)
        continuous = torch.rand(n, self.hparams.continuous_dim, device=self.device) * 2 - 1
        return categorical, continuous

    def latent(self, noise: Tensor, categorical: Tensor, continuous: Tensor) -> Tensor:
        """G's input: concat(z, one-hot(c_1), ..., one-hot(c_m), c_cont)."""
        one_hots = [F.one_hot(categorical[:, i], k).to(noise.dtype) for i, k in enumerate(self.categorical_dims)]
        return torch.cat([noise, *one_hots, continuous.to(noise.dtype)], dim=1)

    def info_loss(self, q: QOutput, categorical: Tensor, continuous: Tensor) -> Tensor:
        """λ_cat·CE + λ_cont·NLL: -λ·L_I up to a constant (see :func:`info_nll`)."""
        cat_nll, cont_nll = info_nll(q, categorical, continuous, self.hparams.continuous_loss)
        return self.hparams.lambda_categorical * cat_nll + self.hparams.lambda_continuous * cont_nll

    # ------------------------------------------------------------------ training
    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, _ = batch  # real images; the labels are ignored (unsupervised)
        n = x.size(0)
        opt_g, opt_d = self.optimizers()

        # (1) Update D and Q: D's adversarial loss + λ·L_I on fakes from fresh (z, c) [+ penalties].
        with self.updating(opt_d):
            categorical, continuous = self.random_codes(n)
            with torch.no_grad():
                fake = self.G(self.latent(self.noise(n), categorical, continuous))
            x = self.real_input(x)  # requires grad on the D steps that compute R1
            real_logit, _ = self.D(x, with_q=False)
            fake_logit, q = self.D(fake)
            d_loss = self.adversarial.discriminator(real_logit, fake_logit)
            info_loss = self.info_loss(q, categorical, continuous)
            total, penalties = self.penalise(
                d_loss + info_loss, real=x, real_logits=real_logit, fake=fake,
                critic=lambda images: self.D(images, with_q=False)[0],
            )
            self.backward_step(total, opt_d)
            code_accuracy = (q.categorical[0].detach().argmax(dim=1) == categorical[:, 0]).float().mean()
        losses = {"d_loss": d_loss, "info_loss": info_loss, **penalties, "code_accuracy": code_accuracy}

        # (2) Update G every n_critic batches: its adversarial loss + λ·L_I on new (z, c); D and Q frozen.
        if self.generator_turn():
            with self.updating(opt_g):
                categorical, continuous = self.random_codes(n)
                fake_logit, q = self.D(self.G(self.latent(self.noise(n), categorical, continuous)))
                g_loss = self.adversarial.generator(fake_logit)
                self.backward_step(g_loss + self.info_loss(q, categorical, continuous), opt_g)
            losses["g_loss"] = g_loss
        self.log_losses(**losses)

    # ----------------------------------------------------------------- inference
    def _check_codes(self, codes: dict[str, Tensor] | None, n: int) -> tuple[Tensor, Tensor]:
        """The (categorical, continuous) codes of ``codes``, anything missing drawn at random."""
        categorical, continuous = self.random_codes(n)
        codes = dict(codes or {})
        unknown = set(codes) - {"categorical", "continuous"}
        if unknown:
            raise ValueError(f"unknown code names {sorted(unknown)}; valid keys: categorical, continuous")
        if codes.get("categorical") is not None:
            given = torch.as_tensor(codes["categorical"], device=self.device).long()
            if given.dim() == 0:
                given = given.expand(n)
            if given.dim() == 1:  # the first categorical code only
                given = torch.cat([given[:, None], categorical[:, 1:]], dim=1) if given.shape == (n,) else given
            if given.shape != categorical.shape:
                raise ValueError(
                    f"codes['categorical'] must have shape ({n},) or ({n}, {len(self.categorical_dims)}), "
                    f"got {tuple(torch.as_tensor(codes['categorical']).shape)}"
                )
            limits = torch.tensor(self.categorical_dims, device=self.device)
            if (given < 0).any() or (given >= limits).any():
                raise ValueError(f"categorical code values must lie in [0, K_i - 1] for K = {self.categorical_dims}")
            categorical = given
        if codes.get("continuous") is not None:
            given = torch.as_tensor(codes["continuous"], device=self.device, dtype=continuous.dtype)
            if given.shape != continuous.shape:
                raise ValueError(
                    f"codes['continuous'] must have shape ({n}, {self.hparams.continuous_dim}), "
                    f"got {tuple(given.shape)}"
                )
            continuous = given
        return categorical, continuous

    def sample_inputs(self, n: int, codes: dict[str, Tensor] | None = None) -> dict[str, tuple[Tensor, Tensor]]:
        """``sample(n, codes=...)``: ``{"categorical": (n,) values of the first code, or (n, n_codes),
        "continuous": (n, continuous_dim)}``; a missing entry (or no ``codes``) is drawn from the
        prior (see :meth:`GANModule.sample`; z has size ``noise_dim``)."""
        return {"codes": self._check_codes(codes, n)}

    def generate(self, generator: nn.Module, noise: Tensor, codes: tuple[Tensor, Tensor]) -> Tensor:
        """G(z, c) with c = (categorical, continuous)."""
        return generator(self.latent(noise, *codes))

    def export_inputs(self, n: int) -> dict[str, Tensor]:
        """``noise`` (n, noise_dim), ``categorical`` (n, n_codes) code values, ``continuous`` (n, continuous_dim)."""
        categorical, continuous = self._check_codes(None, n)
        return {"noise": self.noise(n), "categorical": categorical, "continuous": continuous}

    def export_forward(self, generator: nn.Module, noise: Tensor, categorical: Tensor, continuous: Tensor) -> Tensor:
        return self.generate(generator, noise, (categorical, continuous))

    @torch.no_grad()
    def infer_codes(self, images: Tensor) -> dict[str, Tensor]:
        """Q's estimate of the codes of ``images`` (eval mode): ``{"categorical": argmax (n, n_codes),
        "continuous": means (n, continuous_dim)}``, the same layout as :meth:`sample`'s ``codes``."""
        with self._eval_mode(self.discriminator) as discriminator:
            _, q = discriminator(images.to(self.device))
        return {"categorical": torch.stack([logits.argmax(dim=1) for logits in q.categorical], 1), "continuous": q.mean}

    def sample_grid(self) -> tuple[Tensor, int]:
        """One row per value of the first categorical code; each column one fixed (z, other codes)."""
        codes = {"categorical": self.fixed_categorical, "continuous": self.fixed_continuous}
        return self.sample(len(self.fixed_noise), codes=codes, noise=self.fixed_noise), self.hparams.samples_per_code

    def sweep_grid(self, code_index: int, steps: int = 8) -> Tensor:
        """Images ``(K_1 * steps, C, H, W)``: row k has value k of the first categorical code,
        the columns sweep continuous code ``code_index`` (0-based) linearly over [-2, 2]; the noise
        and the other codes are fixed (z and the other categorical codes of the grid's first
        column, the other continuous codes 0). Shown with ``nrow=steps`` (the paper's Figure 2)."""
        if not 0 <= code_index < self.hparams.continuous_dim:
            raise ValueError(f"code_index must be in [0, {self.hparams.continuous_dim - 1}], got {code_index}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        rows = self.categorical_dims[0]
        n = rows * steps
        categorical = self.fixed_categorical[:1].repeat(n, 1)
        categorical[:, 0] = torch.arange(rows, device=self.device).repeat_interleave(steps)
        continuous = torch.zeros(n, self.hparams.continuous_dim, device=self.device)
        continuous[:, code_index] = torch.linspace(*SWEEP_RANGE, steps, device=self.device).repeat(rows)
        noise = self.fixed_noise[:1].expand(n, -1)
        return self.sample(n, codes={"categorical": categorical, "continuous": continuous}, noise=noise)

    def sweep_grids(self, steps: int = 8) -> dict[str, tuple[Tensor, int]]:
        """``{"sweep_c1": (images, nrow), "sweep_c2": ...}``: :meth:`sweep_grid` of each continuous
        code (``sweep_c<k>`` sweeps code index k - 1)."""
        return {f"sweep_c{k + 1}": (self.sweep_grid(k, steps), steps) for k in range(self.hparams.continuous_dim)}

    def progress_grids(self) -> dict[str, tuple[Tensor, int]]:
        """The sample grid and, next to it, one sweep per continuous code (the paper's Figure 2)."""
        return {**super().progress_grids(), **self.sweep_grids()}

    def grid_row_names(self) -> list[str]:
        """Row k of the sample grid has value k of the first categorical code."""
        return [f"c1 = {k}" for k in range(self.categorical_dims[0])]
