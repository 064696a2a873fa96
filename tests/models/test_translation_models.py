"""Pix2Pix and CycleGAN: the paper's updates, the LR schedule, translate(), resuming with the image pools."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from PIL import Image

import zoo
from datamodules import DigitOutlinesDataModule, DigitStrokesDataModule
import torch.nn.functional as F

from tests.models.helpers import params
from zoo.models.translation import reference_lr_factor

TINY = dict(in_channels=1, out_channels=1, generator_channels=8, discriminator_channels=8)


def tiny_pix2pix(**kwargs):
    return zoo.create_model("pix2pix", image_size=32, **{**TINY, **kwargs})


def tiny_cyclegan(**kwargs):
    return zoo.create_model("cyclegan", num_blocks=1, **{**TINY, **kwargs})


def quick_trainer(max_steps: int, **kwargs) -> pl.Trainer:
    kwargs.setdefault("limit_val_batches", 0)
    return pl.Trainer(max_steps=max_steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, num_sanity_val_steps=0, accelerator="cpu", **kwargs)


def test_reference_lr_rule_at_known_epochs():
    factor = reference_lr_factor(100, 100)
    assert [factor(e) for e in (0, 50, 99)] == [1.0, 1.0, 1.0]
    assert factor(100) == pytest.approx(1 - 1 / 101)
    assert factor(149) == pytest.approx(1 - 50 / 101)
    assert factor(199) == pytest.approx(1 / 101) and factor(200) == 0.0
    assert reference_lr_factor(5, 0)(1000) == 1.0
    with pytest.raises(ValueError, match="n_epochs"):
        reference_lr_factor(-1, 3)


def test_learning_rates_follow_the_schedule_epoch_by_epoch():
    class RecordLR(pl.Callback):
        lrs: list[tuple[float, float]] = []

        def on_train_epoch_start(self, trainer, module):
            self.lrs.append(tuple(opt.param_groups[0]["lr"] for opt in trainer.optimizers))

    model = tiny_cyclegan(n_epochs=2, n_epochs_decay=3, lr=1e-3, pool_size=0, lambda_identity=0)
    record = RecordLR()
    data = DigitStrokesDataModule(batch_size=16)
    quick_trainer(max_steps=2 * 6, limit_train_batches=2, callbacks=[record]).fit(model, datamodule=data)  # 2 per epoch
    expected = [1e-3 * reference_lr_factor(2, 3)(e) for e in range(6)]  # 1, 1, .75, .5, .25, 0
    assert [g for g, _ in record.lrs] == pytest.approx(expected)
    assert [d for _, d in record.lrs] == pytest.approx(expected)


def test_pix2pix_step_updates_both_networks_with_the_papers_losses():
    torch.manual_seed(0)
    model = tiny_pix2pix()
    g0, d0 = params(model.generator), params(model.discriminator)
    trainer = quick_trainer(max_steps=1)
    trainer.fit(model, datamodule=DigitOutlinesDataModule(batch_size=8))
    logged = trainer.callback_metrics
    assert torch.isclose(logged["train/d_loss"], 0.5 * (logged["train/d_real"] + logged["train/d_fake"]))
    assert not torch.equal(params(model.generator), g0) and not torch.equal(params(model.discriminator), d0)
    assert trainer.global_step == 1  # one iteration = one G step (D's step is not counted)


def test_pix2pix_l1_term_pulls_towards_the_target():
    """With the adversarial term switched off by a huge λ, G must reduce the L1 to the targets."""
    torch.manual_seed(0)
    model = tiny_pix2pix(lambda_l1=1000.0)
    data = DigitOutlinesDataModule(batch_size=16)
    batch = next(iter(data.val_dataloader()))
    before = (model.translate(batch["A"]) - batch["B"]).abs().mean()
    quick_trainer(max_steps=60).fit(model, datamodule=data)
    after = (model.translate(batch["A"]) - batch["B"]).abs().mean()
    assert after < 0.8 * before, (before, after)  # measured: 0.70 -> 0.50


def test_cyclegan_step_updates_four_networks_and_fills_the_pools():
    torch.manual_seed(0)
    model = tiny_cyclegan(pool_size=5)
    before = {name: params(getattr(model, name)) for name in model.networks}
    trainer = quick_trainer(max_steps=2)
    trainer.fit(model, datamodule=DigitStrokesDataModule(batch_size=4))
    for name in model.networks:
        assert not torch.equal(params(getattr(model, name)), before[name]), name
    assert len(model.pool_a) == len(model.pool_b) == 5  # 8 fakes seen, capacity 5
    assert {"train/g_cycle", "train/g_identity", "train/d_loss_a", "train/d_loss_b"} <= set(trainer.callback_metrics)


def test_cyclegan_identity_loss_needs_equal_channels():
    with pytest.raises(ValueError, match="lambda_identity=0"):
        zoo.create_model("cyclegan", in_channels=1, out_channels=3)
    assert zoo.create_model("cyclegan", in_channels=1, out_channels=3, lambda_identity=0, num_blocks=1)


def old_target_loss(logits: torch.Tensor, real: bool, kind: str) -> torch.Tensor:
    """``zoo.losses.target_loss`` as the translation models used it before they took the AdversarialLoss objects:
    D's output against an all-ones (real) or all-zeros (fake) target, averaged over the PatchGAN map."""
    target = torch.full_like(logits, 1.0 if real else 0.0)
    return F.binary_cross_entropy_with_logits(logits, target) if kind == "bce" else F.mse_loss(logits, target)


