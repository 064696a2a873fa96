"""ProGAN-lite: the schedule in images seen, fade-in of reals, phase bookkeeping, sampling, resume."""

from __future__ import annotations

import math

import lightning.pytorch as pl
import pytest
import torch

from datamodules import DigitsDataModule
from tests.models.helpers import train
from zoo.models.progan import ProGAN, ProgressiveSchedule

TINY = dict(latent_dim=16, fmap_base=64, fmap_max=16, image_shape=(1, 16, 16))


def test_schedule_phases_in_kimg():
    schedule = ProgressiveSchedule(16, stabilize_kimg=2, fade_kimg=1)
    assert [(p.resolution, p.fading, p.start_kimg, p.end_kimg) for p in schedule.phases] == [
        (4, False, 0, 2), (8, True, 2, 3), (8, False, 3, 5), (16, True, 5, 6), (16, False, 6, math.inf),
    ]
    assert schedule.at(0.0)[:2] == (4, 1.0) and schedule.at(1.999)[:2] == (4, 1.0)
    assert schedule.at(2.0)[:2] == (8, 0.0)
    assert schedule.at(2.25)[:2] == (8, 0.25) and schedule.at(2.75)[:2] == (8, 0.75)
    assert schedule.at(3.0)[:2] == (8, 1.0) and schedule.at(5.5)[:2] == (16, 0.5)
    assert schedule.at(1e9)[:2] == (16, 1.0) and schedule.growth_kimg == 6
    assert "fade in" in schedule.table({4: 32}) and "16x16" in schedule.table()
    no_fade = ProgressiveSchedule(8, stabilize_kimg=1, fade_kimg=0)
    assert [(p.resolution, p.fading) for p in no_fade.phases] == [(4, False), (8, False)]


def test_bad_arguments_name_the_valid_values():
    with pytest.raises(ValueError, match="stabilize_kimg must be > 0"):
        ProgressiveSchedule(16, 0, 1)
    with pytest.raises(ValueError, match="power of two"):
        ProGAN(image_shape=(1, 28, 28))
    with pytest.raises(ValueError, match="resolutions: 4, 8, 16"):
        ProGAN(batch_sizes={32: 8}, **TINY)
    with pytest.raises(ValueError, match="conditional=True needs labelled data"):
        ProGAN(conditional=True, num_classes=None, **TINY)


def test_alpha_follows_the_schedule_in_images_seen():
    """Batches of 16 real images, 0.032 kimg phases: two D steps per phase; α logged each step."""
    torch.manual_seed(0)
    model = ProGAN(stabilize_kimg=0.032, fade_kimg=0.032, batch_sizes={4: 16, 8: 16, 16: 8}, **TINY)
    seen = []
    original = model.training_step

    def spy(batch, batch_idx):
        seen.append((model.level()[0], round(model.level()[1], 3), int(model.images_seen)))
        return original(batch, batch_idx)

    model.training_step = spy
    train(model, max_steps=9, batch_size=16)
    assert seen[:5] == [(4, 1.0, 0), (4, 1.0, 16), (8, 0.0, 32), (8, 0.5, 48), (8, 1.0, 64)]
    assert seen[6][:2] == (16, 0.0)  # 96 images: the 16x16 fade starts; its batches hold 8 images
    assert seen[7] == (16, 0.25, 104) and int(model.images_seen) == 120
    assert model.trained_resolution == 16


def test_reals_are_downsampled_and_faded_like_the_fakes():
    from zoo.nn.progan import downsample_to, fade_reals

    x = torch.randn(2, 1, 16, 16)
    at8 = downsample_to(x, 8)
    assert torch.allclose(at8, torch.nn.functional.avg_pool2d(x, 2))
    faded = fade_reals(at8, 0.0)
    assert torch.allclose(faded, torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(at8, 2), scale_factor=2))
    assert torch.equal(fade_reals(at8, 1.0), at8)


def _adam_steps(optimizer) -> int:
    """The step count of D's head (used at every resolution), from Adam's state."""
    return max(int(state["step"]) for state in optimizer.state.values())


