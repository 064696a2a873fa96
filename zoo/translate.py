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
import pickle
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from zoo.commands import add_model_source, command_parser
from zoo.registry import UnknownNameError
from zoo.translation_files import (
    FALLBACK_FORMAT,
    SAVE_OPTIONS,
    Job,
    TranslateError,
    list_inputs,
    output_format,
    plan_jobs,
    read_image,
)

__all__ = ["translate_path", "load_translation_model", "translation_models", "main", "TranslateError", "SAVE_OPTIONS",
           "FALLBACK_FORMAT", "Job", "list_inputs", "output_format", "plan_jobs", "read_image"]
DEVICES = ("auto", "cpu", "cuda", "cuda:N")


# ------------------------------------------------------------------------------ model


def translation_models() -> list[str]:
    """Registered models that translate images (their class declares the ``image-to-image`` task)."""
    import zoo

    return [name for name in zoo.list_models() if zoo.get_model_class(name).capabilities.translates]


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
    if not type(module).capabilities.translates:
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
    if direction not in model.directions:
        try:
            model.translate(torch.zeros(0, channels_of(model, "AtoB")[0], 4, 4), direction)
        except ValueError as err:
            raise TranslateError(str(err)) from None
        raise TranslateError(f"{type(model).__name__} cannot translate {direction!r}")


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
    jobs = plan_jobs(pairs, tensor_to_pil(torch.zeros(out_channels, 1, 1)).mode)
    run = FolderTranslation(model, direction, size, batch_size, single=len(jobs) == 1)
    run.translate_all(jobs, in_channels, progress)
    run.warn_skipped()
    return run.written


class FolderTranslation:
    """One ``translate_path`` run: reads the jobs in order, batches consecutive same-size images, writes
    each translation as soon as it is done, and keeps what it skipped (``late``: unreadable since the
    check; ``untranslatable``: too small for the network) to report at the end. ``single``: the input
    is one file, so a skipped image is an error instead."""

    def __init__(self, model, direction: str, size: int | None, batch_size: int, single: bool) -> None:
        self.model, self.direction, self.size, self.batch_size, self.single = model, direction, size, batch_size, single
        self.written: list[Path] = []
        self.pending: list[tuple[Job, torch.Tensor]] = []
        self.late: dict[Path, str] = {}
        self.untranslatable: dict[Path, str] = {}

    def translate_all(self, jobs: list[Job], in_channels: int, progress: bool) -> None:
        from tqdm import tqdm

        with tqdm(total=len(jobs), unit="image", desc="translating", disable=not progress, file=sys.stderr) as bar:
            for job in jobs:
                try:
                    tensor = read_image(job.source, in_channels)
                except TranslateError as err:
                    if self.single:
                        raise
                    self.late[job.source] = str(err)  # changed since it was checked: skip it, keep going
                    bar.update()
                    continue
                if self.pending and (len(self.pending) == self.batch_size or self.pending[0][1].shape != tensor.shape):
                    bar.update(self.flush())
                self.pending.append((job, tensor))
            if self.pending:
                bar.update(self.flush())

    def translated(self, group: list[tuple[Job, torch.Tensor]]) -> list[tuple[Job, torch.Tensor]]:
        """The translations of ``group``; an image the network cannot take (e.g. 1x1: too small for its
        down-sampling) is skipped and remembered, unless the input is that one file."""
        try:
            images = torch.stack([t for _, t in group])
            return list(zip(group, self.model.translate(images, self.direction, self.size, self.batch_size)))
        except (ValueError, RuntimeError) as err:
            if len(group) > 1:
                return [done for one in group for done in self.translated([one])]
            (job, tensor), = group
            if self.single:
                raise TranslateError(f"cannot translate {job.source}: {err}") from None
            self.untranslatable[job.source] = f"{job.source} ({tensor.shape[-1]}x{tensor.shape[-2]}): {err}"
            return []

    def flush(self) -> int:
        """Translate and write the pending images; returns how many were pending."""
        from zoo.images import tensor_to_pil

        for (job, _), image in self.translated(self.pending):
            job.target.parent.mkdir(parents=True, exist_ok=True)
            try:
                tensor_to_pil(image).save(job.target, format=job.format, **SAVE_OPTIONS.get(job.format, {}))
            except OSError as err:
                raise TranslateError(f"cannot write {job.target}: {err}") from None
            self.written.append(job.target)
        count, self.pending = len(self.pending), []
        return count

    def warn_skipped(self) -> None:
        """One warning for the images skipped; none translated at all is an error."""
        if self.late:
            warnings.warn(f"{len(self.late)} input image(s) could not be read and were skipped: "
                          + "; ".join(list(self.late.values())[:5]), stacklevel=3)
        if self.untranslatable:
            if not self.written:
                raise TranslateError(f"no image could be translated: {next(iter(self.untranslatable.values()))}")
            warnings.warn(f"{len(self.untranslatable)} input image(s) could not be translated at their size and "
                          f"were skipped (try --size N): " + "; ".join(list(self.untranslatable.values())[:5]),
                          stacklevel=3)


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
    parser = command_parser("zoo.translate", __doc__)
    add_model_source(parser, ckpt="checkpoint written by `python -m zoo.fit` (a pix2pix or cyclegan run)",
                     model="model of released weights: cyclegan or pix2pix (with --weights)",
                     weights="with --model: a released name (e.g. horse2zebra; see docs/pretrained.md) or the path of "
                             "a reference .pth file")
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
