"""A run stopped at iteration N and resumed to 2N equals the uninterrupted 2N-iteration run, bit for bit (CPU).

What has to come back for that: the weights, optimizers and EMA (Lightning), torch / numpy /
Python generators (``zoo.random_state``), the training loader's epoch, order and position
(``datamodules.resumable.ResumableDataLoader``), CycleGAN's image pools, ProGAN's images seen
(``tests/models/test_progan.py``).
"""

from __future__ import annotations

import pytest
import torch

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]

CASES = {
    # 22 batches per epoch of the digits: resumed mid-epoch at 15, the epoch boundary at 22 inside the second half
    # (narrow networks: what must come back does not depend on the width, and full widths cost 4x the time)
    "cgan": (15, ["--model.generator_channels", "16", "--model.discriminator_channels", "16"]),
    # the image pools fill up over the first half and are sampled in the second
    "cyclegan": (4, ["--model.pool_size", "6", "--model.generator_channels", "8", "--model.discriminator_channels", "8"]),
    # spectral norm's power-iteration vectors (buffers of both networks) and DiffAugment's draws come back too
    "dcgan": (6, ["--model.generator_channels", "8", "--model.discriminator_channels", "8", "--model.spectral_norm",
                  "true", "--model.spectral_norm_g", "true", "--model.diffaugment", "color,translation,cutout"]),
    # BigGAN: spectral norm in both networks, two D steps per G step, and the EMA that copies G until step 2
    "biggan": (3, ["--model.generator_width", "4", "--model.discriminator_width", "4", "--model.latent_dim", "16",
                   "--model.ema_start", "2"]),
}


def weights(cli) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in cli.model.state_dict().items()}


@pytest.mark.parametrize("name", list(CASES))
def test_resumed_run_equals_the_uninterrupted_run(fit, name):
    half, extra = CASES[name]
    common = ["--model", name, "--seed_everything", "0", "--checkpoint.every_n_train_steps", str(half), *extra]
    whole = weights(fit(*common, "--trainer.max_steps", str(2 * half)))
    first = fit(*common, "--trainer.max_steps", str(half))
    assert first.trainer.global_step == half
    resumed_cli = fit(*common, "--trainer.max_steps", str(2 * half), "--ckpt_path", "last")
    assert resumed_cli.trainer.global_step == 2 * half
    resumed = weights(resumed_cli)
    assert whole.keys() == resumed.keys()
    moved = [k for k, v in resumed.items() if v.is_floating_point() and not torch.equal(v, weights(first)[k])]
    assert moved, "the second half trained"
    different = [k for k in whole if not torch.equal(whole[k], resumed[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"