@pytest.mark.parametrize("build", [tiny_pix2pix, tiny_cyclegan], ids=["pix2pix", "cyclegan"])
@pytest.mark.parametrize("kind", ["bce", "lsgan"])
@pytest.mark.parametrize("precision", ["32", "bf16-mixed"])
def test_translation_gan_losses_equal_the_old_target_formulas(build, kind, precision):
    """G: ℓ(D(G(x)), real); D: ½[ℓ(D(y), real) + ℓ(D(G(x)), fake)], bit for bit, in float32 and under autocast."""
    model = build(loss=kind)
    torch.manual_seed(0)
    real, fake = torch.randn(2, 4, 1, 5, 5).mul(2).unbind(0)  # PatchGAN maps
    if precision == "bf16-mixed":
        real, fake = real.bfloat16(), fake.bfloat16()  # what the PatchGAN convolutions return under autocast
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed"):
        d_real, d_fake = model.adversarial.discriminator_terms(real, fake)
        d_loss = 0.5 * model.adversarial.discriminator(real, fake)  # the ½ each model writes
        g_loss = model.adversarial.generator(fake)
        old_real, old_fake, old_g = (old_target_loss(real, True, kind), old_target_loss(fake, False, kind),
                                     old_target_loss(fake, True, kind))
    assert torch.equal(d_real, old_real) and torch.equal(d_fake, old_fake)
    assert torch.equal(d_loss, 0.5 * (old_real + old_fake))
    assert torch.equal(g_loss, old_g)


class RecordLogits(pl.Callback):
    """Every output of the discriminators during the first training step, in call order."""

    def __init__(self, model, names):
        self.outputs = {name: [] for name in names}
        for name in names:
            getattr(model, name).register_forward_hook(lambda m, a, out, name=name: self.outputs[name].append(out.detach()))


@pytest.mark.parametrize("kind", ["bce", "lsgan"])
def test_pix2pix_step_logs_the_old_target_formulas(kind):
    torch.manual_seed(0)
    model = tiny_pix2pix(loss=kind)
    record = RecordLogits(model, ["discriminator"])
    trainer = quick_trainer(max_steps=1)
    trainer.fit(model, datamodule=DigitOutlinesDataModule(batch_size=4))
    real, fake_d, fake_g = record.outputs["discriminator"]  # D step: (x, y), (x, G(x)); G step: (x, G(x))
    logged = trainer.callback_metrics
    assert torch.equal(logged["train/d_real"], old_target_loss(real, True, kind))
    assert torch.equal(logged["train/d_fake"], old_target_loss(fake_d, False, kind))
    assert torch.equal(logged["train/d_loss"], 0.5 * (old_target_loss(real, True, kind) + old_target_loss(fake_d, False, kind)))
    assert torch.equal(logged["train/g_loss"], old_target_loss(fake_g, True, kind))


