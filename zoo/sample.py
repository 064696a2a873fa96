"""``python -m zoo.sample``: write a generator's samples as files: numbered PNGs, a labelled grid, a GIF walk.

    # pretrained weights (offline: they ship in the package)
    python -m zoo.sample --model cgan --weights digits --num 1000 --output samples/
    # a checkpoint written by zoo.fit
    python -m zoo.sample --ckpt runs/dcgan/digits/version_0/checkpoints/last.ckpt --num 1000 --output samples/
    python -m zoo.sample --model cgan --weights digits --grid grid.png
    python -m zoo.sample --model progan --weights digits --interpolate 8 --output walk.gif

* ``--num N --output DIR``: ``DIR/000000.png`` ... and ``DIR/samples.csv``, one row per
  file with what it was conditioned on (``label`` for cgan / acgan / conditional ProGAN;
  ``categorical_<i>`` and ``continuous_<j>`` codes for InfoGAN; nothing else for the
  unconditional models), so any outside FID tool can score the folder. The 2-D toy GAN
  writes ``DIR/points.csv`` (x, y) instead.
* ``--grid FILE``: the model's sample grid (one row per class, or per value of InfoGAN's
  first code), each row labelled on the left.
* ``--interpolate K --output FILE.gif``: a latent walk through K random points and back
  to the first (spherical interpolation, ``--frames`` frames between two), ``--walks``
  walks side by side, each with its own fixed class / codes.

The same ``--seed`` gives the same files. Samples are made by the generator sampling
uses (the EMA generator where kept), in eval mode, by the tensors -> images function
``zoo.export`` exports (``export_inputs`` / ``export_forward``). Image-to-image models
translate instead: ``python -m zoo.translate``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch import Tensor
from torchvision.utils import make_grid

from zoo.commands import add_model_source, command_parser
from zoo.images import tensor_to_pil
from zoo.registry import UnknownNameError


class SampleError(ValueError):
    """A request ``zoo.sample`` cannot honour (bad source, a model that does not sample, ...)."""


def load_sampler(ckpt: str | None = None, model: str | None = None, weights: str | None = None,
                 device: str = "cpu"):
    """The module to sample from: a ``zoo.fit`` checkpoint, or ``model`` with pretrained ``weights``."""
    import zoo

    if (ckpt is None) == (model is None):
        raise SampleError("give exactly one of --ckpt PATH and --model NAME (with --weights)")
    if model is not None and weights is None:
        pretrained = ", ".join(zoo.list_pretrained(model)) if model in zoo.list_models(pretrained=True) else "none"
        raise SampleError(f"--model {model} needs --weights (declared for {model}: {pretrained})")
    module = zoo.load(ckpt) if ckpt is not None else zoo.load(model, weights=weights)
    capabilities = type(module).capabilities
    if not capabilities.samples:
        command = "python -m zoo.translate" if capabilities.translates else f"the {capabilities.task} entry point"
        raise SampleError(f"{type(module).__name__} does not sample from noise ({capabilities.task}): use {command}")
    return module.eval().to(device)


@torch.no_grad()
def draw(module, n: int, generator_seed: int | None = None) -> tuple[Tensor, dict[str, Tensor]]:
    """``n`` samples and the conditions they were made with (the non-noise inputs), seeded when asked."""
    if generator_seed is not None:
        torch.manual_seed(generator_seed)
    inputs = module.export_inputs(n)
    network = module.export_network()
    was_training = network.training
    network.eval()
    try:
        out = module.export_forward(network, *inputs.values())
    finally:
        network.train(was_training)
    return out.float().cpu(), {k: v.cpu() for k, v in inputs.items() if k != "noise"}


def _condition_columns(conditions: dict[str, Tensor], index: int) -> dict[str, object]:
    row: dict[str, object] = {}
    for name, values in conditions.items():
        value = values[index]
        if value.dim() == 0:
            row["label" if name == "labels" else name] = value.item()
        else:
            for j, item in enumerate(value.tolist()):
                row[f"{name}_{j}"] = round(item, 6) if isinstance(item, float) else item
    return row


def write_samples(module, num: int, output: str | Path, *, seed: int = 0, batch_size: int = 100,
                  progress: bool = True) -> list[Path]:
    """``num`` samples as ``output/000000.png``... plus ``output/samples.csv`` (or ``points.csv`` for 2-D
    data); returns the paths written. Batch ``b`` is drawn with seed ``seed + b``."""
    from tqdm.auto import tqdm

    if num < 1:
        raise SampleError(f"--num must be >= 1, got {num}")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows: list[dict[str, object]] = []
    bar = tqdm(total=num, desc="sampling", unit="img", disable=not progress)
    for b, start in enumerate(range(0, num, batch_size)):
        images, conditions = draw(module, min(batch_size, num - start), seed + b)
        if images.dim() == 2:  # the 2-D toy: points, not images
            rows += [{"x": round(x, 6), "y": round(y, 6)} for x, y in images.tolist()]
        else:
            for i, image in enumerate(images):
                name = f"{start + i:06d}.png"
                tensor_to_pil(image).save(output / name)
                written.append(output / name)
                rows.append({"file": name, **_condition_columns(conditions, i)})
        bar.update(len(images))
    bar.close()
    table = output / ("points.csv" if not written else "samples.csv")
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return [*written, table]


def labelled_grid(module) -> Image.Image:
    """The model's sample grid as a picture, each row labelled when rows have a meaning."""
    images, nrow = module.sample_grid()
    grid = tensor_to_pil(make_grid(images.float().cpu(), nrow=nrow, padding=2, pad_value=-1))
    labels = module.grid_row_names()  # classes (cgan, acgan, conditional ProGAN), InfoGAN's first code
    if not labels or images.dim() != 4:
        return grid
    rows = math.ceil(len(images) / nrow)
    margin = 64
    canvas = Image.new("RGB", (grid.width + margin, grid.height), "white")
    canvas.paste(grid.convert("RGB"), (margin, 0))
    pen = ImageDraw.Draw(canvas)
    cell = grid.height / rows
    for r, text in enumerate(labels[:rows]):
        pen.text((4, r * cell + cell / 2 - 5), text, fill="black")
    return canvas