def test_optimizer_state_is_reset_when_a_fade_starts_and_ends_and_grids_are_due():
    torch.manual_seed(0)
    model = ProGAN(stabilize_kimg=0.032, fade_kimg=0.032, **TINY)
    steps_at_reset, due = [], []
    original = model.training_step

    def spy(batch, batch_idx):
        out = original(batch, batch_idx)
        steps_at_reset.append(_adam_steps(model.optimizers()[1].optimizer))
        due.append(model.grid_requested())
        due.append(model.grid_requested())  # a question: asking twice changes nothing
        return out

    model.training_step = spy
    train(model, max_steps=6, batch_size=16)
    # D's Adam step count restarts when the 8x8 fade starts (step 3) and ends (step 5)
    assert steps_at_reset == [1, 2, 1, 2, 1, 2]
    assert due[::2] == due[1::2] == [False, True, False, True, False, True]


def test_keeping_the_optimizer_state_when_asked():
    torch.manual_seed(0)
    model = ProGAN(stabilize_kimg=0.032, fade_kimg=0.032, reset_optimizers=False, **TINY)
    train(model, max_steps=5, batch_size=16)
    assert _adam_steps(model.optimizers()[1].optimizer) == 5


def test_an_ema_half_life_in_images_sets_beta_from_the_batch():
    torch.manual_seed(0)
    model = ProGAN(stabilize_kimg=0.032, fade_kimg=0.032, ema_kimg=0.016, **TINY)
    original, seen = model.update_ema, []

    def spy():
        before = {k: v.clone() for k, v in model.generator_ema.state_dict().items()}
        original()
        seen.append((model.ema_beta(), before, model.generator.state_dict(), model.generator_ema.state_dict()))

    model.update_ema = spy
    train(model, max_steps=2, batch_size=16)
    beta, before, raw, ema = seen[-1]
    assert beta == pytest.approx(0.5)  # 16 images per step, half-life 16 images
    for key, value in ema.items():
        assert torch.allclose(value, 0.5 * before[key] + 0.5 * raw[key], atol=1e-6), key
    assert ProGAN(**TINY).ema_beta() == 0.999  # without ema_kimg: the fixed β of the paper
    with pytest.raises(ValueError, match="ema_kimg"):
        ProGAN(ema_kimg=0, **TINY)


def test_sampling_at_the_trained_and_earlier_resolutions():
    torch.manual_seed(0)
    model = ProGAN(stabilize_kimg=0.016, fade_kimg=0.016, **TINY)
    train(model, max_steps=5, batch_size=16)  # 80 images: 16x16 faded in
    assert model.level()[:2] == (16, 1.0)
    assert model.sample(3).shape == (3, 1, 16, 16)
    assert model.sample(3, resolution=8).shape == (3, 1, 8, 8)
    assert model.sample(3).abs().max() <= 1
    noise = torch.randn(2, 16)
    assert torch.equal(model.sample(2, noise=noise), model.sample(2, noise=noise))
    with pytest.raises(ValueError, match="valid resolutions: 4, 8, 16"):
        model.sample(2, resolution=12)
    with pytest.raises(ValueError, match=r"unconditional \(conditional=False\): it takes no labels="):
        model.sample(2, labels=torch.zeros(2, dtype=torch.long))
    images, nrow = model.sample_grid()
    assert images.shape == (64, 1, 16, 16) and nrow == 8
    fresh = ProGAN(**TINY)
    with pytest.raises(ValueError, match="has not been trained yet"):
        fresh.sample(2, resolution=16)


def test_the_conditional_form_uses_the_labels_and_an_auxiliary_classifier():
    torch.manual_seed(0)
    model = ProGAN(conditional=True, num_classes=10, stabilize_kimg=0.032, fade_kimg=0.032, **TINY)
    trainer = train(model, max_steps=3, batch_size=16)
    assert torch.isfinite(trainer.callback_metrics["train/d_aux"])
    labels = torch.arange(4)
    assert model.level()[:2] == (8, 0.5) and model.sample(4, labels=labels).shape == (4, 1, 8, 8)
    images, nrow = model.sample_grid()
    assert images.shape == (80, 1, 16, 16) and nrow == 8
    assert model.sample_for_metrics(6)[1].shape == (6,)


