"""The discriminator update every model shares: the shared settings of ``GANModule``, ``penalise`` (WGAN-GP, R1),
``generator_turn`` (n_critic), ``real_input`` and the ``discriminator_norm`` rule."""

from __future__ import annotations

import re
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

import zoo
from tests.models.helpers import constructor_args, params, small_model, train
from zoo.losses import gradient_penalty, r1_penalty
from zoo.models import DCGAN
from zoo.models.base import GANModule, shared_setting_defaults

DOCS = Path(__file__).resolve().parents[2] / "docs" / "models"
SHARED_FLAGS = ("loss", "gp_weight", "n_critic", "r1_weight", "r1_interval", "lr", "betas", "lr_decay_start",
                "ema_decay", "gradient_clip_val", "spectral_norm", "spectral_norm_g", "diffaugment", "weight_clip")
#: the shared settings a model fixes (refuses a non-default value of), with the reason in its class
EXPECTED_FIXED = {
    "sgan": ("loss",),  # its K+1-class D loss is not swappable
    "pix2pix": ("n_critic", "lr_decay_start", "ema_decay"),  # the papers' alternation and per-epoch schedule
    "cyclegan": ("n_critic", "lr_decay_start", "ema_decay"),
    "progan": ("n_critic",),  # one D step per G step, as the paper: the schedule counts each step's images
}
R1_MODELS = [name for name in zoo.list_models() if "r1_weight" in constructor_args(name)]
N_CRITIC_MODELS = [name for name in zoo.list_models() if "n_critic" in constructor_args(name)]


@pytest.fixture
def at_batch(monkeypatch):
    """``at_batch(i)``: make ``batch_number`` read ``i`` (no trainer needed)."""
    current = {"batch": 0}
    monkeypatch.setattr(GANModule, "batch_number", property(lambda self: current["batch"]))

    def set_batch(i: int) -> None:
        current["batch"] = i

    return set_batch


def test_the_shared_settings_are_the_keyword_only_arguments_of_the_base():
    assert tuple(shared_setting_defaults()) == SHARED_FLAGS


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_model_takes_the_shared_settings_but_those_it_fixes(name):
    cls = zoo.get_model_class(name)
    fixed = tuple(cls.fixed_settings)
    assert fixed == EXPECTED_FIXED.get(name, ())
    assert tuple(cls.settings()) == tuple(f for f in SHARED_FLAGS if f not in fixed)
    assert all(len(reason) > 20 for reason in cls.fixed_settings.values())  # each says why
    assert re.search(r"^\s+settings:", cls.__doc__, re.M), f"{name}: the docstring's Args point to the shared settings"
    for flag, value in {"loss": "hinge", "n_critic": 2, "lr_decay_start": 10, "ema_decay": 0.9}.items():
        if flag in fixed:
            with pytest.raises(ValueError, match=rf"{cls.__name__} does not take {flag} \(got .*\): "):
                small_model(name, **{flag: value})


def test_the_shared_settings_are_documented_once():
    doc = GANModule.__doc__
    architecture = (DOCS.parent / "architecture.md").read_text()
    for flag in SHARED_FLAGS:
        assert re.search(rf"^\s+{flag}:", doc, re.M), f"{flag} missing from GANModule's Args"
        assert f"`--model.{flag}`" in architecture, f"docs/architecture.md: --model.{flag} missing from the settings"


@pytest.mark.parametrize("name", R1_MODELS)
def test_the_shared_arguments_are_validated(name):
    for kwargs, message in (({"r1_weight": -1.0}, "r1_weight must be >= 0, got -1.0"),
                            ({"r1_interval": 0}, "r1_interval must be >= 1, got 0"),
                            ({"n_critic": 0}, "n_critic must be >= 1, got 0"),
                            ({"gp_weight": -1.0}, "gp_weight must be >= 0, got -1.0"),
                            ({"loss": "wasserstein"}, "unknown adversarial loss 'wasserstein'; valid choices: bce, lsgan, hinge, wgan, wgan-gp")):
        if set(kwargs) <= constructor_args(name):
            with pytest.raises(ValueError, match=re.escape(message)):
                small_model(name, **kwargs)


