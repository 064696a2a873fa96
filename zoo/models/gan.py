"""GAN: the original generative adversarial nets, with multilayer perceptrons.

Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville & Bengio,
"Generative Adversarial Nets", NIPS 2014 (arXiv:1406.2661). The two-player
minimax game of Eq. (1),

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

played by two multilayer perceptrons (:mod:`zoo.nn.mlp`) and trained by the
paper's Algorithm 1: per training iteration, ``k`` discriminator steps
(``d_steps``), then one generator step. The zoo's teaching toy: by default it
learns a 2-D ring (``--data circle``) on a CPU, and its progress picture is a
scatter plot of real (grey) and generated (red) points.

Code names -> paper symbols:

* ``self.generator`` / ``self.G(z)``: G(z; θ_g); z ~ N(0, I) of size
  ``latent_dim`` (the paper's noise prior p_z is left open; the zoo uses a
  Gaussian like its other models).
* ``self.discriminator`` / ``self.D(x)``: D(x; θ_d), returning a logit (σ(D(x))
  is the paper's probability that x came from the data).
* ``d_steps``: k of Algorithm 1 (the paper used k = 1).
* ``d_loss``: -[log σ(D(x)) + log(1 - σ(D(G(z))))], the negated value V the
  discriminator ascends (for ``loss="bce"``).
* ``g_loss``: -log σ(D(G(z))), the non-saturating generator loss the paper
  recommends in §3 ("rather than training G to minimize log(1 - D(G(z))) we can
  train G to maximize log D(G(z))").

Deviation from Algorithm 1: the paper samples a new minibatch of data for each
of the k discriminator steps. One ``training_step`` sees one data batch, so the
k discriminator steps here reuse the same real batch x, each with fresh noise z
(and the generator step draws its own noise too). ``--trainer.max_steps`` counts
generator steps (iterations), as everywhere in the zoo.

``loss`` swaps the objective for LSGAN, hinge or WGAN-GP (see ``zoo.losses``);
``r1_weight`` > 0 adds R1 (Mescheder et al. 2018, whose 2-D experiments are this
kind of toy) on every ``r1_interval``-th batch, in each of its ``d_steps`` D steps.
Both penalties are added by ``GANModule.penalise``.
``image_shape`` is the shape of one sample: ``(2,)`` for the toy, ``(C, H, W)``
for images, which the MLPs see flattened (G's output is reshaped to the image
and, with ``output_activation="auto"``, squashed by tanh into [-1, 1]).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from zoo.models.sampling import SamplingGAN
from zoo.nn.mlp import MLPDiscriminator, MLPGenerator
from zoo.registry import register_model
from zoo.weights import PretrainedWeights, packaged_weights

# --- packaged weights (re-created by `python -m benchmarks.pretrained --model gan`) ---------------------
PACKAGED_WEIGHTS: tuple[PretrainedWeights, ...] = (
    packaged_weights(
        'gan', 'circle', sha256='5d4a33d979a9699d47e867558347225a3384001c82f07fbe6b869ed0908cffb9',
        kwargs={'image_shape': [2]},
        direction='2-D points on the unit ring',
        metrics={'radius': 1.0059, 'radius_error': 0.0059, 'min_sector_share': 0.104},
        protocol='ring', resolution=None,
    ),
)

PLOT_SIZE = 256  # side of the scatter plot canvas, pixels
REAL_COLOUR = (150, 150, 150)
FAKE_COLOUR = (220, 30, 30)
MAX_REAL_POINTS = 512  # real points kept for the scatter plot


def plot_limits(points: Tensor, margin: float = 0.15) -> tuple[float, float, float, float]:
    """A square window ``(x_min, x_max, y_min, y_max)`` around ``points`` (N, 2), ``margin`` added per side."""
    lo, hi = points.min(0).values, points.max(0).values
    centre = (lo + hi) / 2
    half = float((hi - lo).max()) / 2
    half = (half if half > 0 else 1.0) * (1 + margin)
    cx, cy = float(centre[0]), float(centre[1])
    return cx - half, cx + half, cy - half, cy + half


def render_scatter(
    real: Tensor, fake: Tensor, limits: tuple[float, float, float, float] | None = None, size: int = PLOT_SIZE
) -> Tensor:
    """Scatter plot of 2-D ``real`` (grey) and ``fake`` (red) points as a (3, size, size) tensor in [-1, 1].

    ``limits`` (``x_min, x_max, y_min, y_max``) default to a square around the
    real points (around the fake ones when there are no real points). Fake
    points outside the window are not drawn. The axes through the origin are
    drawn light grey when they fall inside the window.
    """
    real, fake = real.detach().float().cpu().reshape(-1, 2), fake.detach().float().cpu().reshape(-1, 2)
    if limits is None:
        limits = plot_limits(real if len(real) else fake if len(fake) else torch.zeros(1, 2))
    x0, x1, y0, y1 = limits
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)

    def to_pixels(points: Tensor) -> np.ndarray:
        px = (points[:, 0] - x0) / (x1 - x0) * (size - 1)
        py = (y1 - points[:, 1]) / (y1 - y0) * (size - 1)  # y grows upwards in the plot
        xy = torch.stack([px, py], 1).numpy()
        return xy[np.isfinite(xy).all(1) & (xy >= 0).all(1) & (xy <= size - 1).all(1)]

    origin = to_pixels(torch.zeros(1, 2))
    if len(origin):
        ox, oy = origin[0]
        draw.line([(0, oy), (size - 1, oy)], fill=(225, 225, 225))
        draw.line([(ox, 0), (ox, size - 1)], fill=(225, 225, 225))
    for points, colour in ((real, REAL_COLOUR), (fake, FAKE_COLOUR)):
        for x, y in to_pixels(points):
            draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=colour)
    pixels = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float()
    return pixels / 127.5 - 1.0


@register_model("gan", default_data="circle", weights=PACKAGED_WEIGHTS, summary="Original GAN (Goodfellow et al. 2014), MLPs; 2-D ring toy")
class GAN(SamplingGAN):
    """The original GAN: MLP generator G(z) and discriminator D(x), labels ignored.

    Args:
        image_shape: shape of one sample: ``(2,)`` for 2-D points, ``(C, H, W)``
            for images; linked from the DataModule by ``zoo.fit``. The networks
            see ``prod(image_shape)`` numbers.
        num_classes: accepted and ignored (``zoo.fit`` links every data set's
            ``num_classes`` into every model); the GAN is unconditional.
        latent_dim: size of the noise vector z.
        hidden: width of the hidden layers of both MLPs.
        layers: number of hidden layers of both MLPs.
        output_activation: G's output non-linearity: ``"tanh"`` (images in
            [-1, 1]), ``"none"`` (unbounded points), or ``"auto"``: tanh when
            ``image_shape`` is (C, H, W), none otherwise.
        d_steps: k of Algorithm 1: discriminator steps per generator step, all
            on the same real batch, each with fresh noise (``n_critic`` > 1 instead takes
            a new batch for each D step).
        lr: Adam learning rate of both networks (1e-3 for the small MLPs).
        plot_points: generated points in the 2-D scatter plot (fixed noise).
        grid_size: for image data, the progress grid is ``grid_size`` x
            ``grid_size`` images from fixed noise.
        settings: the other shared settings of every GAN (``loss``, ``gp_weight``, ``n_critic``,
            ``r1_weight``, ``r1_interval`` (counted in batches, in each of its D steps), ``betas``,
            ``lr_decay_start``, ``ema_decay``, ``gradient_clip_val``): see :class:`~zoo.models.base.GANModule`.
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (2,),
        num_classes: int | None = None,
        latent_dim: int = 8,
        hidden: int = 128,
        layers: int = 3,
        output_activation: Literal["auto", "tanh", "none"] = "auto",
        d_steps: int = 1,
        lr: float = 1e-3,
        plot_points: int = 512,
        grid_size: int = 8,
        **settings: Any,
    ) -> None:
        super().__init__(lr=lr, **settings)
        image_shape = tuple(int(s) for s in image_shape)
        if not image_shape or any(s < 1 for s in image_shape):
            raise ValueError(f"image_shape must be a non-empty shape of positive sizes, got {image_shape}")
        if output_activation not in ("auto", "tanh", "none"):
            raise ValueError(f"output_activation must be 'auto', 'tanh' or 'none', got {output_activation!r}")
        if d_steps < 1:
            raise ValueError(f"d_steps must be >= 1, got {d_steps}")
        if plot_points < 1 or grid_size < 1:
            raise ValueError(f"plot_points and grid_size must be >= 1, got {plot_points}, {grid_size}")
        self.image_shape = image_shape
        if output_activation == "auto":
            output_activation = "tanh" if len(image_shape) == 3 else "none"
        data_dim = math.prod(image_shape)
        self.generator = MLPGenerator(
            latent_dim, data_dim, hidden, layers, out_shape=image_shape, tanh=output_activation == "tanh"
        )
        self.discriminator = MLPDiscriminator(data_dim, hidden, layers)
        self.networks_built()
        # Fixed noise for the progress picture (same seed on every rank and every run).
        n = plot_points if self.is_2d else grid_size * grid_size
        self.register_buffer("fixed_noise", torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(0)))
        # Real points for the scatter plot, filled in setup() from the DataModule (not saved).
        self.register_buffer("real_points", torch.zeros(0, 2), persistent=False)

    @property
    def is_2d(self) -> bool:
        """Whether a sample is a 2-D point (the progress picture is then a scatter plot)."""
        return self.image_shape == (2,)

    def setup(self, stage: str) -> None:
        """Keep up to 512 validation points of 2-D data for the scatter plot (axes come from them)."""
        if not self.is_2d or not self.has_trainer:
            return
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or not hasattr(datamodule, "split_dataset"):
            return
        dataset = datamodule.split_dataset("val")
        n = min(MAX_REAL_POINTS, len(dataset))
        if n == 0:
            return
        points = torch.stack([torch.as_tensor(dataset[i][0]) for i in range(n)]).float().reshape(n, 2)
        self.real_points = points.to(self.real_points.device)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x = batch[0]  # real samples x ~ p_data(x); the labels, if any, are not used
        opt_g, opt_d = self.optimizers()

        # (1) k = d_steps updates of D, ascending log D(x) + log(1 - D(G(z))); fresh z each time,
        #     the same real batch x (Algorithm 1 draws a new data minibatch per step; see the module doc).
        for _ in range(self.hparams.d_steps):
            with self.updating(opt_d):
                with torch.no_grad():
                    fake = self.G(self.noise(x.size(0)))
                real = self.real_input(x)  # requires grad on the batches that compute R1
                real_logits = self.D(real)
                d_loss = self.adversarial.discriminator(real_logits, self.D(fake))
                d_total, penalties = self.penalise(d_loss, real=real, real_logits=real_logits, fake=fake)
                self.backward_step(d_total, opt_d)
            losses = {"d_loss": d_loss, **penalties}

        # (2) One update of G on new noise (every n_critic batches): descend -log D(G(z)) (non-saturating).
        if self.generator_turn():
            with self.updating(opt_g):
                g_loss = self.adversarial.generator(self.D(self.G(self.noise(x.size(0)))))
                self.backward_step(g_loss, opt_g)
            losses["g_loss"] = g_loss
        self.log_losses(**losses)

    @torch.no_grad()
    def sample_grid(self) -> tuple[Tensor, int]:
        """The progress picture from the fixed noise.

        Image data: ``grid_size`` x ``grid_size`` images. 2-D data: one
        256x256 scatter plot (a (1, 3, 256, 256) tensor in [-1, 1], ``nrow`` 1)
        of the real validation points (grey) and ``plot_points`` generated
        points (red), axes fixed by the real points.
        """
        fake = self.sample(len(self.fixed_noise), noise=self.fixed_noise)
        if not self.is_2d:
            return fake, self.hparams.grid_size
        limits = plot_limits(self.real_points.cpu()) if len(self.real_points) else None
        return render_scatter(self.real_points, fake, limits).unsqueeze(0), 1