def test_the_wgan_gp_losses_and_the_drift_term_are_logged():
    torch.manual_seed(0)
    trainer = train(ProGAN(**TINY), max_steps=2, batch_size=16)
    metrics = trainer.callback_metrics
    for key in ("train/d_loss", "train/g_loss", "train/gradient_penalty", "train/drift", "train/alpha"):
        assert torch.isfinite(metrics[key]), key


def _adam_state(optimizer) -> dict:
    """A copy of Adam's per-parameter state (the live tensors change in place as training goes on)."""
    return {i: {k: v.clone() for k, v in s.items()} for i, s in optimizer.state_dict()["state"].items()}


def _fit(tmp_path, max_steps, ckpt_path=None, name="run", on_start=None):
    pl.seed_everything(0)
    model = ProGAN(stabilize_kimg=0.048, fade_kimg=0.096, **TINY)
    if on_start is not None:
        original = model.on_train_start
        model.on_train_start = lambda: (original(), on_start(model))[0]
    trainer = pl.Trainer(max_steps=max_steps, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         accelerator="cpu", default_root_dir=tmp_path / name, enable_checkpointing=False,
                         num_sanity_val_steps=0, limit_val_batches=0)
    trainer.fit(model, datamodule=DigitsDataModule(batch_size=16, image_size=16), ckpt_path=ckpt_path)
    return model, trainer


def test_a_run_resumed_in_the_middle_of_a_fade_restores_the_schedule_optimizers_and_ema(tmp_path):
    """4 steps (64 images: inside the 8x8 fade of images 48..144), saved, resumed for 4 more: phase, α,
    images seen, both Adam states and the EMA generator come back, and the schedule goes on from there."""
    half, trainer = _fit(tmp_path, 4, name="half")
    resolution, alpha, phase = half.level()
    assert (resolution, phase.fading) == (8, True) and 0 < alpha < 1
    ckpt = tmp_path / "half.ckpt"
    trainer.save_checkpoint(ckpt)
    saved = {"ema": {k: v.clone() for k, v in half.generator_ema.state_dict().items()},
             "adam": [_adam_state(opt) for opt in trainer.optimizers]}
    meta = torch.load(ckpt, weights_only=True)["zoo"]["progan"]
    assert meta["images_seen"] == 64 and meta["resolution"] == 8 and meta["alpha"] == pytest.approx(alpha)
    assert meta["schedule"][1] == (8, "fade", 0.048, pytest.approx(0.144))

    seen = {}

    def at_start(model):
        seen["level"] = model.level()
        seen["ema"] = {k: v.clone() for k, v in model.generator_ema.state_dict().items()}
        seen["adam"] = [_adam_state(opt) for opt in model.trainer.optimizers]

    resumed, _ = _fit(tmp_path, 8, ckpt_path=str(ckpt), name="resumed", on_start=at_start)
    assert seen["level"] == (resolution, alpha, phase)
    assert all(torch.equal(seen["ema"][k], v) for k, v in saved["ema"].items())
    for before, after in zip(saved["adam"], seen["adam"]):
        assert before.keys() == after.keys() and len(before) > 0
        for index, state in before.items():
            assert all(torch.equal(state[key], after[index][key]) for key in ("step", "exp_avg", "exp_avg_sq"))
    assert int(resumed.images_seen) == 8 * 16 and resumed.level()[:2] == (8, pytest.approx((0.128 - 0.048) / 0.096))
    # and the resumed run is the uninterrupted one: same data, noise, losses, hence the same weights
    whole, _ = _fit(tmp_path, 8, name="whole")
    different = [k for k, v in whole.state_dict().items() if not torch.equal(v, resumed.state_dict()[k])]
    assert not different, f"{len(different)} tensors differ from the uninterrupted run, e.g. {different[:3]}"


