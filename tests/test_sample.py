"""``python -m zoo.sample``: numbered PNGs with their conditions, a labelled grid, a GIF walk."""

from __future__ import annotations

import csv

import pytest
import torch
from PIL import Image

import zoo
from zoo.images import load_image
from zoo.metrics.domain import conditional_accuracy
from zoo.sample import main, slerp

pytestmark = pytest.mark.usefixtures("one_thread")


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_pngs_and_their_labels_can_be_scored_from_the_files(tmp_path, capsys):
    assert main(["--model", "cgan", "--weights", "digits", "--num", "150", "--output", str(tmp_path / "s"),
                 "--batch-size", "64", "--quiet"]) == 0
    assert "wrote 150 samples" in capsys.readouterr().out
    table = rows(tmp_path / "s" / "samples.csv")
    assert [r["file"] for r in table] == [f"{i:06d}.png" for i in range(150)]
    images = torch.stack([load_image(tmp_path / "s" / r["file"], channels=1) for r in table])
    labels = torch.tensor([int(r["label"]) for r in table])
    assert images.shape == (150, 1, 32, 32) and len(labels.unique()) == 10
    # the files, read back, are digits of the recorded classes (the shipped classifier agrees)
    assert conditional_accuracy(images, labels) >= 0.9


def test_the_same_seed_writes_the_same_files_and_infogan_records_its_codes(tmp_path):
    for out in ("a", "b"):
        main(["--model", "infogan", "--weights", "digits", "--num", "12", "--output", str(tmp_path / out),
              "--batch-size", "5", "--seed", "3", "--quiet"])
    assert (tmp_path / "a" / "000011.png").read_bytes() == (tmp_path / "b" / "000011.png").read_bytes()
    table = rows(tmp_path / "a" / "samples.csv")
    model = zoo.load("infogan.digits")
    assert set(table[0]) == {"file", *(f"categorical_{i}" for i in range(len(model.categorical_dims))),
                             *(f"continuous_{j}" for j in range(model.hparams.continuous_dim))}


def test_the_toy_writes_points(tmp_path):
    main(["--model", "gan", "--weights", "circle", "--num", "300", "--output", str(tmp_path), "--quiet"])
    points = torch.tensor([[float(r["x"]), float(r["y"])] for r in rows(tmp_path / "points.csv")])
    assert points.shape == (300, 2) and points.norm(dim=1).mean().item() == pytest.approx(1.0, abs=0.1)


def test_a_labelled_grid_and_a_gif_walk(tmp_path):
    main(["--model", "cgan", "--weights", "digits", "--grid", str(tmp_path / "grid.png")])
    grid = Image.open(tmp_path / "grid.png")
    plain, nrow = zoo.load("cgan.digits").sample_grid()
    assert grid.height == 10 * 34 + 2 and grid.width > nrow * 34  # ten labelled rows, a label margin
    main(["--model", "progan", "--weights", "digits", "--interpolate", "3", "--frames", "4", "--walks", "4",
          "--output", str(tmp_path / "walk.gif")])
    gif = Image.open(tmp_path / "walk.gif")
    assert gif.n_frames == 3 * 4 and gif.size == (2 * 34 + 2, 2 * 34 + 2)


def test_slerp_ends_at_its_endpoints():
    a, b = torch.randn(3, 8), torch.randn(3, 8)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)


@pytest.mark.parametrize("argv, message", [
    (["--model", "pix2pix", "--weights", "digit_outlines", "--num", "2", "--output", "x"], "use python -m zoo.translate"),
    (["--model", "cgan", "--num", "2", "--output", "x"], "needs --weights"),
    (["--model", "cgan", "--weights", "digits"], "nothing to write"),
    (["--model", "cgan", "--weights", "mnist", "--grid", "g.png"], "valid choices: digits"),
    (["--model", "dcgan", "--weights", "digits", "--interpolate", "4", "--output", "walk.png"], "must end in .gif"),
])
def test_bad_requests_name_the_problem(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