def test_wgan_gp_refuses_batch_norm_in_the_discriminator():
    with pytest.raises(ValueError, match="discriminator_norm='batch' cannot be used with loss='wgan-gp'.*layer, instance"):
        small_model("dcgan", loss="wgan-gp", discriminator_norm="batch")
    with pytest.raises(ValueError, match="norm='batch' cannot be used with loss='wgan-gp'.*valid choices: instance, none"):
        small_model("pix2pix", loss="wgan-gp")  # pix2pix's default norm is batch
    assert small_model("pix2pix", loss="wgan-gp", norm="instance")[0].needs_gradient_penalty
    assert small_model("cyclegan", loss="wgan-gp")[0].needs_gradient_penalty  # instance norm by default
    assert isinstance(small_model("cgan", loss="wgan-gp")[0].discriminator.features[3], torch.nn.GroupNorm)  # auto


def test_generator_turn_and_lazy_r1_follow_the_batch_count(at_batch):
    model = DCGAN(latent_dim=8, generator_channels=4, discriminator_channels=4, n_critic=3, r1_weight=1.0,
                  r1_interval=2)
    turns, r1 = [], []
    for i in range(7):
        at_batch(i)
        turns.append(model.generator_turn())
        r1.append(model.r1_turn())
    assert turns == [False, False, True, False, False, True, False]  # G after every 3rd batch
    assert r1 == [True, False, True, False, True, False, True]  # R1 on every 2nd D step
    x = torch.randn(2, 1, 32, 32)
    at_batch(1)
    assert model.real_input(x) is x  # not an R1 step: the batch as it is
    at_batch(0)
    watched = model.real_input(x)
    assert watched.requires_grad and not x.requires_grad and torch.equal(watched, x)  # a copy, the batch untouched
    off = DCGAN(latent_dim=8, generator_channels=4, discriminator_channels=4)
    assert off.generator_turn() and not off.r1_turn() and off.real_input(x) is x


def test_penalise_adds_the_weighted_penalties_and_r1_trains_d(at_batch):
    torch.manual_seed(0)
    model = DCGAN(latent_dim=8, generator_channels=4, discriminator_channels=4, loss="wgan-gp", gp_weight=3.0,
                  r1_weight=2.0, r1_interval=4)
    at_batch(8)  # an R1 step (8 % 4 == 0)
    real = model.real_input(torch.randn(4, 1, 32, 32))
    fake = torch.randn(4, 1, 32, 32)
    real_logits = model.D(real)
    d_loss = torch.tensor(0.25)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        total, logged = model.penalise(d_loss, real=real, real_logits=real_logits, fake=fake)
    torch.manual_seed(1)
    gp = gradient_penalty(model.discriminator, real, fake)  # the same ε
    r1 = r1_penalty(model.discriminator(real), real)
    assert sorted(logged) == ["gradient_penalty", "r1"]
    assert torch.allclose(logged["gradient_penalty"], gp) and torch.allclose(logged["r1"], r1)
    assert torch.allclose(total, d_loss + 3.0 * gp + 2.0 * 4 / 2 * r1)  # λ·GP + k·γ/2·R1 (lazy weight k)

    # R1 alone reaches D's parameters: its gradient is that of k·γ/2·‖∇_x D(x)‖²
    model = DCGAN(latent_dim=8, generator_channels=4, discriminator_channels=4, r1_weight=2.0, r1_interval=4)
    real = model.real_input(torch.randn(4, 1, 32, 32))
    real_logits = model.D(real)
    total, logged = model.penalise(real_logits.sum() * 0, real=real, real_logits=real_logits)
    assert list(logged) == ["r1"]
    weights = list(model.discriminator.parameters())
    got = torch.autograd.grad(total, weights, allow_unused=True)
    expected = torch.autograd.grad(4 * 2.0 / 2 * r1_penalty(model.discriminator(real), real), weights, allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in got)
    for g, e, w in zip(got, expected, weights):  # None: no gradient (D's output bias does not move ∇_x D)
        g, e = (torch.zeros_like(w) if t is None else t for t in (g, e))
        assert torch.allclose(g, e, atol=1e-7)
    at_batch(1)  # not an R1 step: d_loss comes back untouched
    unchanged, logged = model.penalise(d_loss, real=real, real_logits=real_logits)
    assert unchanged is d_loss and logged == {}


