"""Load a trained module from a checkpoint written by ``zoo.fit`` (no training code runs).

Checkpoints carry everything needed: the model's constructor arguments
(``hyper_parameters``) and, under the ``"zoo"`` key, the registered name and
class path. Loading uses ``torch.load(weights_only=True)``, so a checkpoint
cannot execute code, and only registered model classes are instantiated: a
model outside the package (``mypkg.mygan.MyGAN``) is found by importing the
module its class path names, which must be importable (on ``PYTHONPATH``) and
register the class under the checkpoint's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

import zoo.models  # noqa: F401  (registers the built-in models)
from zoo.registry import MODELS, UnknownNameError


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu", *, allow_non_finite: bool = False):
    """Rebuild the :class:`~zoo.models.base.GANModule` saved at ``path``, in eval mode.

    A checkpoint whose generator weights hold NaN or infinity (a diverged run) is refused with
    a ``ValueError`` naming the tensor, unless ``allow_non_finite=True``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    meta = checkpoint.get("zoo")
    if not meta:
        raise ValueError(f"{path} was not written by zoo.fit (no 'zoo' entry); keys: {sorted(checkpoint)}")
    name = meta["name"]
    if name not in MODELS:  # a model outside the package: importing its module registers it
        try:
            MODELS.resolve(meta["class_path"])
        except UnknownNameError:
            pass  # reported below
    if name not in MODELS or MODELS.entry(name).class_path != meta["class_path"]:
        raise ValueError(
            f"{path} holds model {name!r} ({meta['class_path']}), which is not registered; "
            f"registered models: {', '.join(MODELS.names())}"
        )
    hparams: dict[str, Any] = {
        k: v for k, v in checkpoint.get("hyper_parameters", {}).items() if not k.startswith("_")
    }
    if not allow_non_finite:
        for key, value in checkpoint["state_dict"].items():
            if key.startswith("generator") and value.is_floating_point() and not torch.isfinite(value).all():
                raise ValueError(
                    f"{path}: {key} holds non-finite values (a diverged run); pass allow_non_finite=True to load it anyway"
                )
    module = MODELS.get(name)(**hparams)
    module.load_state_dict(checkpoint["state_dict"])
    return module.to(map_location).eval()
