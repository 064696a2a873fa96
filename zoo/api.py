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
from zoo.weights import PretrainedWeights, fetch_weights, load_reference_generator, check_sha256

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


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, sorted; ``pattern`` is a wildcard such as ``"*gan"``."""
    return MODELS.names(pattern)


def model_entry(name: str) -> ModelEntry:
    """The registry entry of ``name`` (class, default data, recipe, weights)."""
    return MODELS.entry(name)


def get_model_class(name: str) -> type:
    """The class registered as ``name``; unknown names raise :class:`~zoo.registry.UnknownNameError`."""
    return MODELS.get(name)


def create_model(name: str, **kwargs: Any):
    """Build the model registered as ``name`` with its constructor keyword arguments."""
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


def list_pretrained(model: str | None = None) -> list[str]:
    """Sorted names of ``model``'s pretrained weights; with no model, every ``"model.name"`` tag."""
    if model is None:
        return sorted(f"{entry.name}.{w.name}" for entry in MODELS for w in entry.weights)
    return sorted(_weighted_entry(model).weights_names())


def get_weights(model: str, name: str) -> PretrainedWeights:
    """The weights ``name`` declared by ``model``; unknown names list the valid ones."""
    return _weighted_entry(model).get_weights(name)


def pretrained_generator(
    model: str,
    weights: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    sha256: str | None = None,
) -> nn.Module:
    """A released generator, loaded strictly and in eval mode.

    ``weights`` is a declared name (``"horse2zebra"``: fetched with
    :func:`zoo.weights.fetch_weights`) or the path of a reference ``.pth`` file
    (offline use; the network is the one all of ``model``'s declared files use).
    """
    entry = _weighted_entry(model)
    path = Path(weights).expanduser()
    if path.suffix == ".pth" or path.exists():
        if sha256:
            check_sha256(path, sha256, "weights file")
        declared, source = entry.weights[0], path
    else:
        declared = entry.get_weights(str(weights))
        source = fetch_weights(declared, cache_dir, progress, sha256)
    return load_reference_generator(source, declared.build_generator()).eval()


# --- loading ------------------------------------------------------------------------


def load(source: str | Path, *, weights: str | Path | None = None, map_location: str = "cpu", **kwargs: Any):
    """Load a trained model: a checkpoint of ``python -m zoo.fit``, or pretrained weights.

    * ``zoo.load("runs/.../last.ckpt")``: the LightningModule of that run.
    * ``zoo.load("cyclegan", weights="horse2zebra")`` / ``zoo.load("pix2pix",
      weights="facades_label2photo")``: a declared generator (downloaded once into
      the cache, sha256-checked when known) in a module of the matching architecture,
      built by the model class's ``from_pretrained_generator``. ``weights`` may also be
      the path of such a ``.pth`` file (offline).
    * ``**kwargs``: passed to :func:`pretrained_generator` (``cache_dir``, ``progress``, ``sha256``),
      or for a checkpoint to :func:`zoo.checkpoints.load_checkpoint` (``allow_non_finite``: load a
      diverged run's non-finite generator anyway).

    Returns the module in eval mode on ``map_location``, ready for ``sample()`` or ``translate()``.
    """
    if weights is not None:
        entry = _weighted_entry(str(source))
        generator = pretrained_generator(entry.name, weights, **kwargs)
        declared = entry.weights[0]
        return entry.cls.from_pretrained_generator(generator, dict(declared.kwargs)).eval().to(map_location)
    path = Path(source)
    if path.suffix == ".ckpt" or path.exists():
        return load_checkpoint(path, map_location=map_location, **kwargs)
    if str(source) in MODELS:
        released = ", ".join(list_pretrained()) or "none"
        raise ValueError(
            f"zoo.load({str(source)!r}) needs weights=...: a checkpoint path written by `python -m zoo.fit`, "
            f"or pretrained weights (available: {released})"
        )
    raise FileNotFoundError(
        f"{source!r} is neither a checkpoint file nor a registered model ({', '.join(list_models())})"
    )