def write_grid(module, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    labelled_grid(module).save(path)
    return path


def slerp(a: Tensor, b: Tensor, t: float) -> Tensor:
    """Spherical interpolation between batches of latent vectors (rows), t in [0, 1]."""
    cos = (a * b).sum(1, keepdim=True) / (a.norm(dim=1, keepdim=True) * b.norm(dim=1, keepdim=True)).clamp_min(1e-8)
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


@torch.no_grad()
def interpolation_frames(module, keyframes: int = 8, frames: int = 12, walks: int = 16, seed: int = 0) -> list[Image.Image]:
    """The frames of a latent walk: ``walks`` walks through ``keyframes`` random z and back to the first."""
    if keyframes < 2:
        raise SampleError(f"--interpolate needs at least 2 key points, got {keyframes}")
    torch.manual_seed(seed)
    inputs = module.export_inputs(walks)
    if "noise" not in inputs:
        raise SampleError(f"{type(module).__name__} has no latent noise to walk through")
    conditions = [v for k, v in inputs.items() if k != "noise"]
    if "labels" in inputs:  # one class per walk, in order
        inputs["labels"] = torch.arange(walks, device=inputs["labels"].device) % module.hparams.num_classes
        conditions = [inputs["labels"] if k == "labels" else v for k, v in inputs.items() if k != "noise"]
    points = [module.noise(walks) for _ in range(keyframes)]
    points.append(points[0])
    network = module.export_network().eval()
    pictures = []
    nrow = max(1, round(math.sqrt(walks)))
    for a, b in zip(points[:-1], points[1:]):
        for step in range(frames):
            images = module.export_forward(network, slerp(a, b, step / frames), *conditions).float().cpu()
            if images.dim() != 4:
                raise SampleError(f"{type(module).__name__} does not make images")
            pictures.append(tensor_to_pil(make_grid(images, nrow=nrow, padding=2, pad_value=-1)).convert("P"))
    return pictures


def write_interpolation(module, path: str | Path, keyframes: int = 8, frames: int = 12, walks: int = 16,
                        seed: int = 0, fps: int = 12) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise SampleError(f"--interpolate writes a GIF: --output must end in .gif, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures = interpolation_frames(module, keyframes, frames, walks, seed)
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=round(1000 / fps), loop=0)
    return path


# ------------------------------------------------------------------------------ CLI


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("zoo.sample", __doc__)
    add_model_source(parser)
    parser.add_argument("--num", type=int, help="write this many samples as numbered PNGs into --output")
    parser.add_argument("--output", help="folder for --num; the .gif file for --interpolate")
    parser.add_argument("--grid", help="write the labelled sample grid to this image file")
    parser.add_argument("--interpolate", type=int, metavar="K", help="a GIF latent walk through K random points")
    parser.add_argument("--frames", type=int, default=12, help="frames between two key points (default 12)")
    parser.add_argument("--walks", type=int, default=16, help="walks side by side in the GIF (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--batch-size", type=int, default=100, help="samples per forward pass (default 100)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; 0 on success, SystemExit(2) with the reason on a bad request."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.num is None and args.grid is None and args.interpolate is None:
        parser.error("nothing to write: give --num N --output DIR, --grid FILE and/or --interpolate K --output FILE.gif")
    if args.num is not None and args.interpolate is not None:
        parser.error("--num and --interpolate both use --output: run them one at a time")
    if (args.num is not None or args.interpolate is not None) and not args.output:
        parser.error("--num and --interpolate need --output")
    try:
        module = load_sampler(args.ckpt, args.model, args.weights, args.device)
        if args.num is not None:
            written = write_samples(module, args.num, args.output, seed=args.seed, batch_size=args.batch_size,
                                    progress=not args.quiet)
            print(f"wrote {args.num} samples -> {written[-1].parent} ({written[-1].name})")
        if args.grid is not None:
            print(f"wrote the grid -> {write_grid(module, args.grid)}")
        if args.interpolate is not None:
            path = write_interpolation(module, args.output, args.interpolate, args.frames, args.walks, args.seed)
            print(f"wrote the walk -> {path}")
    except (SampleError, UnknownNameError, FileNotFoundError, ValueError) as err:  # bad names, files, hashes
        parser.error(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
