"""``zoo.export``: ONNX and torch.export files give the module's images on the same inputs."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.export import ExportedGenerator, export_generator, main, max_difference, run_exported

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("tag, fmt", [
    ("dcgan.digits", "torch.export"),  # unconditional
    ("cgan.digits", "onnx"),  # conditional: noise and int64 labels
    ("cyclegan.digit_strokes", "onnx"),  # translation: an image in, an image out
    ("infogan.digits", "torch.export"),  # two code inputs
])
def test_export_round_trips(tag, fmt, tmp_path):
    model = zoo.load(tag)
    path = export_generator(model, tmp_path / ("g.onnx" if fmt == "onnx" else "g.pt2"), fmt)
    assert max_difference(model, path, fmt, n=3) <= 1e-4  # a batch size the export did not see
    inputs = ExportedGenerator(model).example_inputs(4, seed=5)
    out = run_exported(path, fmt, inputs)
    assert out.shape[0] == 4 and out.shape[1:] == (1, 32, 32)


def test_the_exported_file_holds_the_generator_only(tmp_path):
    model = zoo.load("cgan.digits")
    program = torch.export.load(str(export_generator(model, tmp_path / "g.pt2", "torch.export")))
    assert program.state_dict and all(key.startswith("generator.") for key in program.state_dict)
    parameters = sum(t.numel() for k, t in program.state_dict.items() if t.is_floating_point())
    assert parameters >= sum(p.numel() for p in model.generator.parameters())
    assert parameters < sum(p.numel() for p in model.parameters()) / 1.5  # no discriminator


def test_cli_exports_and_reports_the_difference(tmp_path, capsys):
    assert main(["--model", "pix2pix", "--weights", "digit_outlines", "--format", "torch.export",
                 "--output", str(tmp_path / "p2p.pt2")]) == 0
    out = capsys.readouterr().out
    assert "exported Pix2Pix (image -> images)" in out and "max |difference| to the module" in out
    with pytest.raises(SystemExit):
        main(["--model", "pix2pix", "--weights", "digit_outlines", "--format", "torch.export",
              "--output", str(tmp_path / "p2p.onnx")])
    assert "saved as a .pt2 file" in capsys.readouterr().err
