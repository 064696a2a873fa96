"""State dicts checked and renamed (plain torch): the one strict check every loader uses, and the
reference code's key names -> ours.

* :func:`check_state_dict`: ``given`` must have exactly ``expected``'s keys and shapes;
  :class:`StateDictMismatchError` names each missing, unexpected or mis-shaped key
  (``GANModule.load_pretrained_state``, :func:`zoo.weights.read_packaged` and the
  mapping below all go through it).
* :func:`map_reference_state_dict`, :func:`load_reference_generator`: a ``net_G``
  state dict released by the CycleGAN / pix2pix authors, its keys renamed with
  ``generator.reference_names()`` (:mod:`zoo.nn.translation`), checked strictly.

:mod:`zoo.weights` re-exports every public name here (``from zoo.weights import
check_state_dict`` keeps working). See ``docs/pretrained.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn


class StateDictMismatchError(ValueError):
    """A reference state dict does not fit the generator; the message lists the offending keys."""


def check_state_dict(
    given: Mapping[str, Tensor],
    expected: Mapping[str, Tensor],
    what: str,
    optional: set[str] | frozenset[str] = frozenset(),
    names: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`StateDictMismatchError` unless ``given`` has exactly ``expected``'s keys and shapes.

    ``what`` starts the message; every missing key (except those in ``optional``), every
    unexpected key and every shape that differs is listed. ``names`` maps a key to the
    name of the tensor it fills, shown next to shape mismatches.
    """
    names = names or {}
    missing = [key for key in expected if key not in given and key not in optional]
    unexpected = [key for key in given if key not in expected]
    wrong_shape = [
        f"{key}: file {tuple(given[key].shape)}, {names.get(key, 'expected')} {tuple(expected[key].shape)}"
        for key in given if key in expected and given[key].shape != expected[key].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    if wrong_shape:
        problems.append("shape mismatches: " + "; ".join(wrong_shape))
    if problems:
        raise StateDictMismatchError(f"{what}:\n" + "\n".join(problems))


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

    expected = {ref: ours[key] for ref, key in wanted.items()}
    optional = {ref for ref, key in wanted.items() if key.endswith(".num_batches_tracked")}
    check_state_dict(given, expected, f"the reference state dict does not fit {type(generator).__name__} "
                     "(check the network arguments: channels, blocks / levels, norm)", optional=optional,
                     names={ref: key for ref, key in wanted.items()})
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
