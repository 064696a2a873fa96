"""The generators released by the CycleGAN and pix2pix authors, and how to load them.

Catalogue
---------
The names and URLs are those of the reference repository's download scripts
(junyanz/pytorch-CycleGAN-and-pix2pix, ``scripts/download_cyclegan_model.sh``
and ``scripts/download_pix2pix_model.sh``). Each file is the state dict of one
generator ``net_G`` (the reference saves ``net.module.state_dict()`` for a
``DataParallel`` net, so there is normally no ``module.`` prefix):

* CycleGAN (``/cyclegan/pretrained_models/{name}.pth``, 18 files): the
  reference's ``resnet_9blocks`` with instance norm, 3 -> 3 channels, no dropout
  (its CycleGAN defaults ``--netG resnet_9blocks --norm instance --ngf 64``,
  ``no_dropout=True``; the README tests them with ``--model test --no_dropout``).
  A file holds one direction only, e.g. ``horse2zebra`` is G_A: horse -> zebra.
* pix2pix (``/pix2pix/models-pytorch/{name}.pth``, 5 files): ``unet_256``
  (8 levels) with batch norm, 3 -> 3 channels, dropout (its pix2pix defaults
  ``--netG unet_256 --norm batch``, ``scripts/test_single.sh`` passes the same).

Checksums: the authors publish none, and the files could not be downloaded
where this module was written, so every ``sha256`` in the catalogue is ``None``.
:func:`fetch_weights` checks a ``sha256=`` given by the caller (on the cached
file as on a fresh download) and verifies nothing otherwise; pin one once you
trust a file (:func:`file_sha256`).

Files are cached under ``$ZOO_CACHE_DIR/weights/<model>/<name>.pth`` (default
``~/.cache/zoo/weights``, the same root as the metrics' caches). Offline, put
the file there yourself: :class:`WeightsUnavailableError` says where.

Functions
---------
* :func:`list_pretrained`, :func:`get_weights`: the catalogue.
* :func:`fetch_weights`: the cached file, downloaded if needed.
* :func:`map_reference_state_dict`, :func:`load_reference_generator`: the
  reference's key names -> ours (``generator.reference_names()``), checked.
* :func:`pretrained_generator`: all of it, by name or by path. See ``docs/pretrained.md``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import torch
from torch import Tensor, nn

from zoo.nn.translation import ResnetGenerator, UnetGenerator
from zoo.registry import UnknownNameError

ReleasedModel = Literal["cyclegan", "pix2pix"]

CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{name}.pth"
PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{name}.pth"

#: The generator every released file of a model was trained with.
NETWORKS: dict[str, tuple[type[nn.Module], Mapping[str, Any]]] = {
    "cyclegan": (
        ResnetGenerator,
        MappingProxyType({"in_channels": 3, "out_channels": 3, "base_channels": 64, "num_blocks": 9,
                          "norm": "instance", "dropout": False, "padding": "reflect"}),
    ),
    "pix2pix": (
        UnetGenerator,
        MappingProxyType({"in_channels": 3, "out_channels": 3, "num_downs": 8, "base_channels": 64,
                          "norm": "batch", "dropout": True}),
    ),
}


class WeightsUnavailableError(FileNotFoundError):
    """Released weights are neither in the cache nor downloadable; the message names the URL and the path."""


class ChecksumError(ValueError):
    """A weights file's sha256 differs from the expected one."""


class StateDictMismatchError(ValueError):
    """A reference state dict does not fit the generator; the message lists the offending keys."""


@dataclass(frozen=True)
class PretrainedWeights:
    """One released generator: where it is and which network it fits.

    Attributes:
        model: ``"cyclegan"`` or ``"pix2pix"``.
        name: the authors' name, e.g. ``"horse2zebra"``.
        url: where the authors host the ``.pth`` state dict.
        network: class of the generator (:class:`ResnetGenerator` or :class:`UnetGenerator`).
        kwargs: its constructor arguments.
        direction: what the generator translates, in words.
        sha256: expected checksum of the file, ``None`` when unknown (all of them today).
    """

    model: ReleasedModel
    name: str
    url: str
    network: type[nn.Module]
    kwargs: Mapping[str, Any] = field(hash=False)
    direction: str
    sha256: str | None = None

    @property
    def tag(self) -> str:
        """``"model.name"``, e.g. ``"cyclegan.horse2zebra"`` (names repeat across models)."""
        return f"{self.model}.{self.name}"

    def build_generator(self) -> nn.Module:
        """A freshly initialised generator of the right architecture (weights not loaded)."""
        return self.network(**self.kwargs)


def _cyclegan(name: str, direction: str) -> PretrainedWeights:
    network, kwargs = NETWORKS["cyclegan"]
    return PretrainedWeights("cyclegan", name, CYCLEGAN_URL.format(name=name), network, kwargs, direction)


