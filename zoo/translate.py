"""``python -m zoo.translate``: translate a folder (or one file) of images with Pix2Pix or CycleGAN.

    # a checkpoint written by zoo.fit
    python -m zoo.translate --ckpt runs/cyclegan/horse2zebra/version_0/checkpoints/last.ckpt --input photos/ --output out/
    python -m zoo.translate --ckpt last.ckpt --input zebras/ --output horses/ --direction BtoA --size 256
    # the authors' released generators (zoo.weights: a catalogue name, or the path of a .pth file)
    python -m zoo.translate --model cyclegan --weights horse2zebra --input photos/ --output out/

The input folder is searched recursively (hidden files skipped; extensions of
``zoo.images.IMAGE_EXTENSIONS``) and its sub-folders are mirrored under
the output folder; every output keeps its input's relative path, file name and
format (PNG where Pillow cannot write that format in the output's mode) and,
unless ``--size N`` asks for N x N, its size. Images are read one at a time;
``--batch-size`` translates up to that many consecutive images of the same size
together. The files of an input folder are checked first (``datamodules.verify``,
cached): unreadable ones (empty, truncated, not images) are skipped with one
warning that names the full list, and every readable one is translated. The
last line printed is ``translated N images -> OUTPUT``.
"""

from __future__ import annotations

import argparse
import functools
import io
import pickle
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from zoo.images import IMAGE_EXTENSIONS, list_images
from zoo.registry import UnknownNameError

#: Save options per Pillow format (the others use Pillow's defaults).
SAVE_OPTIONS: dict[str, dict] = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}
FALLBACK_FORMAT = "PNG"
DEVICES = ("auto", "cpu", "cuda", "cuda:N")


class TranslateError(Exception):
    """A bad request (missing input, non-translation model, ...); the CLI prints it and exits with status 2."""


@dataclass(frozen=True)
class Job:
    """One image to translate: where it is read, where its translation is written and in which format."""

    source: Path
    target: Path
    format: str


# ------------------------------------------------------------------------------ model


def translation_models() -> list[str]:
    """Registered models that can translate images (their class has ``translate``)."""
    import zoo

    return [name for name in zoo.list_models() if hasattr(zoo.get_model_class(name), "translate")]


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; ``cuda`` without a GPU is an error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TranslateError(f"--device {device}: no CUDA device is available; use --device cpu (or auto)")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise TranslateError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    return device


def check_source(ckpt: str | Path | None, model: str | None, weights: str | Path | None) -> None:
    """Exactly one of ``ckpt`` or ``model`` with ``weights``."""
    if (ckpt is None) == (model is None):
        raise TranslateError("give exactly one of --ckpt PATH or --model NAME --weights NAME_OR_PTH")
    if model is not None and weights is None:
        raise TranslateError(f"--model {model} needs --weights (a released name such as horse2zebra, or a .pth file)")
    if ckpt is not None and weights is not None:
        raise TranslateError("--weights goes with --model NAME, not with --ckpt")


def load_translation_model(
    *, ckpt: str | Path | None = None, model: str | None = None, weights: str | Path | None = None, device: str = "cpu"
):
    """The translation module of a checkpoint (``ckpt``) or of released weights (``model`` + ``weights``).

    Raises :class:`TranslateError` when the source cannot be loaded or holds a model without ``translate``.
    """
    import zoo

    check_source(ckpt, model, weights)
    if ckpt is not None:
        path = Path(ckpt)
        if not path.is_file():
            hint = f" (for released weights use --model {ckpt} --weights NAME)" if str(ckpt) in zoo.list_models() else ""
            raise TranslateError(f"--ckpt {ckpt}: no such checkpoint file{hint}")
        source = f"checkpoint {ckpt}"
        try:
            module = zoo.load(path, map_location=device)
        except (OSError, ValueError, RuntimeError, pickle.UnpicklingError, UnknownNameError) as err:
            raise TranslateError(f"cannot load checkpoint {ckpt}: {err}") from None
    else:
        source = f"--model {model}"
        try:
            module = zoo.load(model, weights=weights, map_location=device)
        except (OSError, ValueError, RuntimeError, pickle.UnpicklingError, UnknownNameError) as err:
            raise TranslateError(str(err)) from None
    if not callable(getattr(module, "translate", None)):
        raise TranslateError(
            f"{source} holds a {type(module).__name__}, which does not translate images; "
            f"translation models: {', '.join(translation_models())}"
        )
    return module