@pytest.mark.parametrize("kind", ["lsgan", "bce"])
def test_cyclegan_step_logs_the_old_target_formulas(kind):
    torch.manual_seed(0)
    model = tiny_cyclegan(loss=kind, pool_size=0)
    record = RecordLogits(model, ["discriminator_a", "discriminator_b"])
    trainer = quick_trainer(max_steps=1)
    trainer.fit(model, datamodule=DigitStrokesDataModule(batch_size=4))
    g_b, real_b, fake_b = record.outputs["discriminator_b"]  # G step D_Y(G(x)); D step D_Y(y), D_Y(pooled G(x))
    g_a, real_a, fake_a = record.outputs["discriminator_a"]
    old = old_target_loss
    logged = trainer.callback_metrics
    assert torch.equal(logged["train/g_loss"], old(g_b, True, kind) + old(g_a, True, kind))
    assert torch.equal(logged["train/d_loss_b"], 0.5 * (old(real_b, True, kind) + old(fake_b, False, kind)))
    assert torch.equal(logged["train/d_loss_a"], 0.5 * (old(real_a, True, kind) + old(fake_a, False, kind)))


@pytest.mark.parametrize("build", [tiny_pix2pix, tiny_cyclegan], ids=["pix2pix", "cyclegan"])
@pytest.mark.parametrize("kind", ["hinge", "wgan-gp"])
def test_hinge_and_wgan_gp_train_on_patch_maps(build, kind):
    torch.manual_seed(0)
    model = build(loss=kind, norm="instance")
    data = DigitOutlinesDataModule(batch_size=4) if build is tiny_pix2pix else DigitStrokesDataModule(batch_size=4)
    trainer = quick_trainer(max_steps=2)
    trainer.fit(model, datamodule=data)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert all(torch.isfinite(v) for v in trainer.callback_metrics.values())
    assert any(k.startswith("train/gradient_penalty") for k in trainer.callback_metrics) == (kind == "wgan-gp")


def test_pix2pix_penalties_differentiate_the_target_side_only():
    """x is D's condition: the gradient penalty interpolates y with G(x) and R1 takes ∇_y D(x, y)."""
    torch.manual_seed(0)
    model = tiny_pix2pix(loss="wgan-gp", norm="instance", r1_weight=1.0)
    inputs = []
    model.discriminator.register_forward_pre_hook(lambda m, args: inputs.append(args[0]))
    quick_trainer(max_steps=1).fit(model, datamodule=DigitOutlinesDataModule(batch_size=4))
    real_pair, fake_pair, interpolates = inputs[:3]  # D step: (x, y), (x, G(x)), then the penalty's (x, ŷ)
    assert torch.equal(interpolates[:, :1], real_pair[:, :1])  # the condition x is not interpolated
    eps = (interpolates[:, 1:] - fake_pair[:, 1:]) / (real_pair[:, 1:] - fake_pair[:, 1:])
    assert torch.allclose(eps, eps.flatten(1)[:, :1, None, None].expand_as(eps), atol=1e-3)  # one ε per image
    # R1: D's real input is cat([x, y']) with y' the copy of y that requires grad (not a leaf pair)
    assert real_pair.requires_grad and type(real_pair.grad_fn).__name__ == "CatBackward0"


def test_translation_losses_are_validated():
    with pytest.raises(ValueError, match="valid choices: bce, lsgan, hinge, wgan, wgan-gp"):
        tiny_pix2pix(loss="nope")
    with pytest.raises(ValueError, match="valid choices: bce, lsgan, hinge, wgan, wgan-gp"):
        tiny_cyclegan(loss="wasserstein")