class LoggedKeys(pl.Callback):
    def __init__(self):
        self.keys: set[str] = set()
        self.values: dict[str, float] = {}

    def on_train_batch_end(self, trainer, module, *args):
        self.keys |= set(trainer.callback_metrics)
        self.values.update({k: v.item() for k, v in trainer.callback_metrics.items()})


@pytest.mark.parametrize("name", R1_MODELS)
def test_r1_is_logged_and_changes_only_what_d_learns(name):
    """The same seed with and without R1: the run with it logs a positive ``r1`` and D ends elsewhere."""
    def run(r1_weight: float):
        torch.manual_seed(0)
        model, datamodule = small_model(name, r1_weight=r1_weight)
        logged = LoggedKeys()
        train(model, max_steps=1, datamodule=datamodule, callbacks=[logged])
        discriminators = [getattr(model, net) for net in model.networks if net.startswith("discriminator")]
        return torch.cat([params(net) for net in discriminators]), logged

    with_r1, logged = run(10.0)
    without, logged_without = run(0.0)
    r1_keys = sorted(k for k in logged.keys if k.startswith("train/r1"))
    assert r1_keys == (["train/r1_a", "train/r1_b"] if name == "cyclegan" else ["train/r1"])
    assert all(logged.values[k] > 0 for k in r1_keys)
    assert not any(k.startswith("train/r1") for k in logged_without.keys)
    assert not torch.equal(with_r1, without)


@pytest.mark.parametrize("name", N_CRITIC_MODELS)
def test_n_critic_skips_generator_steps(name):
    model, datamodule = small_model(name, n_critic=3)
    trainer = train(model, max_steps=2, datamodule=datamodule)
    opt_g, opt_d = trainer.optimizers
    assert trainer.global_step == 2 and trainer.fit_loop.epoch_loop._batches_that_stepped == 6
    assert opt_g.state_dict()["state"][0]["step"].item() == 2  # G stepped after batches 3 and 6 only
    assert opt_d.state_dict()["state"][0]["step"].item() == 6  # D on every batch


@pytest.mark.parametrize("name", [n for n in R1_MODELS if "loss" in constructor_args(n)])
def test_wgan_gp_penalty_is_logged_by_every_model_that_takes_it(name):
    kwargs = {"loss": "wgan-gp", **({"norm": "instance"} if name == "pix2pix" else {})}
    model, datamodule = small_model(name, **kwargs)
    logged = LoggedKeys()
    train(model, max_steps=1, datamodule=datamodule, callbacks=[logged])
    keys = sorted(k for k in logged.keys if k.startswith("train/gradient_penalty"))
    expected = ["train/gradient_penalty_a", "train/gradient_penalty_b"] if name == "cyclegan" else ["train/gradient_penalty"]
    assert keys == expected and all(0 <= logged.values[k] < float("inf") for k in keys)
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("name", zoo.list_models())
def test_spectral_norm_reaches_every_discriminator_and_on_request_every_generator(name):
    from zoo.nn.blocks import spectrally_normalised

    model, _ = small_model(name, spectral_norm=True, spectral_norm_g=False)  # BigGAN's G default is on
    cls = type(model)
    for network in cls.networks:
        normalised = spectrally_normalised(getattr(model, network))
        assert bool(normalised) == (network in cls.discriminators), (name, network)
    model, _ = small_model(name, spectral_norm_g=True)
    assert all(spectrally_normalised(getattr(model, n)) for n in cls.networks if n not in cls.discriminators)


def test_diffaugment_reaches_every_image_d_sees_in_training_only(at_batch):
    seen = []
    model = DCGAN(latent_dim=8, generator_channels=4, discriminator_channels=4, diffaugment="cutout")
    model.discriminator.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    x = torch.ones(3, 1, 32, 32)
    model.train()
    model.D(x)
    assert (seen[-1] == 0).any()  # a square cut out
    model.eval()
    model.D(x)
    assert torch.equal(seen[-1], x)  # evaluation sees the image as it is
    assert not DCGAN(latent_dim=8, generator_channels=4, discriminator_channels=4).augment.policy