def channels_of(model, direction: str) -> tuple[int, int]:
    """(input channels, output channels) of ``model`` translating ``direction``."""
    a, b = model.hparams.in_channels, model.hparams.out_channels
    return (a, b) if direction == "AtoB" else (b, a)


def check_direction(model, direction: str) -> None:
    """The error ``model.translate`` would raise for ``direction``, before any image is read."""
    if direction not in getattr(model, "directions", ("AtoB",)):
        try:
            model.translate(torch.zeros(0, channels_of(model, "AtoB")[0], 4, 4), direction)
        except ValueError as err:
            raise TranslateError(str(err)) from None
        raise TranslateError(f"{type(model).__name__} cannot translate {direction!r}")


# ------------------------------------------------------------------------------ files


def output_format(suffix: str, mode: str) -> tuple[str, str]:
    """(Pillow format, file suffix) to write a ``mode`` image named ``*suffix``: the suffix's own
    format when this Pillow can write it in that mode, else PNG (suffix ``.png``)."""
    fmt = Image.registered_extensions().get(suffix.lower())
    if fmt is not None and _can_write(fmt, mode):
        return fmt, suffix
    return FALLBACK_FORMAT, ".png"


@functools.cache
def _can_write(fmt: str, mode: str) -> bool:
    try:
        Image.new(mode, (1, 1)).save(io.BytesIO(), format=fmt, **SAVE_OPTIONS.get(fmt, {}))
    except (OSError, KeyError, ValueError):
        return False
    return True


def list_inputs(input: str | Path, output: str | Path) -> list[tuple[Path, Path]]:
    """(source, target before any format change) for every input image; checks the two paths.

    ``input`` is an image file or a folder (recursive); ``output`` is a folder, or, for a
    file input, an output file when it ends in an image extension and is not a folder.
    """
    input, output = Path(input), Path(output)
    if not input.exists():
        raise TranslateError(f"--input {input} does not exist")
    if output.exists() and not output.is_dir() and (input.is_dir() or output.suffix.lower() not in IMAGE_EXTENSIONS):
        raise TranslateError(f"--output {output} is a file; give a folder")
    if input.is_dir():
        if output.resolve().is_relative_to(input.resolve()):
            raise TranslateError(
                f"--output {output} is inside --input {input}; a later run would translate the translations: "
                "choose a folder outside it"
            )
        try:
            files = list_images(input)
        except FileNotFoundError as err:
            raise TranslateError(str(err)) from None
        return [(file, output / file.relative_to(input)) for file in files]
    if input.suffix.lower() not in IMAGE_EXTENSIONS:
        raise TranslateError(f"--input {input} is not an image file (extensions: {', '.join(IMAGE_EXTENSIONS)})")
    if output.suffix.lower() in IMAGE_EXTENSIONS and not output.is_dir():
        return [(input, output)]
    return [(input, output / input.name)]


def plan_jobs(pairs: Sequence[tuple[Path, Path]], mode: str) -> list[Job]:
    """The jobs for ``pairs`` writing ``mode`` images; no two may write one file, none may overwrite an input."""
    jobs = []
    for source, target in pairs:
        fmt, suffix = output_format(target.suffix, mode)
        jobs.append(Job(source, target.with_suffix(suffix) if suffix != target.suffix else target, fmt))
    written: dict[Path, Path] = {}
    inputs = {source.resolve() for source, _ in pairs}
    for job in jobs:
        key = job.target.resolve()
        if key in inputs:
            raise TranslateError(f"{job.source} would be written over the input {job.target}; choose another --output")
        if key in written:
            raise TranslateError(
                f"{written[key]} and {job.source} would both be written to {job.target} "
                f"(formats Pillow cannot write become {FALLBACK_FORMAT}); rename one of them"
            )
        written[key] = job.source
    return jobs


