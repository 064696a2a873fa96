"""A diverged run stops at the first non-finite loss, names it, and never replaces the last good checkpoint."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.models.base import DivergenceError

SMALL = ["--model", "cgan", "--model.generator_channels", "8", "--model.discriminator_channels", "8",
         "--checkpoint.every_n_train_steps", "1"]


def test_a_nan_loss_stops_the_run_naming_the_iteration_the_loss_and_the_network(fit, tmp_path, capsys, monkeypatch):
    from zoo.models.cgan import CGAN

    original = CGAN.log_losses

    def poisoned(self, **losses):
        if self.global_step >= 3:
            losses["d_loss"] = losses["d_loss"] * float("nan")
        return original(self, **losses)

    monkeypatch.setattr(CGAN, "log_losses", poisoned)
    with pytest.raises(SystemExit) as exit_:
        fit(*SMALL, "--trainer.max_steps", "10")
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "training diverged at iteration 3" in err and "train/d_loss = nan" in err and "discriminator's loss" in err
    checkpoints = tmp_path / "runs/cgan/digits/version_0/checkpoints"
    assert sorted(p.name for p in checkpoints.glob("step_*.ckpt")) == ["step_000002.ckpt"]  # none of step 3
    model = zoo.load(checkpoints / "last.ckpt")  # the last good one: finite, loadable
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["global_step"] == 2
    assert torch.isfinite(model.sample(2)).all()


def test_non_finite_weights_are_never_saved_and_never_loaded_unless_asked(fit, tmp_path):
    fit(*SMALL, "--trainer.max_steps", "1")
    path = tmp_path / "runs/cgan/digits/version_0/checkpoints/last.ckpt"
    model = zoo.load(path)
    with torch.no_grad():
        next(model.generator.parameters()).fill_(float("inf"))
    with pytest.raises(DivergenceError, match=r"not saving a checkpoint at iteration 0: generator\.\S+ holds non-finite"):
        model.on_save_checkpoint({})
    checkpoint = torch.load(path, weights_only=True)
    key = next(k for k in checkpoint["state_dict"] if k.startswith("generator."))
    checkpoint["state_dict"][key] = checkpoint["state_dict"][key] * float("nan")
    torch.save(checkpoint, tmp_path / "nan.ckpt")
    with pytest.raises(ValueError, match=rf"nan.ckpt: {key} holds non-finite values .*allow_non_finite=True"):
        zoo.load(tmp_path / "nan.ckpt")
    assert zoo.load(tmp_path / "nan.ckpt", allow_non_finite=True) is not None


def test_a_non_finite_loss_is_caught_before_its_update_and_last_ckpt_is_that_step(fit, tmp_path, capsys, monkeypatch):
    """A diverged total reaches no weight (``backward_step`` checks it first), so the stop writes the weights as
    they are as last.ckpt, though the periodic checkpoints are 500 steps apart."""
    from zoo.models.cgan import CGAN

    original = CGAN.penalise

    def poisoned(self, d_loss, **kwargs):
        total, logged = original(self, d_loss, **kwargs)
        return (total * float("nan") if self.global_step >= 5 else total), logged

    monkeypatch.setattr(CGAN, "penalise", poisoned)
    with pytest.raises(SystemExit) as exit_:
        fit("--model", "cgan", "--model.generator_channels", "8", "--model.discriminator_channels", "8",
            "--trainer.max_steps", "10")
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "training diverged at iteration 5" in err and "train/d_total = nan" in err
    assert "The weights are those before this update; the stop saves them as last.ckpt" in err
    last = tmp_path / "runs/cgan/digits/version_0/checkpoints/last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 5
    assert torch.isfinite(zoo.load(last).sample(2)).all()
