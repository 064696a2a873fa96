"""The public functions of the zoo (re-exported as ``zoo.create_model``, ``zoo.load``, ...).

They sit above :mod:`zoo.models`: importing this module registers the built-in
models, so every name below sees all of them.

    >>> import zoo
    >>> zoo.list_models("*gan")[:3]
    ['acgan', 'cgan', 'cyclegan']
    >>> model = zoo.create_model("cgan", image_shape=(1, 32, 32), num_classes=10)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import nn

import zoo.models  # noqa: F401  (registers the built-in models)
from zoo.checkpoints import load_checkpoint
from zoo.registry import MODELS, ModelEntry, UnknownNameError
from zoo.weights import (
    PretrainedWeights,
    StateDictMismatchError,
    check_sha256,
    load_reference_generator,
    packaged_payload,
    read_packaged,
    weights_file,
)

__all__ = [
    "create_model",
    "get_model_class",
    "get_weights",
    "list_models",
    "list_pretrained",
    "load",
    "model_entry",
    "pretrained_generator",
]


def list_models(pattern: str | None = None, *, pretrained: bool = False) -> list[str]:
    """Registered model names, sorted; ``pattern`` is a wildcard such as ``"*gan"``;
    ``pretrained=True`` keeps the models with declared weights."""
    names = MODELS.names(pattern)
    return [n for n in names if MODELS.entry(n).weights] if pretrained else names


def model_entry(name: str) -> ModelEntry:
    """The registry entry of ``name`` (class, default data, recipe, weights)."""
    return MODELS.entry(name)


def get_model_class(name: str) -> type:
    """The class registered as ``name``; unknown names raise :class:`~zoo.registry.UnknownNameError`."""
    return MODELS.get(name)


def create_model(name: str, *, weights: str | os.PathLike | None = None, **kwargs: Any):
    """Build the model registered as ``name`` with its constructor keyword arguments.

    ``weights="digits"`` (or ``name="cgan.digits"``) loads pretrained weights instead, as
    :func:`load` does; the architecture is then the weights' own, so no other argument is taken.
    """
    model, tag_weights = _split_tag(name)
    weights = weights if weights is not None else tag_weights
    if weights is not None:
        if kwargs:
            raise TypeError(
                f"create_model({name!r}, weights={str(weights)!r}) takes no constructor arguments "
                f"(got {', '.join(sorted(kwargs))}): the weights fix the architecture"
            )
        return load(model, weights=weights)
    return get_model_class(name)(**kwargs)


# --- pretrained weights -------------------------------------------------------------


def _models_with_weights() -> list[str]:
    return [entry.name for entry in MODELS if entry.weights]


def _weighted_entry(model: str) -> ModelEntry:
    entry = MODELS.entry(model)
    if not entry.weights:
        raise UnknownNameError(
            f"no pretrained weights for model {model!r}; valid choices: {', '.join(_models_with_weights())}"
        )
    return entry


def _split_tag(name: str) -> tuple[str, str | None]:
    """``"cgan.digits"`` -> ``("cgan", "digits")``; a plain model name -> ``(name, None)``."""
    model, dot, weights = str(name).partition(".")
    return (model, weights) if dot and model in MODELS else (str(name), None)


def list_pretrained(model: str | None = None, *, details: bool = False) -> list[str] | list[dict[str, Any]]:
    """Every declared weight as a ``"model.name"`` tag (timm's style), sorted; ``model`` narrows it
    to one model. ``details=True`` gives one dict per weight instead (tag, data, resolution,
    metrics, protocol, where, size_bytes, sha256, command, source, licence)."""
    entries = [w for entry in MODELS for w in entry.weights] if model is None else list(_weighted_entry(model).weights)
    entries.sort(key=lambda w: w.tag)
    return [w.info() for w in entries] if details else [w.tag for w in entries]


def get_weights(model: str, name: str | None = None) -> PretrainedWeights:
    """The weights ``name`` declared by ``model`` (or one tag, ``get_weights("cgan.digits")``);
    unknown names list the valid ones."""
    if name is None:
        model, name = _split_tag(model)
        if name is None:
            raise UnknownNameError(
                f"{model!r} is not a weights tag (model.name); valid choices: {', '.join(list_pretrained())}"
            )
    return _weighted_entry(model).get_weights(name)


def pretrained_generator(
    model: str,
    weights: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    sha256: str | None = None,
) -> nn.Module:
    """A pretrained generator alone, loaded strictly and in eval mode.

    ``weights`` is a declared name (``"horse2zebra"``, ``"digits"``) or the path of a file: a
    reference ``.pth`` state dict (the network is the one all of ``model``'s released files
    use) or a zoo weights file. It is the ``export_network()`` of the module :func:`load` gives
    (the EMA generator where kept; the released network itself for a reference file).
    """
    module = _from_weights(_weighted_entry(model), weights, cache_dir=cache_dir, progress=progress, sha256=sha256)
    return module.export_network().eval()


def _load_packaged(path: Path, declared: PretrainedWeights | None, model: str | None = None,
                   payload: dict[str, Any] | None = None):
    """A zoo weights file -> the model's LightningModule, built with the declared (else the file's)
    constructor arguments, the file's tensors loaded strictly. ``model`` (or the declaration's) must be
    the file's model; ``payload`` is the file's contents when already read."""
    payload = payload if payload is not None else read_packaged(path)
    expected = declared.model if declared is not None else model
    if expected is not None and payload["model"] != expected:
        raise StateDictMismatchError(f"{path} holds {payload['model']!r} weights, not {expected!r} ones")
    cls = get_model_class(payload["model"])
    module = cls(**(dict(declared.kwargs) if declared is not None else payload["hparams"]))
    module.load_pretrained_state(payload["state_dict"], what=f"the weights in {path}")
    module.weights_meta = dict(payload["meta"], tag=declared.tag if declared else None, file=str(path))
    return module


def _from_reference(entry: ModelEntry, declared: PretrainedWeights, file: Path):
    """A module around a generator released by a paper's authors (a reference-format state dict)."""
    generator = load_reference_generator(file, declared.build_generator()).eval()
    return entry.cls.from_pretrained_generator(generator, dict(declared.kwargs))