def read_image(path: Path, channels: int) -> torch.Tensor:
    """``path`` as float32 (channels, H, W) in [-1, 1], converted exactly as ``translate(PIL image)`` does."""
    from zoo.images import pil_to_tensor

    try:
        with Image.open(path) as image:
            image.load()
            return pil_to_tensor(image, channels)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise TranslateError(f"cannot read image {path}: {err}") from None


# ------------------------------------------------------------------------------ translation


def translate_path(
    model,
    input: str | Path,
    output: str | Path,
    *,
    direction: str = "AtoB",
    size: int | None = None,
    batch_size: int = 1,
    progress: bool = False,
) -> list[Path]:
    """Translate the image file or folder ``input`` into ``output``; returns the files written, in order.

    Each image goes through ``model.translate`` exactly as a PIL image would (same channel
    conversion, padding and cropping, or resizing to ``size`` x ``size``); up to
    ``batch_size`` consecutive images of the same size share one forward pass. Files are
    written as they are done. The files of a folder ``input`` are checked first
    (:func:`datamodules.verify.verify_images`): unreadable ones are skipped with one
    :class:`~datamodules.verify.BadImagesWarning` (a file that turns unreadable later is
    skipped too, with a warning), and a folder with no readable image is an error. An image
    the network cannot take at its size (a 1x1 image through CycleGAN's down-sampling and
    instance norm) is skipped with a warning too; ``size`` avoids that. A single unreadable
    or untranslatable file ``input`` is an error.
    """
    from tqdm import tqdm

    from zoo.images import tensor_to_pil

    if size is not None and size < 1:
        raise TranslateError(f"--size must be a positive number of pixels, got {size}")
    if batch_size < 1:
        raise TranslateError(f"--batch-size must be >= 1, got {batch_size}")
    check_direction(model, direction)
    pairs = list_inputs(input, output)
    if Path(input).is_dir():
        pairs = _readable(pairs, Path(input), progress)
    in_channels, out_channels = channels_of(model, direction)
    mode = tensor_to_pil(torch.zeros(out_channels, 1, 1)).mode
    jobs = plan_jobs(pairs, mode)

    written: list[Path] = []
    pending: list[tuple[Job, torch.Tensor]] = []
    bar = tqdm(total=len(jobs), unit="image", desc="translating", disable=not progress, file=sys.stderr)

    def translated(group: list[tuple[Job, torch.Tensor]]) -> list[tuple[Job, torch.Tensor]]:
        """The translations of ``group``; an image the network cannot take (e.g. 1x1: too small for its
        down-sampling) is skipped with a warning, unless the input is that one file."""
        try:
            return list(zip(group, model.translate(torch.stack([t for _, t in group]), direction, size, batch_size)))
        except (ValueError, RuntimeError) as err:
            if len(group) > 1:
                return [done for one in group for done in translated([one])]
            if len(jobs) == 1:
                raise TranslateError(f"cannot translate {group[0][0].source}: {err}") from None
            (job, tensor), = group
            untranslatable[job.source] = f"{job.source} ({tensor.shape[-1]}x{tensor.shape[-2]}): {err}"
            return []

    def flush() -> None:
        for (job, _), image in translated(pending):
            job.target.parent.mkdir(parents=True, exist_ok=True)
            try:
                tensor_to_pil(image).save(job.target, format=job.format, **SAVE_OPTIONS.get(job.format, {}))
            except OSError as err:
                raise TranslateError(f"cannot write {job.target}: {err}") from None
            written.append(job.target)
        bar.update(len(pending))
        pending.clear()

    late: dict[Path, str] = {}
    untranslatable: dict[Path, str] = {}
    try:
        for job in jobs:
            try:
                tensor = read_image(job.source, in_channels)
            except TranslateError as err:
                if len(jobs) == 1:
                    raise
                late[job.source] = str(err)  # changed since it was checked: skip it, keep going
                bar.update()
                continue
            if pending and (len(pending) == batch_size or pending[0][1].shape != tensor.shape):
                flush()
            pending.append((job, tensor))
        if pending:
            flush()
    finally:
        bar.close()
    import warnings

    if late:
        warnings.warn(f"{len(late)} input image(s) could not be read and were skipped: "
                      + "; ".join(list(late.values())[:5]), stacklevel=2)
    if untranslatable:
        if not written:
            raise TranslateError(f"no image could be translated: {next(iter(untranslatable.values()))}")
        warnings.warn(f"{len(untranslatable)} input image(s) could not be translated at their size and were "
                      f"skipped (try --size N): " + "; ".join(list(untranslatable.values())[:5]), stacklevel=2)
    return written


