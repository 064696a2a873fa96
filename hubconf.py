"""torch.hub entry points: one per registered model, each ``name(weights=None, **kwargs)``.

    import torch
    m = torch.hub.load("path/to/gan-zoo", "cgan", weights="digits", source="local")   # a clone, offline
    m = torch.hub.load("<owner>/gan-zoo", "cgan", weights="digits")                   # from GitHub
    m = torch.hub.load("path/to/gan-zoo", "cgan", source="local", image_shape=(3, 64, 64), num_classes=5)

With ``weights`` (a declared name such as ``"digits"``, or a weights file) an entry point is
``zoo.load(name, weights=...)``: the model's LightningModule with those weights, in eval mode.
Without, it is ``zoo.create_model(name, **kwargs)``: a fresh, untrained module.
``torch.hub.list("<owner>/gan-zoo")`` lists the entry points (GitHub only), ``zoo.list_pretrained()`` the weights.
"""

from __future__ import annotations

from typing import Any, Callable

import zoo as _zoo

dependencies = ["torch", "torchvision", "lightning", "torchmetrics"]


def _entry_point(name: str) -> Callable[..., Any]:
    def entry(weights: str | None = None, **kwargs: Any):
        return _zoo.create_model(name, weights=weights, **kwargs)

    entry.__name__ = entry.__qualname__ = name
    declared = _zoo.list_pretrained(name) if name in _zoo.list_models(pretrained=True) else []
    capabilities = _zoo.get_model_class(name).capabilities  # what the model is, as its class declares it
    use = "translate(images)" if capabilities.translates else f"sample(n{''.join(f', {c}=...' for c in capabilities.conditions)})"
    article = "an" if capabilities.task[0] in "aeiou" else "a"
    entry.__doc__ = (f"``zoo.create_model({name!r}, weights=None, **kwargs)``: {article} {capabilities.task} model "
                     f"(``{use}``), pretrained with ``weights``, else untrained. "
                     f"Declared weights: {', '.join(declared) or 'none'}.")
    return entry


acgan = _entry_point("acgan")
biggan = _entry_point("biggan")
cgan = _entry_point("cgan")
cyclegan = _entry_point("cyclegan")
dcgan = _entry_point("dcgan")
gan = _entry_point("gan")
infogan = _entry_point("infogan")
pix2pix = _entry_point("pix2pix")
progan = _entry_point("progan")
sgan = _entry_point("sgan")
