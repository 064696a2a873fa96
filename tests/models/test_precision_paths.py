"""Mixed precision with manual optimisation: one scaler step per optimizer, clipping on unscaled gradients."""

from __future__ import annotations

import math

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.plugins.precision import MixedPrecision

import zoo
from datamodules import DigitsDataModule

pytestmark = pytest.mark.usefixtures("one_thread")


class Recorded(zoo.get_model_class("dcgan")):
    """DCGAN that records each update's gradient norm after clipping, and the scaler's scale."""

    norms: list[float]

    def on_before_optimizer_step(self, optimizer) -> None:
        super().on_before_optimizer_step(optimizer)
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))))


def train(precision_plugin=None, precision=None, clip=None, steps=4):
    torch.manual_seed(0)
    dm = DigitsDataModule(batch_size=16)
    model = Recorded(image_shape=dm.image_shape, num_classes=10, generator_channels=8, discriminator_channels=8,
                    gradient_clip_val=clip)
    model.norms = []
    trainer = pl.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                         plugins=[precision_plugin] if precision_plugin else None,
                         **({"precision": precision} if precision else {}))
    trainer.fit(model, datamodule=dm)
    return model, trainer


def test_16_mixed_with_a_scaler_steps_each_optimizer_and_clips_unscaled_gradients():
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    model, trainer = train(MixedPrecision("16-mixed", "cpu", scaler=scaler), clip=0.5)
    assert trainer.global_step == 4 and len(model.norms) == 8  # a D and a G update per iteration
    # The first updates overflow at scale 2**16 (non-finite gradients): the scaler skips them and halves
    # its scale once per skipped optimizer step, i.e. each optimizer step has its own scaler update.
    skipped = [n for n in model.norms if not math.isfinite(n)]
    finite = [n for n in model.norms if math.isfinite(n)]
    assert skipped and len(finite) >= 4
    assert scaler.get_scale() == 2.0**16 * 0.5 ** len(skipped)
    # Clipped after unscaling: every norm is the bound. (Clipping the scaled gradients, as a clip before
    # the step would, leaves the true gradients about 1e-5 long.)
    assert all(0.45 <= n <= 0.5 * 1.01 for n in finite), finite
    for p in model.generator.parameters():
        assert torch.isfinite(p).all()


def test_clipping_bounds_the_update_in_every_precision():
    for precision in ("32-true", "bf16-mixed"):
        model, _ = train(precision=precision, clip=0.25)
        assert all(n <= 0.25 * 1.01 for n in model.norms), precision
        unclipped, _ = train(precision=precision)
        assert max(unclipped.norms) > 0.25  # the bound did something
