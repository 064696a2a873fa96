"""Where ``python -m zoo.translate`` reads and writes: input listing, output names and formats, image reading.

Every output keeps its input's relative path, file name and format, or becomes PNG where Pillow
cannot write that format in the output's mode; no two inputs may write one file and no output may
overwrite an input (:func:`plan_jobs`). Errors are :class:`TranslateError`: the command prints them
and exits with status 2.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from zoo.images import IMAGE_EXTENSIONS, list_images

#: Save options per Pillow format (the others use Pillow's defaults).
SAVE_OPTIONS: dict[str, dict] = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}
FALLBACK_FORMAT = "PNG"


class TranslateError(Exception):
    """A bad request (missing input, non-translation model, ...); the CLI prints it and exits with status 2."""


@dataclass(frozen=True)
class Job:
    """One image to translate: where it is read, where its translation is written and in which format."""

    source: Path
    target: Path
    format: str


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
