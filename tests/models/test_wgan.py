"""The original WGAN (Arjovsky et al. 2017) as the zoo's ``loss=wgan``: clipping, RMSprop, the critic schedule."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

import zoo
from datamodules.toy import CircleDataModule
from tests.models.helpers import small_model


class CriticBounds(pl.Callback):
    """After every batch (one critic step each), the largest |parameter| of the critic."""

    def __init__(self) -> None:
        self.largest: list[float] = []

    def on_train_batch_end(self, trainer, module, *args) -> None:
        self.largest.append(max(p.abs().max().item() for p in module.discriminator.parameters()))


def test_every_critic_step_leaves_the_weights_within_c_and_g_waits_for_100_critic_steps():
    torch.manual_seed(0)
    model = zoo.create_model("gan", hidden=16, layers=1, loss="wgan", weight_clip=0.02)
    bounds = CriticBounds()
    trainer = pl.Trainer(max_steps=2, callbacks=[bounds], logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(model, datamodule=CircleDataModule(batch_size=16))
    assert trainer.global_step == 2
    assert len(bounds.largest) == 200  # the first 25 generator steps wait for 100 critic steps each
    assert max(bounds.largest) <= 0.02 + 1e-7 and max(bounds.largest) > 0.015  # clipped, and the clip is reached
    assert isinstance(trainer.optimizers[1], torch.optim.RMSprop)


def test_the_critic_schedule_of_the_authors():
    model, _ = small_model("dcgan", loss="wgan", n_critic=5)
    assert [model.critic_iterations(step) for step in (0, 24, 25, 499, 500, 501, 1000)] == [100, 100, 5, 5, 100, 5, 100]


def test_wgan_refuses_a_gradient_penalty_and_other_losses_refuse_the_clip(capsys):
    with pytest.raises(ValueError, match="loss='wgan' keeps its critic Lipschitz by clipping.*use loss='wgan-gp'"):
        small_model("dcgan", loss="wgan", r1_weight=1.0)
    from zoo.fit import main

    with pytest.raises(SystemExit) as exit_:
        main(["--model", "dcgan", "--model.weight_clip", "0.05", "--print_config"])
    assert exit_.value.code == 2
    assert "--model.weight_clip 0.05 only acts with --model.loss wgan" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--model", "dcgan", "--model.loss", "wgan", "--print_config"])
    import yaml

    init = yaml.safe_load(capsys.readouterr().out)["model"]["init_args"]
    assert (init["lr"], init["n_critic"], init["r1_weight"]) == (5e-5, 5, 0.0)  # the paper's, over the recipe's R1
