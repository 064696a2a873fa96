"""The opt-in GPU speed-ups train on a CPU too: compiled networks, channels-last weights, finite losses."""

from __future__ import annotations

import math

import pytest
import torch

import zoo

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = ["--model", "dcgan", "--model.generator_channels", "8", "--model.discriminator_channels", "8",
         "--data.batch_size", "8", "--trainer.max_steps", "3"]


def finite_losses(cli) -> bool:
    losses = {k: float(v) for k, v in cli.trainer.callback_metrics.items() if k.startswith("train/")}
    return bool(losses) and all(math.isfinite(v) for v in losses.values())


def test_compile_traces_every_network_and_keeps_checkpoints_loadable(fit):
    cli = fit(*SMALL, "--trainer.callbacks+=zoo.callbacks.Compile", "--trainer.callbacks.backend", "eager")
    model = cli.model
    assert all(getattr(model, name)._compiled_call_impl is not None for name in model.networks)
    assert finite_losses(cli)
    ckpt = cli.trainer.checkpoint_callback.last_model_path
    loaded = zoo.load(ckpt)  # the same parameter names: no "_orig_mod." prefix
    assert set(loaded.generator.state_dict()) == set(model.generator.state_dict())
    resumed = fit(*SMALL[:-1], "5", "--ckpt_path", ckpt)  # resumed without the callback
    assert resumed.trainer.global_step == 5 and finite_losses(resumed)


def test_channels_last_weights_and_finite_losses(fit):
    cli = fit(*SMALL, "--trainer.callbacks+=zoo.callbacks.ChannelsLast")
    convs = [m for m in cli.model.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    assert finite_losses(cli)
