"""Pretrained weights: how they are declared, fetched, verified and loaded (plain torch).

Declarations live next to each model's class (``WEIGHTS`` in
``zoo/models/cyclegan.py`` and ``zoo/models/pix2pix.py``, passed to
``register_model(weights=...)``), as torchvision keeps a weights enum beside
each builder; :mod:`zoo.api` lists and loads them (``zoo.list_pretrained``,
``zoo.load(model, weights=...)``). This module holds the machinery they share:

* :class:`PretrainedWeights`: one file, where it is and which network it fits.
* :func:`fetch_weights`: the cached file, downloaded if needed, sha256-checked
  when the hash is known (:func:`file_sha256`, :func:`check_sha256`).
* :func:`map_reference_state_dict`, :func:`load_reference_generator`: the
  reference code's key names -> ours (``generator.reference_names()``), checked.

Checksums: the CycleGAN / pix2pix authors publish none, and the files could not
be downloaded where this was written, so their ``sha256`` is ``None`` and
:func:`fetch_weights` verifies only a ``sha256=`` the caller gives.

Files are cached under ``$ZOO_CACHE_DIR/weights/<model>/<name>.pth`` (default
``~/.cache/zoo/weights``, the same root as the metrics' caches). Offline, put
the file there yourself: :class:`WeightsUnavailableError` says where.
See ``docs/pretrained.md``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor, nn

from zoo import paths


class WeightsUnavailableError(FileNotFoundError):
    """Released weights are neither in the cache nor downloadable; the message names the URL and the path."""


class ChecksumError(ValueError):
    """A weights file's sha256 differs from the expected one."""


class StateDictMismatchError(ValueError):
    """A reference state dict does not fit the generator; the message lists the offending keys."""


@dataclass(frozen=True)
class PretrainedWeights:
    """One generator file: where it is and which network it fits.

    Attributes:
        model: the registered model name, e.g. ``"cyclegan"``.
        name: the weights' name, e.g. ``"horse2zebra"`` (the authors' name for released files).
        url: where the ``.pth`` state dict is hosted.
        network: class of the generator (e.g. ``ResnetGenerator``, ``UnetGenerator``).
        kwargs: its constructor arguments.
        direction: what the generator translates, in words.
        sha256: expected checksum of the file, ``None`` when unknown (all of them today).
    """

    model: str
    name: str
    url: str
    network: type[nn.Module]
    kwargs: Mapping[str, Any] = field(hash=False)
    direction: str
    sha256: str | None = None

    def __post_init__(self) -> None:  # shared by every entry of a model: read-only
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))

    @property
    def tag(self) -> str:
        """``"model.name"``, e.g. ``"cyclegan.horse2zebra"`` (names repeat across models)."""
        return f"{self.model}.{self.name}"

    def build_generator(self) -> nn.Module:
        """A freshly initialised generator of the right architecture (weights not loaded)."""
        return self.network(**self.kwargs)


# --- files -------------------------------------------------------------------------


def weights_cache_dir() -> Path:
    """``$ZOO_CACHE_DIR/weights`` (default ``~/.cache/zoo/weights``)."""
    return paths.cache_dir("weights")


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str, what: str) -> None:
    actual = file_sha256(path)
    if actual != expected.lower():
        raise ChecksumError(
            f"{what} {path} has sha256 {actual}, expected {expected.lower()}; "
            "delete it (or replace it with the right file) and try again"
        )


def fetch_weights(
    entry: PretrainedWeights,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    sha256: str | None = None,
) -> Path:
    """The local path of ``entry``'s file: the cached copy, or a fresh download.

    The file lives at ``<cache_dir>/<model>/<name>.pth``, ``cache_dir`` defaulting
    to :func:`weights_cache_dir`. It is downloaded with
    ``torch.hub.download_url_to_file`` (a progress bar on stderr when ``progress``),
    which writes to a temporary file and moves it into place only when complete.
    ``sha256`` (else ``entry.sha256``), when known, is checked on the cached and on
    the downloaded file (:class:`ChecksumError`; a bad download is not kept).
    A failed download raises :class:`WeightsUnavailableError` naming the URL and
    the path to put the file at.
    """
    root = Path(cache_dir).expanduser() if cache_dir is not None else weights_cache_dir()
    target = root / entry.model / f"{entry.name}.pth"
    expected = sha256 or entry.sha256
    if target.is_file():
        if expected:
            check_sha256(target, expected, "cached weights file")
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(entry.url, str(target), hash_prefix=None, progress=progress)
    except Exception as err:  # offline: URLError, timeouts, proxies, HTTP errors, a read-only cache ...
        raise WeightsUnavailableError(
            f"the {entry.model} weights {entry.name!r} are not cached and could not be downloaded "
            f"({type(err).__name__}: {err}).\nDownload {entry.url}\nand put it at {target}\n"
            f"(or pass the file's path instead of the name)."
        ) from None
    if expected:
        try:
            check_sha256(target, expected, "downloaded weights file")
        except ChecksumError:
            target.unlink()
            raise
    return target