@pytest.mark.parametrize("build", [tiny_pix2pix, tiny_cyclegan], ids=["pix2pix", "cyclegan"])
def test_translate_keeps_sizes_and_types(build):
    model = build().eval()
    odd = torch.rand(2, 1, 37, 45) * 2 - 1
    assert model.translate(odd).shape == (2, 1, 37, 45)
    assert model.translate(odd[0]).shape == (1, 37, 45)
    assert model.translate(odd, size=64).shape == (2, 1, 64, 64)
    image = Image.new("RGB", (23, 17), (200, 10, 10))
    out = model.translate(image)
    assert isinstance(out, Image.Image) and out.size == (23, 17) and out.mode == "L"
    outs = model.translate([image, image.resize((40, 40))])
    assert [o.size for o in outs] == [(23, 17), (40, 40)]
    with pytest.raises(ValueError, match="1-channel"):
        model.translate(torch.zeros(1, 3, 32, 32))


def test_pix2pix_has_one_direction():
    with pytest.raises(ValueError, match="valid directions: AtoB"):
        tiny_pix2pix().translate(torch.zeros(1, 1, 32, 32), "BtoA")


def test_cyclegan_resume_restores_pools_and_weights(tmp_path):
    class Capture(pl.Callback):
        def on_train_start(self, trainer, module):
            self.pool = [img.clone() for img in module.pool_b.images]
            self.state = {k: v.clone() for k, v in module.state_dict().items()}

    torch.manual_seed(0)
    model = tiny_cyclegan(pool_size=6)
    trainer = quick_trainer(max_steps=3)
    data = DigitStrokesDataModule(batch_size=2)
    trainer.fit(model, datamodule=data)
    trainer.save_checkpoint(tmp_path / "k.ckpt")
    saved_pool = [img.clone() for img in model.pool_b.images]
    saved_state = {k: v.clone() for k, v in model.state_dict().items()}

    capture = Capture()
    resumed = quick_trainer(max_steps=4, callbacks=[capture])
    resumed.fit(tiny_cyclegan(pool_size=6), datamodule=data, ckpt_path=tmp_path / "k.ckpt")
    assert resumed.global_step == 4
    assert len(capture.pool) == len(saved_pool) == 6
    assert all(torch.equal(a, b) for a, b in zip(capture.pool, saved_pool))
    assert all(torch.equal(capture.state[k], v) for k, v in saved_state.items())


def test_sample_grid_rows_show_input_translation_and_target():
    model = tiny_cyclegan()
    quick_trainer(max_steps=1).fit(model, datamodule=DigitStrokesDataModule(batch_size=4))
    images, nrow = model.sample_grid()
    assert nrow == 6 and images.shape == (6 * model.hparams.grid_size, 1, 32, 32)
    data = DigitStrokesDataModule()
    first = next(iter(data.val_dataloader()))
    assert torch.equal(images[0], first["A"][0]) and torch.equal(images[3], first["B"][0])


def test_validation_metrics_are_the_paired_metrics():
    """L1, PSNR (per image, averaged) and SSIM of zoo.metrics.paired: the torchmetrics formulas."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    torch.manual_seed(0)
    model = tiny_pix2pix()
    batch = next(iter(DigitOutlinesDataModule(batch_size=6).val_dataloader()))
    with torch.no_grad():
        model.evaluate_batch(batch, "val")
        output = model.generator(batch["A"])
    target = batch["B"]
    psnr = peak_signal_noise_ratio(output, target, data_range=2.0, reduction="none", dim=(1, 2, 3)).mean()
    ssim = structural_similarity_index_measure(output, target, data_range=2.0)
    metrics = {key: metric.compute() for key, metric in model._val_metrics.items()}
    assert torch.allclose(metrics["val_l1"], (output - target).abs().mean())
    assert torch.allclose(metrics["val_psnr"], psnr) and torch.allclose(metrics["val_ssim"], ssim)
    assert 0 <= metrics["val_identity_accuracy"] <= 1
