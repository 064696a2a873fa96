"""SGAN: semi-supervised learning with a GAN whose discriminator is the classifier.

Odena, "Semi-Supervised Learning with Generative Adversarial Networks", 2016
(arXiv:1606.01583), in the form of Salimans et al., "Improved Techniques for
Training GANs", NeurIPS 2016 (arXiv:1606.03498), §5.

D is a K-class classifier with logits l_1..l_K. Instead of an explicit
(K+1)-th "fake" class, the fake logit is fixed at 0 (§5: "we can fix
l_{K+1}(x) = 0"), so with Z(x) = Σ_k exp(l_k(x))

    D(x) = p(real | x) = Z(x) / (Z(x) + 1),
    log D(x) = lse(l) - softplus(lse(l)),  log(1 - D(x)) = -softplus(lse(l)).

Code names -> paper symbols:

* ``self.discriminator`` / ``self.D(x)``: returns (l(x), f(x)), the K logits and
  the features of its last hidden layer.
* ``supervised_loss``: L_supervised = -E_{x,y ~ labelled} log p(y | x, y < K+1)
  (cross-entropy on the K logits) over ``num_labeled`` labelled images.
* ``unsupervised_loss``: L_unsupervised = -E_x log D(x) - E_z log(1 - D(G(z)))
  over the unlabelled batch (its labels are ignored) and fresh fakes.
* ``g_loss``: feature matching, ‖E_x f(x) - E_z f(G(z))‖² (§3.1; the paper's
  choice for semi-supervised learning), or the non-saturating -log D(G(z)).
* ``r1`` (when ``r1_weight`` > 0): ‖∇_x lse(l(x))‖² on the unlabelled real batch,
  added to D's loss by ``self.penalise`` with weight γ/2 = ``r1_weight`` / 2
  (Mescheder et al. 2018, Eq. 9), lazily every ``r1_interval`` D steps (Karras
  et al. 2020). lse(l(x)) is D's real-vs-fake logit: D(x) = σ(lse(l(x))).

D's loss is the K+1-class objective above, not one of the swappable losses of
``zoo.losses``: the classifier *is* the discriminator, so SGAN has no ``loss``
argument (and so no WGAN-GP penalty). R1 needs only a real-vs-fake logit on real
data, which lse(l(x)) is, so it applies.

The labelled subset is ``num_labeled`` training images, class-balanced, chosen
with ``labeled_seed`` when training starts and kept as buffers (so a resumed
run and ``zoo.load`` see the same ones). ``classify(images)`` is D's classifier;
``val/accuracy`` is logged at each validation and ``test/accuracy`` when
training ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.models.capabilities import Capabilities
from zoo.models.sampling import SamplingGAN
from zoo.nn import DCGANGenerator
from zoo.nn.dcgan import NormName, dcgan_trunk
from zoo.nn.init import init_weights
from zoo.registry import register_model
from zoo.weights import PretrainedWeights, packaged_weights

# --- packaged weights (re-created by `python -m benchmarks.pretrained --model sgan`) ---------------------
PACKAGED_WEIGHTS: tuple[PretrainedWeights, ...] = (
    packaged_weights(
        'sgan', 'digits', sha256='df19c0cda6fa7b25ddd1d8f4192b94298ae09bf1432342b5515ac9eaa0dcfed7',
        kwargs={},
        direction='a digit classifier trained on 100 labels (and 32x32 digits)',
        metrics={'fd': 184.5503, 'fd_floor': 18.1724, 'fd_ratio': 10.1555, 'test_accuracy': 0.9497},
    ),
)


class SemiSupervisedDiscriminator(nn.Module):
    """A DCGAN trunk with K class logits; ``forward`` returns (logits (B, K), features (B, F))."""

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int, base_channels: int = 64,
                 norm: NormName = "batch", dropout: float = 0.3) -> None:
        super().__init__()
        channels, height, width = image_shape
        if height != width:
            raise ValueError(f"DCGAN networks need square images, got image_shape={tuple(image_shape)}")
        self.trunk, feature_dim = dcgan_trunk(channels, height, base_channels, norm)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(feature_dim, num_classes)
        init_weights(self, "normal")

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.trunk(x)
        return self.classifier(self.dropout(features)), features


def log_d_real(logits: Tensor) -> Tensor:
    """log D(x) = lse(l) - softplus(lse(l)) with the fake logit fixed at 0."""
    lse = torch.logsumexp(logits, dim=1)
    return lse - F.softplus(lse)


def log_d_fake(logits: Tensor) -> Tensor:
    """log(1 - D(x)) = -softplus(lse(l))."""
    return -F.softplus(torch.logsumexp(logits, dim=1))


@register_model("sgan", default_data="digits", weights=PACKAGED_WEIGHTS, summary="Semi-supervised GAN (Odena 2016; Salimans et al. 2016)")
class SGAN(SamplingGAN):
    """Semi-supervised GAN: D classifies K classes and tells real from fake.

    Args:
        image_shape: (channels, height, width); linked from the DataModule.
        num_classes: K; linked from the DataModule.
        num_labeled: labelled training images (class-balanced); the rest are used unlabelled.
        labeled_seed: seed of the choice of labelled images.
        labeled_batch_size: labelled images per iteration (drawn with replacement).
        latent_dim: size of z.
        generator_channels / discriminator_channels: network widths.
        discriminator_norm: D's hidden-layer normalisation.
        dropout: dropout before D's classifier (Salimans et al. use dropout in D).
        generator_loss: ``"feature_matching"`` (§3.1) or ``"non_saturating"``.
        unsupervised_weight: weight of L_unsupervised in D's loss.
        samples_per_row: width of the 8-row progress grid.
        settings: the shared settings of every GAN (``gp_weight``, ``n_critic``, ``r1_weight`` (R1 is
            γ/2 · E_x[‖∇_x lse(l(x))‖²] on the unlabelled real batch), ``r1_interval``, ``lr``, ``betas``,
            ``lr_decay_start``, ``ema_decay``, ``gradient_clip_val``): see
            :class:`~zoo.models.base.GANModule`. ``loss`` is fixed: D's loss is the K+1-class objective.
    """

    capabilities: ClassVar[Capabilities] = Capabilities("unconditional", needs_labels=True)
    fixed_settings: ClassVar[Mapping[str, str]] = {
        "loss": "SGAN's discriminator loss is its own K+1-class objective (Salimans et al. 2016, §5), not a "
                "swappable adversarial loss"}
    #: the classifier is SGAN's product: pretrained weights hold D as well as G
    pretrained_parts = ("generator", "discriminator")

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 32, 32),
        num_classes: int = 10,
        num_labeled: int = 100,
        labeled_seed: int = 0,
        labeled_batch_size: int = 64,
        latent_dim: int = 100,
        generator_channels: int = 64,
        discriminator_channels: int = 64,
        discriminator_norm: Literal["batch", "layer", "instance", "none"] = "batch",
        dropout: float = 0.3,
        generator_loss: Literal["feature_matching", "non_saturating"] = "feature_matching",
        unsupervised_weight: float = 1.0,
        samples_per_row: int = 8,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        if num_classes is None or num_classes < 2:
            raise ValueError(f"SGAN needs labelled data with num_classes >= 2, got {num_classes}")
        if num_labeled < num_classes:
            raise ValueError(f"num_labeled must be at least num_classes ({num_classes}), got {num_labeled}")
        if generator_loss not in ("feature_matching", "non_saturating"):
            raise ValueError(f"unknown generator_loss {generator_loss!r}; valid choices: feature_matching, non_saturating")
        image_shape = tuple(image_shape)
        self.generator = DCGANGenerator(latent_dim, image_shape, None, generator_channels)
        self.discriminator = SemiSupervisedDiscriminator(image_shape, num_classes, discriminator_channels,
                                                         discriminator_norm, dropout)
        self.networks_built()
        self.register_buffer("fixed_noise", torch.randn(8 * samples_per_row, latent_dim,
                                                        generator=torch.Generator().manual_seed(0)))
        self.register_buffer("labeled_images", torch.empty(0, *image_shape))
        self.register_buffer("labeled_labels", torch.empty(0, dtype=torch.long))

    def adversarial_loss(self, name: str) -> None:
        """None: D's loss is SGAN's own (``training_step``), so no gradient penalty either."""
        return None

    # ----------------------------------------------------------- labelled data
    def choose_labeled(self, dataset) -> None:
        """Keep ``num_labeled`` class-balanced images of ``dataset`` as the labelled set."""
        k, n = self.hparams.num_classes, self.hparams.num_labeled
        targets = getattr(dataset, "targets", None)  # folder data sets know their labels without decoding images
        labels = torch.as_tensor(targets if targets is not None else [int(dataset[i][1]) for i in range(len(dataset))])
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(self.hparams.labeled_seed))
        chosen: list[int] = []
        for c in range(k):
            of_class = order[labels[order] == c]
            quota = n // k + (1 if c < n % k else 0)
            if len(of_class) < quota:
                raise ValueError(f"class {c} has {len(of_class)} training images, fewer than the {quota} needed")
            chosen += of_class[:quota].tolist()
        chosen.sort()
        self.labeled_images = torch.stack([dataset[i][0] for i in chosen]).to(self.device)
        self.labeled_labels = labels[chosen].to(self.device)

    def on_fit_start(self) -> None:
        super().on_fit_start()
        if len(self.labeled_labels) == 0:  # not restored from a checkpoint
            datamodule = self.trainer.datamodule
            if datamodule is None or not hasattr(datamodule, "split_dataset"):
                raise ValueError("SGAN needs a DataModule with split_dataset('train') to choose its labelled images")
            self.choose_labeled(datamodule.split_dataset("train"))

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        for key in ("labeled_images", "labeled_labels"):  # sized by the data, not the constructor
            if key in state_dict:
                setattr(self, key, torch.empty_like(state_dict[key]))
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # ---------------------------------------------------------------- training
    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, _ = batch  # the unlabelled batch: its labels are not used
        opt_g, opt_d = self.optimizers()
        pick = torch.randint(len(self.labeled_labels), (self.hparams.labeled_batch_size,), device=self.device)
        x_labeled, y_labeled = self.labeled_images[pick], self.labeled_labels[pick]

        # (1) D: L_supervised + L_unsupervised [+ γ/2·R1 when on].
        with self.updating(opt_d):
            with torch.no_grad():
                fake = self.G(self.noise(x.size(0)))
            logits_labeled, _ = self.D(x_labeled)
            x = self.real_input(x)  # requires grad on the D steps that compute R1
            logits_real, _ = self.D(x)
            logits_fake, _ = self.D(fake)
            supervised_loss = F.cross_entropy(logits_labeled, y_labeled)
            unsupervised_loss = -log_d_real(logits_real).mean() - log_d_fake(logits_fake).mean()
            d_loss = supervised_loss + self.hparams.unsupervised_weight * unsupervised_loss
            d_total, penalties = self.penalise(d_loss, real=x, real_logits=torch.logsumexp(logits_real, dim=1))
            self.backward_step(d_total, opt_d)

        accuracy = (logits_labeled.argmax(1) == y_labeled).float().mean()
        losses = dict(d_loss=d_loss, supervised_loss=supervised_loss, unsupervised_loss=unsupervised_loss,
                      labeled_accuracy=accuracy, **penalties)

        # (2) G every n_critic batches: feature matching ||E f(x) - E f(G(z))||^2 (or non-saturating).
        if self.generator_turn():
            with self.updating(opt_g):
                logits_fake, features_fake = self.D(self.G(self.noise(x.size(0))))
                if self.hparams.generator_loss == "feature_matching":
                    with torch.no_grad():
                        _, features_real = self.D(x)
                    g_loss = (features_real.mean(0) - features_fake.mean(0)).pow(2).mean()
                else:
                    g_loss = -log_d_real(logits_fake).mean()
                self.backward_step(g_loss, opt_g)
            losses["g_loss"] = g_loss
        self.log_losses(**losses)

    # -------------------------------------------------------------- evaluation
    @torch.no_grad()
    def classify(self, images: Tensor) -> Tensor:
        """D's class logits for ``images`` in [-1, 1] (B, C, H, W); eval mode, no gradients."""
        with self._eval_mode(self.discriminator) as discriminator:
            return discriminator(images.to(self.device))[0]

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val/accuracy", (self.classify(x).argmax(1) == y).float().mean(), sync_dist=True)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("test/accuracy", (self.classify(x).argmax(1) == y).float().mean(), sync_dist=True)

    def split_accuracy(self, split: str) -> float:
        """Classifier accuracy on a split of the trainer's DataModule."""
        loader = torch.utils.data.DataLoader(self.trainer.datamodule.split_dataset(split), batch_size=256)
        correct = total = 0
        for x, y in loader:
            correct += (self.classify(x).argmax(1).cpu() == y).sum().item()
            total += len(y)
        return correct / total

    def on_train_end(self) -> None:
        super().on_train_end()
        accuracy = self.split_accuracy("test")
        for logger in self.trainer.loggers:
            logger.log_metrics({"test/accuracy": accuracy}, step=self.trainer.global_step)
            logger.save()
        self.test_accuracy = accuracy

    # ----------------------------------------------------------------- sampling
    def sample_grid(self) -> tuple[Tensor, int]:
        return self.sample(len(self.fixed_noise), noise=self.fixed_noise), self.hparams.samples_per_row