# --- the reference's key names -------------------------------------------------------

_RUNNING_STATS = ("running_mean", "running_var", "num_batches_tracked")


def _read_state_dict(source: str | os.PathLike | Mapping[str, Tensor]) -> dict[str, Tensor]:
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise StateDictMismatchError(f"{path} does not hold a plain state dict (name -> tensor) of the reference")
    return dict(state)


def map_reference_state_dict(
    source: str | os.PathLike | Mapping[str, Tensor], generator: nn.Module
) -> dict[str, Tensor]:
    """A reference state dict renamed to ``generator``'s keys, fully checked.

    ``source`` is a ``.pth`` path (read with ``torch.load(weights_only=True,
    map_location="cpu")``) or a state dict. As the reference's ``load_networks``
    does, ``module.`` prefixes (from ``DataParallel``) are dropped, and so are the
    ``running_mean`` / ``running_var`` / ``num_batches_tracked`` entries of instance
    norm layers (files written before PyTorch 0.4 or with ``track_running_stats``;
    the reference ignores them). Keys are then renamed with
    ``generator.reference_names()``. A batch norm's ``num_batches_tracked``
    (absent from pre-0.4 files, unused in eval mode) is kept from ``generator``
    when the file lacks it. Any other missing or unexpected key, or a shape that
    differs, raises :class:`StateDictMismatchError` listing all of them.
    """
    if not hasattr(generator, "reference_names"):
        raise TypeError(
            f"{type(generator).__name__} has no reference layout; expected ResnetGenerator or UnetGenerator"
        )
    module_names: dict[str, str] = generator.reference_names()
    ours = generator.state_dict()
    wanted: dict[str, str] = {}  # reference key -> our key
    for key in ours:
        module, _, leaf = key.rpartition(".")
        wanted[f"{module_names[module]}.{leaf}"] = key
    instance_norms = {
        module_names[name] for name, layer in generator.named_modules()
        if isinstance(layer, nn.InstanceNorm2d) and not layer.track_running_stats and name in module_names
    }

    given: dict[str, Tensor] = {}
    for key, value in _read_state_dict(source).items():
        key = key.removeprefix("module.")
        module, _, leaf = key.rpartition(".")
        if module in instance_norms and leaf in _RUNNING_STATS:
            continue
        given[key] = value

    missing = [
        ref for ref, key in wanted.items() if ref not in given and not key.endswith(".num_batches_tracked")
    ]
    unexpected = [ref for ref in given if ref not in wanted]
    wrong_shape = [
        f"{ref}: file {tuple(given[ref].shape)}, {wanted[ref]} {tuple(ours[wanted[ref]].shape)}"
        for ref in given if ref in wanted and given[ref].shape != ours[wanted[ref]].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    if wrong_shape:
        problems.append("shape mismatches: " + "; ".join(wrong_shape))
    if problems:
        raise StateDictMismatchError(
            f"the reference state dict does not fit {type(generator).__name__} "
            f"(check the network arguments: channels, blocks / levels, norm):\n" + "\n".join(problems)
        )
    return {key: given.get(ref, ours[key]) for ref, key in wanted.items()}


def load_reference_generator(
    source: str | os.PathLike | Mapping[str, Tensor], generator: nn.Module
) -> nn.Module:
    """Load a reference ``net_G`` state dict (path or dict) into ``generator``, strictly; return ``generator``.

    See :func:`map_reference_state_dict` for the checks. The generator is left in
    its current train / eval mode: pix2pix ran its released U-Nets in train mode
    at test time (batch statistics, dropout on), the usual choice is ``.eval()``.
    """
    generator.load_state_dict(map_reference_state_dict(source, generator), strict=True)
    return generator
