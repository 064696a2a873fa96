"""The GAN model zoo: train, compare and reuse the classic GAN variants.

Public surface::

    import zoo
    zoo.list_models()                          # ['acgan', 'cgan', ...]
    model = zoo.create_model("cgan", image_shape=(1, 32, 32), num_classes=10)
    model = zoo.load("runs/cgan/digits/version_0/checkpoints/last.ckpt")
    images = model.sample(16, labels=torch.arange(16) % 10)

The names are resolved lazily from :mod:`zoo.api` (PEP 562), so importing a
low layer such as ``zoo.nn`` or ``zoo.losses`` does not import the models, and
the package ``__init__`` imports nothing (see docs/architecture.md#layers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = ("create_model", "get_model_class", "get_weights", "list_models", "list_pretrained", "load")
__all__ = sorted([*_API, "register_model"])

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load on first use
    from zoo.api import create_model, get_model_class, get_weights, list_models, list_pretrained, load  # noqa: F401
    from zoo.registry import register_model  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _API:
        import zoo.api

        value = getattr(zoo.api, name)
    elif name == "register_model":
        from zoo.registry import register_model as value
    else:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