def _readable(pairs: list[tuple[Path, Path]], folder: Path, progress: bool) -> list[tuple[Path, Path]]:
    """``pairs`` without the unreadable sources (one warning names them); none readable is an error."""
    from datamodules.verify import BadImagesError, report_bad_files, verify_images

    bad = verify_images([source for source, _ in pairs], progress=None if progress else False).bad
    kept = [(source, target) for source, target in pairs if source not in bad]
    try:
        report_bad_files(bad, folder, what=f"--input {folder}", usable=len(kept))
    except BadImagesError as err:
        raise TranslateError(f"cannot read images: {err}") from None
    return kept


# ------------------------------------------------------------------------------ CLI


def _device(value: str) -> str:
    if value in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", value):
        return value
    raise argparse.ArgumentTypeError(f"invalid device {value!r}; valid choices: {', '.join(DEVICES)}")


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zoo.translate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="checkpoint written by `python -m zoo.fit` (a pix2pix or cyclegan run)")
    source.add_argument("--model", help="model of released weights: cyclegan or pix2pix (with --weights)")
    parser.add_argument("--weights", help="with --model: a released name (e.g. horse2zebra; see docs/pretrained.md) "
                                          "or the path of a reference .pth file")
    parser.add_argument("--input", required=True, help="an image file, or a folder of images (searched recursively)")
    parser.add_argument("--output", required=True,
                        help="output folder (sub-folders mirror --input); for a file --input also an image file name")
    parser.add_argument("--direction", default="AtoB", choices=("AtoB", "BtoA"),
                        help="AtoB (default) or BtoA (CycleGAN checkpoints only)")
    parser.add_argument("--size", type=_positive, help="resize inputs to SIZE x SIZE (default: keep each image's size)")
    parser.add_argument("--batch-size", type=_positive, default=1,
                        help="translate up to this many consecutive same-size images together (default 1)")
    parser.add_argument("--device", type=_device, default="auto",
                        help="auto (default: cuda when available), cpu, cuda or cuda:N")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``argv``, default ``sys.argv[1:]``); 0 on success, SystemExit(2) on a bad request."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_source(args.ckpt, args.model, args.weights)
        list_inputs(args.input, args.output)  # fail on a bad path before loading (or downloading) a model
        device = resolve_device(args.device)
        model = load_translation_model(ckpt=args.ckpt, model=args.model, weights=args.weights, device=device)
        written = translate_path(model, args.input, args.output, direction=args.direction, size=args.size,
                                 batch_size=args.batch_size, progress=not args.quiet)
    except TranslateError as err:
        parser.error(str(err))
    output = written[0] if len(written) == 1 and not Path(args.input).is_dir() else Path(args.output)
    print(f"translated {len(written)} images -> {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
