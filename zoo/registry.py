"""Name -> builder registries for models (and, through the same class, data sets).

A registry maps a lowercase name such as ``"cgan"`` to a class and a little
metadata (its default DataModule, a one-line summary).  Unknown names raise an
error that lists the valid ones; registering a name twice is an error.

    >>> import zoo
    >>> "cgan" in zoo.list_models()
    True
    >>> model = zoo.create_model("cgan", image_shape=(1, 32, 32), num_classes=10)
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class UnknownNameError(KeyError):
    """Raised for a name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered item: ``name`` -> ``cls`` plus metadata."""

    name: str
    cls: type[T]
    summary: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def class_path(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"


class Registry(Generic[T]):
    """A closed set of named classes of one kind (``what`` is used in messages)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, *, summary: str = "", **meta: Any) -> Callable[[type[T]], type[T]]:
        """Class decorator: ``@registry.register("cgan", default_data="digits")``."""
        if not _NAME.match(name):
            raise ValueError(f"{self.what} name {name!r} must be lowercase letters, digits and '_'")

        def decorator(cls: type[T]) -> type[T]:
            if name in self._entries:
                raise ValueError(
                    f"{self.what} {name!r} is already registered (by {self._entries[name].class_path})"
                )
            doc = (cls.__doc__ or "").strip().splitlines()
            self._entries[name] = Entry(name, cls, summary or (doc[0] if doc else ""), dict(meta))
            return cls

        return decorator

    def names(self, pattern: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by a shell-style wildcard (``"*gan"``)."""
        names = sorted(self._entries)
        return fnmatch.filter(names, pattern) if pattern else names

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown {self.what} {name!r}; valid choices: {', '.join(self.names())}"
            ) from None

    def get(self, name: str) -> type[T]:
        return self.entry(name).cls

    def find_class(self, cls: type) -> Entry[T] | None:
        """The entry registered for ``cls`` (or its closest registered base class)."""
        for klass in cls.__mro__:
            for entry in self._entries.values():
                if entry.cls is klass:
                    return entry
        return None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(self._entries[name] for name in self.names())


# --- the model registry ------------------------------------------------------------

MODELS: Registry = Registry("model")


def register_model(
    name: str,
    *,
    default_data: str = "digits",
    default_recipe: dict[str, Any] | None = None,
    summary: str = "",
    **meta: Any,
):
    """Register a :class:`~zoo.models.base.GANModule` subclass under ``name``.

    ``default_data`` names the DataModule used when ``--data`` is not given (the
    embedded one, so every model trains offline with no flags). ``default_recipe``
    holds ``zoo.fit`` flags used with that default data only, e.g.
    ``{"model.generator_channels": 16, "trainer.max_steps": 3000}``: networks sized
    for the small embedded task (the constructor defaults stay the paper's). Flags the
    user gives win over the recipe.
    """
    return MODELS.register(
        name, summary=summary, default_data=default_data, default_recipe=dict(default_recipe or {}), **meta
    )


def recipe_flags(name: str) -> list[str]:
    """The ``default_recipe`` of model ``name`` as command-line flags (``["--model.x", "1", ...]``)."""
    flags: list[str] = []
    for key, value in MODELS.entry(name).meta.get("default_recipe", {}).items():
        flags += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    return flags


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, sorted; ``pattern`` is a wildcard such as ``"*gan"``."""
    _import_builtin_models()
    return MODELS.names(pattern)


def get_model_class(name: str) -> type:
    """The class registered as ``name``; unknown names raise :class:`UnknownNameError`."""
    _import_builtin_models()
    return MODELS.get(name)


def create_model(name: str, **kwargs: Any):
    """Build the model registered as ``name`` with its constructor keyword arguments."""
    return get_model_class(name)(**kwargs)


def _import_builtin_models() -> None:
    import zoo.models  # noqa: F401  (registers the built-in models on import)
