"""Pretrained weights: how they are declared, fetched, verified and checked (plain torch).

Declarations live next to each model's class (``WEIGHTS`` in each
``zoo/models/<model>.py``, passed to ``register_model(weights=...)``), as
torchvision keeps a weights enum beside each builder; :mod:`zoo.api` lists and
loads them (``zoo.list_pretrained``, ``zoo.load("cgan", weights="digits")``).
This module holds the machinery they share:

* :class:`PretrainedWeights`: one file, where it is (packaged in ``zoo/pretrained/``
  or hosted at a URL), its sha256, what it fits, and its measured metrics.
* :func:`weights_file`: the local file, sha256-checked (always, for packaged files);
  :func:`fetch_weights` downloads a hosted file once into the cache.
* :func:`save_packaged` / :func:`read_packaged`: the zoo's own file format (a
  generator, the constructor arguments, the metadata; ``weights_only`` loading).
* :func:`check_state_dict`: the one strict key-and-shape check every loader uses,
  naming each missing, unexpected or mis-shaped key.
* :func:`map_reference_state_dict`, :func:`load_reference_generator`: the
  reference code's key names -> ours (``generator.reference_names()``), checked.

The last two items live in :mod:`zoo.state_dicts` and are re-exported here.

Checksums: the CycleGAN / pix2pix authors publish none, and their files could not
be downloaded where this was written, so their ``sha256`` is ``None``: such a file
loads with a warning that it is unverified (its hash printed, to pin it).

Files are cached under ``$ZOO_CACHE_DIR/weights/<model>/<name>.pth`` (default
``~/.cache/zoo/weights``, the same root as the metrics' caches). Offline, put
the file there yourself: :class:`WeightsUnavailableError` says where.
See ``docs/pretrained.md``.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor, nn

from zoo import paths
from zoo.state_dicts import (  # re-exported: the state-dict checks and the reference key mapping
    StateDictMismatchError,
    check_state_dict,
    load_reference_generator,
    map_reference_state_dict,
)


class WeightsUnavailableError(FileNotFoundError):
    """Released weights are neither in the cache nor downloadable; the message names the URL and the path."""


class ChecksumError(ValueError):
    """A weights file's sha256 differs from the expected one."""


@dataclass(frozen=True)
class PretrainedWeights:
    """One weights file: where it is, what it fits, and what it was measured to do.

    Two formats go through the same loader (:func:`load_pretrained`):

    * the zoo's own (``network is None``): a file written by :func:`save_packaged`,
      holding the module's generator (the EMA weights where the model keeps them) and
      whatever else sampling needs (``GANModule.pretrained_parts``), for the model class
      built with ``kwargs``. Most ship inside the package (``file``).
    * a reference generator (``network`` set): a plain ``net_G`` state dict in the
      reference code's key names (the CycleGAN / pix2pix authors' releases), for
      ``network(**kwargs)``.

    Attributes:
        model: the registered model name, e.g. ``"cgan"``.
        name: the weights' name, e.g. ``"digits"`` (the authors' name for released files).
        url: where the file is hosted (``None`` for a packaged file).
        network: reference format only: the generator class the file's keys map into.
        kwargs: constructor arguments: of ``network`` (reference), else of the model class.
        direction: what the generator makes or translates, in words.
        sha256: expected checksum of the file; always set for packaged files, ``None``
            where unknown (a file then loads but is reported as unverified).
        file: the packaged file's name in ``zoo/pretrained/`` (``None`` if hosted).
        data: the data set it was trained on.
        resolution: the side of the images it makes, in pixels.
        metrics: measured figures (name -> value) on the files' own samples; ``protocol`` says how.
        protocol: how ``metrics`` were measured (sample counts, references, classifier).
        command: the command that produced the file.
        source: who trained it.
        licence: the weights' licence.
    """

    model: str
    name: str
    url: str | None = None
    network: type[nn.Module] | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)
    direction: str = ""
    sha256: str | None = None
    file: str | None = None
    data: str = ""
    resolution: int | None = None
    metrics: Mapping[str, float] = field(default_factory=dict, hash=False)
    protocol: str = ""
    command: str = ""
    source: str = ""
    licence: str = ""

    def __post_init__(self) -> None:  # shared by every entry of a model: read-only
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))
        if (self.url is None) == (self.file is None):
            raise ValueError(f"weights {self.tag}: give exactly one of url= (hosted) and file= (packaged)")
        if self.file is not None and not self.sha256:
            raise ValueError(f"weights {self.tag}: a packaged file needs its sha256")

    @property
    def tag(self) -> str:
        """``"model.name"``, e.g. ``"cyclegan.horse2zebra"`` (names repeat across models)."""
        return f"{self.model}.{self.name}"

    @property
    def packaged(self) -> bool:
        """Whether the file ships inside the package (offline on a fresh install)."""
        return self.file is not None

    @property
    def reference_format(self) -> bool:
        """Whether the file is a reference ``net_G`` state dict (else the zoo's own format)."""
        return self.network is not None

    @property
    def path(self) -> Path | None:
        """The packaged file's path (``None`` for hosted weights)."""
        return PACKAGED_DIR / self.file if self.file else None

    @property
    def size_bytes(self) -> int | None:
        """The packaged file's size (``None`` for hosted weights or a missing file)."""
        return self.path.stat().st_size if self.path and self.path.is_file() else None

    def build_generator(self) -> nn.Module:
        """Reference format: a freshly initialised generator of the right architecture (weights not loaded)."""
        if self.network is None:
            raise TypeError(f"{self.tag} is in the zoo's format: load it with zoo.load({self.tag!r})")
        return self.network(**self.kwargs)

    def info(self) -> dict[str, Any]:
        """One row of the catalogue (``zoo.list_pretrained(details=True)``, docs/pretrained.md)."""
        return {
            "tag": self.tag, "model": self.model, "name": self.name, "data": self.data or None,
            "resolution": self.resolution, "makes": self.direction, "metrics": dict(self.metrics),
            "protocol": self.protocol or None, "where": "packaged" if self.packaged else self.url,
            "size_bytes": self.size_bytes, "sha256": self.sha256, "command": self.command or None,
            "source": self.source or None, "licence": self.licence or None,
        }