def _pix2pix(name: str, direction: str) -> PretrainedWeights:
    network, kwargs = NETWORKS["pix2pix"]
    return PretrainedWeights("pix2pix", name, PIX2PIX_URL.format(name=name), network, kwargs, direction)


_CATALOGUE: tuple[PretrainedWeights, ...] = (
    # CycleGAN: scripts/download_cyclegan_model.sh, in its order.
    _cyclegan("apple2orange", "apple photo -> orange photo (ImageNet)"),
    _cyclegan("orange2apple", "orange photo -> apple photo (ImageNet)"),
    _cyclegan("summer2winter_yosemite", "summer -> winter Yosemite photo (Flickr)"),
    _cyclegan("winter2summer_yosemite", "winter -> summer Yosemite photo (Flickr)"),
    _cyclegan("horse2zebra", "horse photo -> zebra photo (ImageNet)"),
    _cyclegan("zebra2horse", "zebra photo -> horse photo (ImageNet)"),
    _cyclegan("monet2photo", "Monet painting -> photo"),
    _cyclegan("style_monet", "photo -> Monet-style painting"),
    _cyclegan("style_cezanne", "photo -> Cezanne-style painting"),
    _cyclegan("style_ukiyoe", "photo -> Ukiyo-e-style painting"),
    _cyclegan("style_vangogh", "photo -> Van Gogh-style painting"),
    _cyclegan("sat2map", "satellite photo -> Google map (maps)"),
    _cyclegan("map2sat", "Google map -> satellite photo (maps)"),
    _cyclegan("cityscapes_photo2label", "street photo -> semantic label map (Cityscapes)"),
    _cyclegan("cityscapes_label2photo", "semantic label map -> street photo (Cityscapes)"),
    _cyclegan("facades_photo2label", "facade photo -> label map (CMP Facades)"),
    _cyclegan("facades_label2photo", "label map -> facade photo (CMP Facades)"),
    _cyclegan("iphone2dslr_flower", "iPhone flower photo -> DSLR-style shallow depth of field"),
    # pix2pix: scripts/download_pix2pix_model.sh.
    _pix2pix("edges2shoes", "edge map -> shoe photo (UT Zappos50K)"),
    _pix2pix("sat2map", "satellite photo -> Google map (maps)"),
    _pix2pix("map2sat", "Google map -> satellite photo (maps)"),
    _pix2pix("facades_label2photo", "label map -> facade photo (CMP Facades)"),
    _pix2pix("day2night", "daytime photo -> night photo (Laffont et al. webcams)"),
)

CATALOGUE: dict[str, dict[str, PretrainedWeights]] = {}
for _entry in _CATALOGUE:
    CATALOGUE.setdefault(_entry.model, {})[_entry.name] = _entry


def _check_model(model: str) -> dict[str, PretrainedWeights]:
    if model not in CATALOGUE:
        raise UnknownNameError(
            f"no released weights for model {model!r}; valid choices: {', '.join(sorted(CATALOGUE))}"
        )
    return CATALOGUE[model]


def list_pretrained(model: str | None = None) -> list[str]:
    """Sorted names of the released generators of ``model``; with no model, every ``"model.name"`` tag."""
    if model is None:
        return sorted(entry.tag for entries in CATALOGUE.values() for entry in entries.values())
    return sorted(_check_model(model))


def get_weights(model: str, name: str) -> PretrainedWeights:
    """The catalogue entry ``model`` / ``name``.

    An unknown model or name raises :class:`~zoo.registry.UnknownNameError` listing the valid ones.
    """
    entries = _check_model(model)
    if name not in entries:
        raise UnknownNameError(
            f"no released {model} weights named {name!r}; valid choices: {', '.join(sorted(entries))}"
        )
    return entries[name]


# --- files -------------------------------------------------------------------------


def weights_cache_dir() -> Path:
    """``$ZOO_CACHE_DIR/weights`` (default ``~/.cache/zoo/weights``)."""
    return Path(os.environ.get("ZOO_CACHE_DIR", Path.home() / ".cache" / "zoo")) / "weights"


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(path: Path, expected: str, what: str) -> None:
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
            _check_sha256(target, expected, "cached weights file")
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
            _check_sha256(target, expected, "downloaded weights file")
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


def pretrained_generator(
    model: str,
    weights: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    sha256: str | None = None,
) -> nn.Module:
    """A released generator, loaded and in eval mode.

    ``weights`` is a catalogue name (``"horse2zebra"``: fetched with
    :func:`fetch_weights`) or the path of a reference ``.pth`` file (offline use;
    the network is the one all of ``model``'s released files use).
    """
    _check_model(model)
    path = Path(weights).expanduser()
    if path.suffix == ".pth" or path.exists():
        if sha256:
            _check_sha256(path, sha256, "weights file")
        network, kwargs = NETWORKS[model]
        generator, source = network(**kwargs), path
    else:
        entry = get_weights(model, str(weights))
        generator, source = entry.build_generator(), fetch_weights(entry, cache_dir, progress, sha256)
    return load_reference_generator(source, generator).eval()