def _from_weights(entry: ModelEntry, weights: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None,
                  progress: bool = True, sha256: str | None = None):
    """``entry``'s module with ``weights``: a declared name (packaged, or hosted and downloaded once) or a
    file the user has (a zoo weights file, or a reference ``.pth`` of one of the model's released networks)."""
    path = Path(weights).expanduser()
    if path.suffix in (".pth", ".pt") or path.exists():  # a file the user has
        if not path.is_file():
            raise FileNotFoundError(f"no weights file at {path}")
        if sha256:
            check_sha256(path, sha256, "weights file")
        payload = packaged_payload(path)
        if payload is not None:
            return _load_packaged(path, None, model=entry.name, payload=payload)
        released = next((w for w in entry.weights if w.reference_format), None)
        if released is None:
            raise StateDictMismatchError(f"{path} is not a gan-zoo weights file, and {entry.name} has no "
                                         "reference-format weights it could be")
        return _from_reference(entry, released, path)
    declared = entry.get_weights(str(weights))
    file = weights_file(declared, cache_dir, progress, sha256)
    return _from_reference(entry, declared, file) if declared.reference_format else _load_packaged(file, declared)


# --- loading ------------------------------------------------------------------------


def load(source: str | Path, *, weights: str | Path | None = None, map_location: str = "cpu", **kwargs: Any):
    """Load a trained model: pretrained weights, a weights file, or a checkpoint of ``python -m zoo.fit``.

    * ``zoo.load("cgan", weights="digits")`` or ``zoo.load("cgan.digits")``: declared weights.
      Packaged ones ship inside the package (offline); hosted ones (the CycleGAN / pix2pix
      authors' ``"horse2zebra"``, ...) are downloaded once into the cache. Every file is
      sha256-checked where the hash is known.
    * ``zoo.load("cgan", weights="/path/to/file")``: a zoo weights file, or a reference ``.pth``.
    * ``zoo.load("path/to/cgan.digits.pt")``: a zoo weights file (its own constructor arguments).
    * ``zoo.load("runs/.../last.ckpt")``: the LightningModule of that training run (a model outside
      the package is imported from the class path the checkpoint records).
    * ``**kwargs``: for weights, ``cache_dir``, ``progress``, ``sha256`` (see
      :func:`zoo.weights.weights_file`); for a checkpoint, :func:`zoo.checkpoints.load_checkpoint`'s
      (``allow_non_finite``: load a diverged run's non-finite generator anyway).

    Returns the model's training LightningModule in eval mode on ``map_location``, ready for
    ``sample()`` / ``translate()`` / ``classify()`` as the variant offers; its generator is
    ``.generator`` (``export_network()`` gives the one sampling uses).
    """
    if weights is None:
        model, tag_weights = _split_tag(str(source))
        if tag_weights is not None and not Path(source).exists():
            source, weights = model, tag_weights
    if weights is not None:  # declared weights, or a weights file for a named model
        module = _from_weights(_weighted_entry(str(source)), weights, **kwargs)
        return module.eval().to(map_location)
    path = Path(source)
    payload = packaged_payload(path) if path.suffix == ".pt" and path.is_file() else None
    if payload is not None:  # a zoo weights file on its own
        return _load_packaged(path, None, payload=payload).eval().to(map_location)
    if path.suffix == ".ckpt" or path.exists():  # a checkpoint of zoo.fit
        return load_checkpoint(path, map_location=map_location, **kwargs)
    if str(source) in MODELS:
        released = ", ".join(list_pretrained(str(source))) if MODELS.entry(str(source)).weights else "none"
        raise ValueError(
            f"zoo.load({str(source)!r}) needs weights=...: one of {released}, a weights file, or load a "
            "checkpoint path written by `python -m zoo.fit`"
        )
    raise FileNotFoundError(
        f"{source!r} is neither a checkpoint file, a weights file, a weights tag (model.name: "
        f"{', '.join(list_pretrained())}) nor a registered model ({', '.join(list_models())})"
    )
