"""Checkpoint writes are atomic and checked; a corrupt checkpoint is skipped on resume, and named."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch

import zoo.checkpoint_io as checkpoint_io
from zoo.checkpoint_io import AtomicCheckpointIO, CheckpointWriteError, corruption, newest_intact

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_checkpoint_is_written_whole_and_replaces_the_old_one(tmp_path):
    target = tmp_path / "ckpt" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"step": 1, "w": torch.ones(3)}, target)
    io.save_checkpoint({"step": 2, "w": torch.zeros(3)}, target)
    assert torch.load(target, weights_only=True)["step"] == 2
    assert sorted(p.name for p in target.parent.iterdir()) == ["last.ckpt"], "no temporary file left behind"


@pytest.mark.parametrize("code, cause", [(errno.ENOSPC, "the disk is full"), (errno.EACCES, "permission denied")])
def test_a_failed_write_names_the_path_and_the_cause_and_keeps_the_old_file(tmp_path, monkeypatch, code, cause):
    target = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"step": 1}, target)

    def failing_replace(src, dst):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(checkpoint_io.os, "replace", failing_replace)
    with pytest.raises(CheckpointWriteError) as info:
        AtomicCheckpointIO().save_checkpoint({"step": 2}, target)
    assert str(target) in str(info.value) and cause in str(info.value) and info.value.errno == code
    assert torch.load(target, weights_only=True)["step"] == 1, "the previous checkpoint is intact"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_a_directory_in_the_way_is_an_error_even_for_root(tmp_path):
    target = tmp_path / "last.ckpt"
    (target / "inside").mkdir(parents=True)
    with pytest.raises(CheckpointWriteError, match="could not write checkpoint .*last.ckpt"):
        AtomicCheckpointIO().save_checkpoint({"step": 1}, target)


def test_truncated_and_damaged_checkpoints_are_told_apart_from_intact_ones(tmp_path):
    good = tmp_path / "good.ckpt"
    torch.save({"w": torch.arange(1000.0)}, good)
    data = good.read_bytes()
    truncated, damaged = tmp_path / "truncated.ckpt", tmp_path / "damaged.ckpt"
    truncated.write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    offset = data.index(torch.arange(1000.0).numpy().tobytes()[:64]) + 100  # inside the tensor's bytes
    flipped[offset] ^= 0xFF
    damaged.write_bytes(bytes(flipped))
    assert corruption(good) is None
    assert "BadZipFile" in corruption(truncated)
    assert "CRC" in corruption(damaged)


def test_newest_intact_skips_corrupt_files_newest_first(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in ("step_000002.ckpt", "step_000004.ckpt", "last.ckpt"):
        torch.save({"name": name}, folder / name)
    (folder / "last.ckpt").write_bytes((folder / "last.ckpt").read_bytes()[:100])
    found, skipped = newest_intact([folder])
    assert found == folder / "step_000004.ckpt"
    assert [p.name for p, _ in skipped] == ["last.ckpt"]


def _run_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "cgan" / "digits" / "version_0"


def test_training_stops_when_a_checkpoint_cannot_be_written(fit, tmp_path, monkeypatch, capsys):
    real_replace = os.replace

    def full_disk(src, dst):
        if str(dst).endswith(".ckpt"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst)

    monkeypatch.setattr(checkpoint_io.os, "replace", full_disk)
    with pytest.raises(SystemExit) as exit_:
        fit("--model", "cgan", "--trainer.max_steps", "4", "--checkpoint.every_n_train_steps", "2")
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "could not write checkpoint" in err and "step_000002.ckpt" in err and "the disk is full" in err


def test_resume_from_last_skips_a_corrupt_last_ckpt_and_says_so(fit, tmp_path):
    fit("--model", "cgan", "--trainer.max_steps", "4", "--checkpoint.every_n_train_steps", "2")
    last = _run_dir(tmp_path) / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with pytest.warns(UserWarning, match="skipping the corrupt checkpoint .*last.ckpt") as record:
        cli = fit("--model", "cgan", "--trainer.max_steps", "6", "--checkpoint.every_n_train_steps", "2",
                  "--ckpt_path", "last")
    assert any("resuming from" in str(w.message) and "step_000004.ckpt" in str(w.message) for w in record)
    assert cli.trainer.global_step == 6 and Path(cli.trainer.log_dir) == _run_dir(tmp_path)
    assert corruption(last) is None, "the resumed run rewrote last.ckpt whole"


def test_an_explicit_corrupt_checkpoint_is_refused_naming_the_intact_ones(fit, tmp_path, capsys):
    fit("--model", "cgan", "--trainer.max_steps", "2", "--checkpoint.every_n_train_steps", "2")
    last = _run_dir(tmp_path) / "checkpoints" / "last.ckpt"
    last.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_:
        fit("--model", "cgan", "--trainer.max_steps", "4", "--ckpt_path", str(last))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "is corrupt" in err and "step_000002.ckpt" in err
