"""``python -m zoo.export``: a generator as an ONNX file or a ``torch.export`` program, checked against the module.

    python -m zoo.export --model cgan --weights digits --format onnx --output cgan_g.onnx
    python -m zoo.export --model pix2pix --weights digit_outlines --format torch.export --output p2p.pt2
    python -m zoo.export --ckpt runs/.../last.ckpt --format onnx --output g.onnx

What is exported is the function ``zoo.sample`` samples with: the generator sampling uses
(the EMA generator where kept), float32, eval mode, and the model's ``export_forward``
around it, with named inputs (``export_inputs``) and a dynamic batch dimension:

==================  ==============================================================  ==========
model               inputs                                                          output
==================  ==============================================================  ==========
dcgan, gan, sgan    ``noise`` (B, noise_dim) float                                  ``images``
cgan, acgan         ``noise``, ``labels`` (B,) int64 class indices                  ``images``
infogan             ``noise``, ``categorical`` (B, n_codes) int64, ``continuous``   ``images``
progan              ``noise`` [, ``labels``]; the resolution and alpha reached       ``images``
pix2pix, cyclegan   ``image`` (B, C, H, W) in [-1, 1]; H, W fixed at ``--size``      ``images``
==================  ==============================================================  ==========

Pix2Pix is exported in eval mode: dropout off and batch norm with its running statistics.
The paper (and the reference ``test.py`` without ``--eval``) keeps dropout on and uses the
test batch's statistics at test time; that behaviour is stochastic and batch-dependent and is
not what an exported graph should do. CycleGAN's instance norm is the same in both modes.

After writing, the file is run on fresh inputs (ONNX Runtime for ``onnx``,
``torch.export.load`` for ``torch.export``) and compared with the module; the largest
absolute difference is printed (``--atol``, default 1e-4, is the bar). ONNX needs the
``export`` extra (``pip install gan-zoo[export]``: onnx, onnxscript, onnxruntime).
"""

from __future__ import annotations

import argparse
import copy
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from zoo.commands import add_model_source, command_parser
from zoo.registry import UnknownNameError

FORMATS = ("onnx", "torch.export")


class ExportError(ValueError):
    """An export ``zoo.export`` cannot do (bad format, missing package, outputs that differ)."""


class ExportedGenerator(nn.Module):
    """Named tensors -> images: a copy of the module's sampling generator and its ``export_forward``.

    Only the generator is a submodule, so the exported file holds its weights alone.
    """

    def __init__(self, module: nn.Module, size: int | None = None) -> None:
        super().__init__()
        self.generator = copy.deepcopy(module.export_network()).float().cpu().eval()
        object.__setattr__(self, "_module", module)  # not registered: its other networks stay out
        self._size = size

    def example_inputs(self, n: int = 2, seed: int = 0) -> dict[str, Tensor]:
        torch.manual_seed(seed)
        module = self._module
        inputs = module.export_inputs(n, size=self._size) if self._size and type(module).capabilities.translates \
            else module.export_inputs(n)
        return {name: value.cpu().float() if value.is_floating_point() else value.cpu() for name, value in inputs.items()}

    def forward(self, *inputs: Tensor) -> Tensor:
        return self._module.export_forward(self.generator, *inputs)


def _dynamic_batch(inputs: dict[str, Tensor]) -> dict[str, dict[int, object]]:
    batch = torch.export.Dim("batch", min=1, max=65536)
    return {name: {0: batch} for name in inputs}


def export_generator(module, output: str | Path, format: str = "onnx", size: int | None = None) -> Path:
    """Write ``module``'s generator to ``output`` as ``format`` (``"onnx"`` or ``"torch.export"``)."""
    if format not in FORMATS:
        raise ExportError(f"unknown format {format!r}; valid choices: {', '.join(FORMATS)}")
    output = Path(output)
    if format == "torch.export" and output.suffix != ".pt2":
        raise ExportError(f"a torch.export program is saved as a .pt2 file, got --output {output}")
    output.parent.mkdir(parents=True, exist_ok=True)
    wrapper = ExportedGenerator(module, size).eval()
    inputs = wrapper.example_inputs()
    args = tuple(inputs.values())
    with torch.no_grad():
        if format == "torch.export":
            program = torch.export.export(wrapper, args, dynamic_shapes=(tuple(_dynamic_batch(inputs).values()),))
            torch.export.save(program, str(output))
        else:
            _require("onnx", "onnxscript")
            with warnings.catch_warnings():  # every input shares the one batch axis: said once per input
                warnings.filterwarnings("ignore", message=".*axis name: batch will not be used.*")
                torch.onnx.export(wrapper, args, str(output), input_names=list(inputs), output_names=["images"],
                                  dynamic_shapes=(tuple(_dynamic_batch(inputs).values()),), dynamo=True,
                                  verbose=False)
    return output


def _require(*packages: str) -> None:
    import importlib.util

    missing = [name for name in packages if importlib.util.find_spec(name) is None]
    if missing:
        raise ExportError(f"exporting to ONNX needs {', '.join(missing)}: pip install 'gan-zoo[export]'")


def run_exported(path: str | Path, format: str, inputs: dict[str, Tensor]) -> Tensor:
    """The exported file's output for ``inputs`` (ONNX Runtime or ``torch.export.load``)."""
    if format == "torch.export":
        program = torch.export.load(str(path))
        with torch.no_grad():
            return program.module()(*inputs.values())
    _require("onnxruntime")
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    feeds = {name: inputs[name].numpy() for name in names}
    return torch.from_numpy(session.run(None, feeds)[0])


def max_difference(module, path: str | Path, format: str, n: int = 5, size: int | None = None, seed: int = 1) -> float:
    """Largest |exported - module| over ``n`` fresh samples (a batch size the export did not see)."""
    wrapper = ExportedGenerator(module, size).eval()
    inputs = wrapper.example_inputs(n, seed)
    with torch.no_grad():
        expected = wrapper(*inputs.values())
    return float((run_exported(path, format, inputs) - expected).abs().max())


# ------------------------------------------------------------------------------ CLI


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("zoo.export", __doc__)
    add_model_source(parser)
    parser.add_argument("--format", default="onnx", choices=FORMATS, help="onnx (default) or torch.export")
    parser.add_argument("--output", required=True, help="the file to write (e.g. g.onnx, g.pt2)")
    parser.add_argument("--size", type=int, default=None,
                        help="image-to-image models: the input side (default: the training size)")
    parser.add_argument("--atol", type=float, default=1e-4, help="largest difference to the module accepted")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; 0 on success, SystemExit(2) with the reason on a bad request."""
    import zoo

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.model is not None and args.weights is None:
            parser.error(f"--model {args.model} needs --weights (see zoo.list_pretrained())")
        module = zoo.load(args.ckpt) if args.ckpt else zoo.load(args.model, weights=args.weights)
        module = module.float().cpu().eval()
        path = export_generator(module, args.output, args.format, args.size)
        difference = max_difference(module, path, args.format, size=args.size)
        if not difference <= args.atol:
            raise ExportError(f"the exported {path} differs from the module by {difference:.3g} (> --atol {args.atol})")
    except (ExportError, UnknownNameError, FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    names = ", ".join(ExportedGenerator(module, args.size).example_inputs(1))
    print(f"exported {type(module).__name__} ({names} -> images) to {path}; max |difference| to the module "
          f"{difference:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
