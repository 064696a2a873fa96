"""The GAN model zoo: train, compare and reuse the classic GAN variants.

Public surface::

    import zoo
    zoo.list_models()                          # ['cgan', ...]
    model = zoo.create_model("cgan", image_shape=(1, 32, 32), num_classes=10)
    model = zoo.load("runs/cgan/digits/version_0/checkpoints/last.ckpt")
    images = model.sample(16, labels=torch.arange(16) % 10)
"""

from __future__ import annotations

from pathlib import Path

from zoo.registry import create_model, get_model_class, list_models, register_model

__version__ = "0.1.0"
__all__ = ["create_model", "get_model_class", "list_models", "load", "register_model"]


def load(source: str | Path, *, weights: str | Path | None = None, map_location: str = "cpu", **kwargs):
    """Load a trained model: a checkpoint of ``python -m zoo.fit``, or released weights.

    * ``zoo.load("runs/.../last.ckpt")``: the LightningModule of that run.
    * ``zoo.load("cyclegan", weights="horse2zebra")`` / ``zoo.load("pix2pix",
      weights="facades_label2photo")``: the reference authors' released generator
      (``zoo.weights``; downloaded once into the cache, sha256-checked when known)
      in a module of the matching architecture. ``weights`` may also be the path
      of such a ``.pth`` file (offline). A released CycleGAN file holds one
      direction, so the module translates ``"AtoB"`` only.
    * ``**kwargs``: passed to ``zoo.weights.pretrained_generator`` (``cache_dir``,
      ``progress``, ``sha256``).

    Returns the module in eval mode on ``map_location``, ready for ``sample()`` or ``translate()``.
    """
    from zoo.checkpoints import load_checkpoint

    if weights is not None:
        return _load_released(str(source), weights, **kwargs).to(map_location)
    path = Path(source)
    if path.suffix == ".ckpt" or path.exists():
        return load_checkpoint(path, map_location=map_location)
    if str(source) in list_models():
        from zoo.weights import list_pretrained

        released = ", ".join(list_pretrained()) or "none"
        raise ValueError(
            f"zoo.load({str(source)!r}) needs weights=...: a checkpoint path written by `python -m zoo.fit`, "
            f"or released weights (available: {released})"
        )
    raise FileNotFoundError(
        f"{source!r} is neither a checkpoint file nor a registered model ({', '.join(list_models())})"
    )


def _load_released(model: str, weights: str | Path, **kwargs):
    """A module of ``model`` around a released generator (see :func:`load`)."""
    from zoo.weights import NETWORKS, pretrained_generator

    if model not in NETWORKS:
        raise ValueError(
            f"no released weights for {model!r}; models with released weights: {', '.join(sorted(NETWORKS))}"
        )
    generator = pretrained_generator(model, weights, **kwargs)
    net = NETWORKS[model][1]
    channels = {"in_channels": net["in_channels"], "out_channels": net["out_channels"]}
    if model == "cyclegan":
        module = create_model("cyclegan", num_blocks=net["num_blocks"], **channels)
        module.directions = ("AtoB",)  # a released file holds G only
    else:
        module = create_model("pix2pix", image_size=2 ** net["num_downs"], **channels)
    module.generator = generator
    return module.eval()