#: who trained the zoo's own packaged weights, and under which licence they ship
PACKAGED_SOURCE, PACKAGED_LICENCE = "gan-zoo (trained on this project's CPU machine)", "MIT"


def packaged_weights(model: str, name: str, *, sha256: str, kwargs: Mapping[str, Any], direction: str,
                     metrics: Mapping[str, float], protocol: str = "digits", data: str | None = None,
                     resolution: int | None = 32) -> PretrainedWeights:
    """The declaration of a weights file the zoo trained and ships (``zoo/pretrained/<model>.<name>.pt``):
    what differs from one to the next is given, the rest follows from it (the file name, the protocol's
    text from :data:`PROTOCOLS`, the command that re-creates it, the source and licence).
    ``python -m benchmarks.pretrained --model NAME`` prints the call to paste after training."""
    return PretrainedWeights(
        model, name, file=f"{model}.{name}.pt", sha256=sha256, kwargs=kwargs, direction=direction,
        data=data or f"{name} (embedded)", resolution=resolution, metrics=metrics, protocol=PROTOCOLS[protocol],
        command=f"python -m benchmarks.pretrained --model {model}", source=PACKAGED_SOURCE, licence=PACKAGED_LICENCE,
    )


#: where the packaged weight files live (inside the installed package, shipped in the wheel)
PACKAGED_DIR = Path(__file__).resolve().parent / "pretrained"

#: the ``format`` field of the zoo's own weight files
PACKAGED_FORMAT = "gan-zoo-weights/1"

#: How the metrics of the zoo's own weights are measured (``PretrainedWeights.protocol``);
#: ``benchmarks.pretrained`` implements them. Samples in eval mode, float32, seed 123.
PROTOCOLS: Mapping[str, str] = MappingProxyType({
    "digits": (
        "fd: FD-digits (Frechet distance in the shipped digits classifier's feature space) of 179 samples "
        "against the 1439 embedded training digits, mean of 5 draws; fd_floor: the real-vs-real floor "
        "FD(179 test digits, 1439 training digits); fd_ratio = fd / fd_floor. conditional_accuracy (cgan, "
        "acgan, progan): 1000 samples, 100 per class, read by the shipped digits classifier. code_accuracy "
        "(infogan): 1000 samples, 100 per value of the categorical code, Hungarian-matched to the classes the "
        "classifier reads. test_accuracy (sgan): the discriminator's classifier on the 179 test digits. "
        "min_class_share (dcgan, progan): the smallest share of a class among 1000 samples, as the classifier reads them."
    ),
    "translation": (
        "the model's test_step on its task's 179 test digits: identity_accuracy = the shipped digits "
        "classifier reads the source digit's class in the translation (_BtoA: the inverse generator); "
        "l1, psnr (dB), ssim against the task's deterministic ground truth."
    ),
    "ring": (
        "1000 samples: radius = their mean distance from the origin (the data's ring: 1.0), radius_error = "
        "|radius - 1|, min_sector_share = the smallest share of them in 8 equal angular sectors (uniform: 0.125)."
    ),
})


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


