"""A model is one file: the guide's ``mygan.py`` (docs/architecture.md#adding-a-model), outside the package,
trains, loads, samples, exports and is benchmarked with no other file touched.

The file is written to a temporary folder on ``PYTHONPATH``, exactly as the guide shows it. Two fresh
interpreters: ``python -m zoo.fit --model mygan.MyGAN`` (as a user types it), then one that loads the
checkpoint with ``zoo.load`` (which imports ``mygan`` from the class path the checkpoint records) and runs
``zoo.sample``, ``zoo.export`` and ``benchmarks.run --quick --models mygan.MyGAN`` through their ``main``
functions (what ``python -m`` runs; one interpreter start instead of four). The two-process DDP run of the
same file is in the shared launch of ``tests/test_ddp.py`` (its ``mygan`` run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO, subprocess_env
from tests.one_file_model import CLASS_PATH, write_one_file_model

pytestmark = pytest.mark.slow

SMALL = ["--model.channels", "8", "--model.latent_dim", "16"]

AFTER_TRAINING = textwrap.dedent("""
    import json, sys
    from pathlib import Path

    import zoo
    import zoo.export, zoo.sample
    from zoo.registry import MODELS

    out = Path(sys.argv[1])
    ckpt = next((out / "runs").glob("mygan/digits/version_0/checkpoints/last.ckpt"))
    assert "mygan" not in MODELS  # nothing has imported the file yet
    model = zoo.load(ckpt)  # imports mygan from the checkpoint's class path
    report = {"class": type(model).__name__, "registered": "mygan" in zoo.list_models(),
              "sample_shape": list(model.sample(3).shape), "hparams": dict(model.hparams)}
    assert zoo.sample.main(["--ckpt", str(ckpt), "--num", "4", "--output", str(out / "samples"), "--quiet"]) == 0
    zoo.export.main(["--ckpt", str(ckpt), "--format", "torch.export", "--output", str(out / "g.pt2")])
    import benchmarks.run
    payload = benchmarks.run.main(["--quick", "--models", "mygan.MyGAN", "--out", str(out / "bench"),
                                   "--", "--model.channels", "8", "--model.latent_dim", "16"])
    report["bench"] = payload["runs"][0]
    print("REPORT " + json.dumps(report, default=str))
""")


def test_a_model_outside_the_package_is_one_file(tmp_path):
    plugins = tmp_path / "plugins"
    write_one_file_model(plugins)
    env = subprocess_env()
    env["PYTHONPATH"] = str(plugins) + os.pathsep + env["PYTHONPATH"]
    env["OMP_NUM_THREADS"] = "1"
    fit = subprocess.run(
        [sys.executable, "-m", "zoo.fit", "--model", CLASS_PATH, *SMALL, "--model.r1_weight", "1",
         "--trainer.max_steps", "3", "--runs_dir", str(tmp_path / "runs")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert fit.stdout.strip().splitlines()[-1] == f"run directory: {tmp_path / 'runs/mygan/digits/version_0'}"
    assert "step 3/3 (100%)" in fit.stderr and "\r" not in fit.stderr  # progress as lines: stderr is not a terminal

    after = subprocess.run([sys.executable, "-c", AFTER_TRAINING, str(tmp_path)], capture_output=True, text=True,
                           env=env, cwd=REPO, timeout=600)
    assert after.returncode == 0, after.stderr[-4000:]
    report = json.loads(next(line for line in after.stdout.splitlines() if line.startswith("REPORT "))[7:])
    assert report["class"] == "MyGAN" and report["registered"]
    assert report["sample_shape"] == [3, 1, 32, 32]
    assert report["hparams"]["channels"] == 8 and report["hparams"]["r1_weight"] == 1.0  # its own and a shared one
    assert len(list((tmp_path / "samples").glob("*.png"))) == 4 and (tmp_path / "samples" / "samples.csv").is_file()
    assert (tmp_path / "g.pt2").is_file()
    bench = report["bench"]
    assert bench["model"] == CLASS_PATH and bench["iterations"] >= 1
    assert bench["metrics"]["fd_ratio"] > 0  # measured like a built-in model on its default data
