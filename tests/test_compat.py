"""Files written by earlier versions of the zoo still load and resume.

``tests/data/before_architecture_ii/`` holds tiny checkpoints written by ``python -m zoo.fit``
before the shared settings moved into ``GANModule`` (see its README), with the outputs those
modules gave then; the packaged weight files are older still. Both load with today's code and
give the same images.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import zoo

OLD = Path(__file__).resolve().parent / "data" / "before_architecture_ii"


def old_outputs(name: str, model) -> torch.Tensor:
    torch.manual_seed(0)
    if name == "cyclegan":
        x = torch.linspace(-1, 1, 32 * 32).reshape(1, 1, 32, 32)
        return torch.cat([model.translate(x), model.translate(x, "BtoA")])
    return model.sample(4)


@pytest.mark.parametrize("name", ["cgan", "cyclegan", "progan"])
def test_a_checkpoint_written_before_the_change_loads_and_gives_the_same_images(name):
    model = zoo.load(OLD / f"{name}.ckpt")
    expected = torch.load(OLD / "expected_outputs.pt", weights_only=True)[name]
    # identical with the 2 threads they were written with; 1 ulp apart with another thread count
    torch.testing.assert_close(old_outputs(name, model), expected, atol=1e-6, rtol=0)


def test_an_old_checkpoint_keeps_its_flat_settings():
    model = zoo.load(OLD / "cgan.ckpt")
    assert (model.hparams.loss, model.hparams.ema_decay, model.hparams.r1_interval) == ("bce", 0.9, 1)


def test_an_old_checkpoint_resumes_where_it_stopped(fit, tmp_path):
    """Resuming restores the batch count from Lightning's own record in checkpoints that predate the zoo's."""
    cli = fit("--model", "cgan", "--model.generator_channels", "4", "--model.discriminator_channels", "4",
              "--model.latent_dim", "8", "--model.ema_decay", "0.9", "--trainer.max_steps", "4",
              "--ckpt_path", str(OLD / "cgan.ckpt"))
    assert cli.trainer.global_step == 4
    assert cli.model.batch_number == 3  # batches 2 and 3 after the two of the old run


@pytest.mark.parametrize("tag", [t for t in zoo.list_pretrained() if not zoo.get_weights(t).reference_format])
def test_every_packaged_weight_still_loads(tag):
    model = zoo.load(tag)
    assert type(model).capabilities.task in ("unconditional", "class-conditional", "code-conditional", "image-to-image")
