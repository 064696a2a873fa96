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


def load(source: str | Path, *, map_location: str = "cpu"):
    """Load a trained model from a checkpoint path written by ``python -m zoo.fit``.

    Returns the model's LightningModule in eval mode, ready for ``sample()``.
    A registered model name is not enough: no pretrained weights are published
    for the zoo's models yet, so a name raises an error saying so.
    """
    from zoo.checkpoints import load_checkpoint

    path = Path(source)
    if path.suffix == ".ckpt" or path.exists():
        return load_checkpoint(path, map_location=map_location)
    if str(source) in list_models():
        raise ValueError(
            f"no pretrained weights are published for {source!r} yet; "
            "pass the path of a checkpoint written by `python -m zoo.fit`"
        )
    raise FileNotFoundError(
        f"{source!r} is neither a checkpoint file nor a registered model ({', '.join(list_models())})"
    )
