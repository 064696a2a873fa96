"""``python -m zoo.evaluate``: score a checkpoint or a folder of images against real data."""

from __future__ import annotations

import json

import pytest

import datamodules
from tests.metrics.inception_weights import write_random_inception_weights
from tests.metrics.test_fidelity import image_sets, write_pngs
from zoo.evaluate import main

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_random_inception_weights(tmp_path_factory.mktemp("inception") / "inception.pth")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))


def test_a_checkpoint_is_scored_on_the_data_set_that_trained_it(fit, tmp_path, capsys):
    """No --data: the checkpoint names its training data (RunProvenance), with its arguments."""
    fit("--model", "cgan", "--model.generator_channels", "8", "--model.discriminator_channels", "8",
        "--data.image_size", "16", "--trainer.max_steps", "2")
    ckpt = tmp_path / "runs/cgan/digits/version_0/checkpoints/last.ckpt"
    result = main(["--ckpt", str(ckpt), "--metrics", "fd_digits,conditional_accuracy", "--num-samples", "20",
                   "--batch-size", "10", "--split", "test"])
    assert result["real"] == {"data": "digits", "split": "test", "count": 179, "cache": result["real"]["cache"]}
    assert result["num_samples"] == 20 and 0 <= result["metrics"]["conditional_accuracy"] <= 1
    assert json.loads((ckpt.parent / "evaluation.json").read_text())["metrics"] == result["metrics"]
    assert "conditional_accuracy" in capsys.readouterr().out


def test_evaluate_cli_scores_folders_and_writes_json(tmp_path, weights, capsys):
    real, fake = image_sets()
    real_dir, fake_dir = write_pngs(tmp_path / "real", real[:8]), write_pngs(tmp_path / "fake", fake[:8])
    out = tmp_path / "scores.json"
    main(["--fake", str(fake_dir), "--real", str(real_dir), "--metrics", "fid,kid", "--inception-weights",
          str(weights), "--kid-subset-size", "4", "--kid-subsets", "5", "--batch-size", "4", "--output", str(out)])
    result = json.loads(out.read_text())
    assert set(result["metrics"]) == {"fid", "kid", "kid_std"} and result["metrics"]["fid"] > 0
    assert result["num_samples"] == 8 and result["real"]["count"] == 8
    printed = capsys.readouterr().out
    assert "fid" in printed and f"written: {out}" in printed
    # a second run hits the real-statistics cache
    main(["--fake", str(fake_dir), "--real", str(real_dir), "--metrics", "fid", "--inception-weights", str(weights),
          "--output", str(out)])
    assert json.loads(out.read_text())["real"]["cache"]["hit"] is True


def test_evaluate_cli_errors_name_the_choices(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--fake", str(tmp_path), "--real", "svhn", "--metrics", "fid"])
    assert "valid data sets: " + ", ".join(datamodules.list_datamodules()) in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--fake", str(tmp_path), "--real", "digits", "--metrics", "fidd"])
    assert "unknown metric 'fidd'" in capsys.readouterr().err