# --- the zoo's own weight files ---------------------------------------------------------


def save_packaged(
    path: str | os.PathLike, model: str, state_dict: Mapping[str, Tensor], hparams: Mapping[str, Any],
    meta: Mapping[str, Any],
) -> str:
    """Write a weights file in the zoo's format; return its sha256.

    The file is ``torch.save`` of a plain dict (readable with ``weights_only=True``):
    ``format`` (:data:`PACKAGED_FORMAT`), ``model`` (registered name), ``hparams``
    (the model class's constructor arguments), ``state_dict`` (the tensors of
    ``GANModule.pretrained_parts``) and ``meta`` (data, metrics, protocol, command, ...).
    It is written to a temporary file and moved into place, so a crash leaves no half file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": PACKAGED_FORMAT, "model": model, "hparams": dict(hparams),
               "state_dict": dict(state_dict), "meta": dict(meta)}
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    os.replace(partial, path)
    return file_sha256(path)


def is_packaged_format(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a weights file in the zoo's own format (else, e.g., a reference state dict)."""
    return packaged_payload(path) is not None


def packaged_payload(path: str | os.PathLike) -> dict[str, Any] | None:
    """:func:`read_packaged`'s contents when ``path`` is a zoo weights file, else ``None`` (one read)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a torch file, or one weights_only refuses
        return None
    if not isinstance(payload, Mapping) or payload.get("format") != PACKAGED_FORMAT:
        return None
    return checked_payload(path, payload)


def read_packaged(path: str | os.PathLike) -> dict[str, Any]:
    """The contents of a zoo weights file (see :func:`save_packaged`), checked for its layout.

    Read with ``torch.load(weights_only=True, map_location="cpu")``: a file cannot run code.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, Mapping) or payload.get("format") != PACKAGED_FORMAT:
        raise StateDictMismatchError(
            f"{path} is not a gan-zoo weights file (format {PACKAGED_FORMAT!r}); a reference generator "
            "state dict loads through its model's declared weights, a training checkpoint with zoo.load(path)"
        )
    return checked_payload(path, payload)


def checked_payload(path: str | os.PathLike, payload: Mapping[str, Any]) -> dict[str, Any]:
    missing = [key for key in ("model", "hparams", "state_dict", "meta") if key not in payload]
    if missing:
        raise StateDictMismatchError(f"{path} lacks the field(s) {', '.join(missing)}")
    return dict(payload)


def weights_file(
    entry: PretrainedWeights,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    sha256: str | None = None,
) -> Path:
    """The local file of ``entry``, sha256-checked where the hash is known.

    Packaged weights: the file inside the installed package (always checked: a modified
    byte raises :class:`ChecksumError`). Hosted weights: :func:`fetch_weights` (cached or
    downloaded). A hosted file whose hash is unknown is used and reported as unverified
    (a ``UserWarning`` naming the file and its sha256, to pin it).
    """
    if entry.packaged:
        path = entry.path
        if not path.is_file():
            raise WeightsUnavailableError(
                f"the packaged weights file of {entry.tag} is missing: {path} (the installation is incomplete; "
                "reinstall gan-zoo, or from a clone run `python -m benchmarks.pretrained --model "
                f"{entry.model}` to re-create it)"
            )
        check_sha256(path, sha256 or entry.sha256, f"packaged weights file of {entry.tag}")
        return path
    path = fetch_weights(entry, cache_dir, progress, sha256)
    if not (sha256 or entry.sha256):
        warnings.warn(
            f"{entry.tag}: {path} is unverified (no sha256 is known for {entry.url}); its sha256 is "
            f"{file_sha256(path)}: pass sha256=... to pin it", UserWarning, stacklevel=2,
        )
    return path