def test_per_resolution_batch_sizes_survive_the_cli_and_a_checkpoint(fit):
    """LightningCLI records the config (dict keys as text) as the hyper-parameters: the batch sizes
    must still apply in training, and a checkpoint must load (keys "4", "8", ... -> 4, 8, ...)."""
    import zoo

    cli = fit("--model", "progan", "--model.fmap_base", "64", "--model.fmap_max", "16", "--trainer.max_steps", "2",
              "--model.batch_sizes", "{4: 8, 8: 8, 16: 4, 32: 4}")
    assert [cli.model.batch_size_at(r, 64) for r in (4, 16, 32)] == [8, 4, 4]
    loaded = zoo.load(cli.trainer.checkpoint_callback.last_model_path)
    assert loaded.batch_sizes == {4: 8, 8: 8, 16: 4, 32: 4}
    with pytest.raises(ValueError, match="batch_sizes: 64: 8 is not a valid entry"):
        ProGAN(batch_sizes={"64": 8}, **TINY)


@pytest.mark.parametrize("data, conditional", [("image_folder", False), ("labelled_folder", True)])
def test_zoo_fit_grows_to_the_resolution_of_a_64_px_folder(fit, tmp_path, data, conditional):
    """``zoo.fit --model progan --data <folder>`` grows 4 -> 64 (the folder DataModules' default size),
    unconditional on a plain folder and conditional on a labelled one, with a grid per phase."""
    from tests.fake_data import random_image

    root = tmp_path / "images"
    for i in range(8):
        folder = root / (f"class_{i % 2}" if data == "labelled_folder" else "")
        folder.mkdir(parents=True, exist_ok=True)
        random_image(70, 60, seed=i).save(folder / f"{i}.png")
    # 4 images a step, 2 steps a phase: 4x4, then fade + stabilise at 8, 16, 32, 64 = 18 steps
    cli = fit("--model", "progan", "--data", data, "--data.root", str(root), "--data.batch_size", "4",
              "--data.val_fraction", "0", "--model.conditional", str(conditional).lower(),
              "--model.fmap_base", "64", "--model.fmap_max", "16", "--model.latent_dim", "16",
              "--model.stabilize_kimg", "0.008", "--model.fade_kimg", "0.008", "--trainer.max_steps", "18")
    model = cli.model
    assert tuple(model.hparams.image_shape) == (3, 64, 64) and model.hparams.num_classes == (2 if conditional else None)
    assert model.level()[:2] == (64, 1.0) and model.trained_resolution == 64
    assert model.sample(2).shape == (2, 3, 64, 64) and model.sample(2, resolution=16).shape == (2, 3, 16, 16)
    grids = sorted((tmp_path / "runs").rglob("samples/step_*.png"))
    assert [int(p.stem.split("_")[1]) for p in grids] == [2, 4, 6, 8, 10, 12, 14, 16, 18]  # each phase's end


@pytest.mark.parametrize("data, channels", [("mnist", 1), ("cifar10", 3)])
def test_zoo_fit_grows_to_32_px_on_mnist_and_cifar10(fit, tmp_path, data, channels):
    """``--data mnist`` and ``--data cifar10`` (files the test writes, no download) grow 4 -> 32, conditional."""
    from tests.fake_data import write_fake_cifar10, write_fake_mnist

    (write_fake_mnist if data == "mnist" else write_fake_cifar10)(tmp_path / "data")
    # 4 images a step, 2 steps a phase: 4x4, then fade + stabilise at 8, 16, 32 = 14 steps
    cli = fit("--model", "progan", "--data", data, "--data.data_dir", str(tmp_path / "data"), "--data.download", "false",
              "--data.batch_size", "4", "--model.conditional", "true", "--model.fmap_base", "64",
              "--model.fmap_max", "16", "--model.latent_dim", "16", "--model.stabilize_kimg", "0.008",
              "--model.fade_kimg", "0.008", "--trainer.max_steps", "14")
    model = cli.model
    assert tuple(model.hparams.image_shape) == (channels, 32, 32) and model.hparams.num_classes == 10
    assert model.level()[:2] == (32, 1.0) and model.trained_resolution == 32
    assert model.sample(2, labels=torch.tensor([3, 7])).shape == (2, channels, 32, 32)
