"""A real training process is stopped by SIGTERM / SIGINT / SIGKILL and resumed from what it left."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.conftest import QUIET, subprocess_env

SMALL = ["--model", "cgan", "--model.generator_channels", "8", "--model.discriminator_channels", "8",
         "--data.image_size", "16", "--checkpoint.every_n_train_steps", "5"]


def _start(tmp_path, *extra: str) -> subprocess.Popen:
    """The training process, its output going to files (a full pipe would block it)."""
    command = [sys.executable, "-m", "zoo.fit", *SMALL, "--runs_dir", str(tmp_path / "runs"), *QUIET,
               "--trainer.max_steps", "100000", "--trainer.log_every_n_steps", "1", *extra]
    env = {**subprocess_env(), "OMP_NUM_THREADS": "1"}
    out, err = open(tmp_path / "stdout.txt", "w"), open(tmp_path / "stderr.txt", "w")
    return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=err, text=True)


def _finish(process: subprocess.Popen, tmp_path) -> tuple[str, str]:
    process.wait(timeout=600)
    return (tmp_path / "stdout.txt").read_text(), (tmp_path / "stderr.txt").read_text()


def _wait_for(path, process, timeout: float = 600.0) -> None:
    """Wait until ``path`` exists; on any failure the training process is killed, never left running."""
    start = time.monotonic()
    try:
        while not path.exists():
            assert process.poll() is None, f"the run ended early (status {process.returncode})"
            assert time.monotonic() - start < timeout, f"{path} did not appear"
            time.sleep(0.2)
    except BaseException:
        process.kill()
        raise


RUN = "runs/cgan/digits/version_0"


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_writes_a_checkpoint_at_the_current_iteration_and_exits_with_its_status(tmp_path, signum, code):
    process = _start(tmp_path)
    _wait_for(tmp_path / RUN / "checkpoints" / "last.ckpt", process)  # (step_N.ckpt files come and go)
    process.send_signal(signum)
    out, err = _finish(process, tmp_path)
    assert process.returncode == code, err[-3000:]
    name = signal.Signals(signum).name
    assert f"zoo.fit: stopped by {name}; checkpoint at iteration" in err
    assert out.strip().splitlines()[-1] == f"run directory: {tmp_path / RUN}"
    last = tmp_path / RUN / "checkpoints" / "last.ckpt"
    step = torch.load(last, weights_only=True)["global_step"]
    assert step >= 5 and f"iteration {step}:" in err
    assert not list((tmp_path / RUN / "checkpoints").glob("*.tmp"))


def test_a_killed_run_resumes_from_its_newest_checkpoint(tmp_path, fit):
    process = _start(tmp_path)
    _wait_for(tmp_path / RUN / "checkpoints" / "last.ckpt", process)
    time.sleep(1.0)  # let a few more steps run
    process.kill()  # SIGKILL: nothing runs after it
    process.wait(timeout=60)
    saved = torch.load(tmp_path / RUN / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert saved >= 5
    fit(*SMALL, "--trainer.max_steps", str(saved + 3), "--ckpt_path", "last")  # resumed in this process
    assert torch.load(tmp_path / RUN / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == saved + 3
