"""Name -> class registries (models here, data sets in :mod:`datamodules.registry`).

A registry maps a lowercase name such as ``"cgan"`` to a typed entry: the class
and what the zoo needs to know about it without building it. Unknown names
raise an error that lists the valid ones; registering a name twice is an error.
This module is the lowest layer of the package: it imports nothing of the zoo,
so models and data sets can register themselves without import cycles (the
role of timm's ``_registry.py``). The functions that need the built-in models
imported (``zoo.list_models``, ``zoo.create_model``) live in :mod:`zoo.api`.

    >>> from zoo.registry import MODELS
    >>> import zoo.models  # registers the built-in models
    >>> MODELS.entry("cgan").default_data
    'digits'
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Generic, TypeVar

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class UnknownNameError(KeyError):
    """Raised for a name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


@dataclass(frozen=True)
class Entry:
    """One registered class: ``name`` -> ``cls`` and a one-line ``summary``."""

    name: str
    cls: type
    summary: str = ""

    @property
    def class_path(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"


@dataclass(frozen=True)
class ModelEntry(Entry):
    """A registered model.

    Attributes:
        default_data: the data set ``zoo.fit`` trains on when ``--data`` is not
            given (an embedded one, so every model trains offline with no flags).
        recipe: ``zoo.fit`` flags used with that default data only, e.g.
            ``{"model.lr": 5e-4, "trainer.max_steps": 4000}``: settings tuned for the
            small embedded task (the constructor defaults stay the paper's). Flags
            the user gives win. Why each value was chosen is in docs/models/.
        weights: the model's pretrained weights, declared in the model's own file next
            to its class (torchvision's weights-enum idea); objects with a ``name``
            attribute (:class:`zoo.weights.PretrainedWeights`).
    """

    default_data: str = "digits"
    recipe: Mapping[str, Any] = field(default_factory=dict)
    weights: Sequence[Any] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "recipe", MappingProxyType(dict(self.recipe)))
        object.__setattr__(self, "weights", tuple(self.weights))

    def recipe_flags(self) -> list[str]:
        """The recipe as command-line flags: ``["--model.lr", "0.0005", ...]``."""
        flags: list[str] = []
        for key, value in self.recipe.items():
            flags += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
        return flags

    def weights_names(self) -> list[str]:
        return [w.name for w in self.weights]

    def get_weights(self, name: str) -> Any:
        """The declared weights called ``name``; an unknown name lists the valid ones."""
        for weights in self.weights:
            if weights.name == name:
                return weights
        valid = ", ".join(sorted(self.weights_names())) or "none"
        raise UnknownNameError(f"no pretrained {self.name} weights named {name!r}; valid choices: {valid}")


E = TypeVar("E", bound=Entry)


class Registry(Generic[E]):
    """A closed set of named classes of one kind (``what`` is used in messages)."""

    def __init__(self, what: str, entry_type: type[E] = Entry) -> None:
        self.what = what
        self.entry_type = entry_type
        self._entries: dict[str, E] = {}

    def register(self, name: str, **fields: Any) -> Callable[[type], type]:
        """Class decorator: ``@registry.register("cgan", default_data="digits")``.

        ``fields`` are the entry type's fields; an unknown one is an error naming the valid ones.
        """
        if not _NAME.match(name):
            raise ValueError(f"{self.what} name {name!r} must be lowercase letters, digits and '_'")
        known = {f.name for f in dataclasses.fields(self.entry_type)} - {"name", "cls"}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise TypeError(f"unknown {self.what} entry field(s) {unknown}; valid: {', '.join(sorted(known))}")

        def decorator(cls: type) -> type:
            if name in self._entries:
                raise ValueError(
                    f"{self.what} {name!r} is already registered (by {self._entries[name].class_path})"
                )
            doc = (cls.__doc__ or "").strip().splitlines()
            summary = fields.pop("summary", "") or (doc[0] if doc else "")
            self._entries[name] = self.entry_type(name=name, cls=cls, summary=summary, **fields)
            return cls

        return decorator

    def names(self, pattern: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by a shell-style wildcard (``"*gan"``)."""
        names = sorted(self._entries)
        return fnmatch.filter(names, pattern) if pattern else names

    def entry(self, name: str) -> E:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown {self.what} {name!r}; valid choices: {', '.join(self.names())}"
            ) from None

    def get(self, name: str) -> type:
        return self.entry(name).cls

    def resolve(self, spec: str) -> E:
        """The entry of ``spec``: a registered name, or the class path of a registered class outside the
        package (``mypkg.mygan.MyGAN``): its module is imported, which registers it."""
        if spec in self._entries or "." not in spec:
            return self.entry(spec)
        module, _, name = spec.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as err:
            raise UnknownNameError(f"cannot import {self.what} {spec!r} ({err}); registered: {', '.join(self.names())}") from None
        entry = self.find_class(cls) if isinstance(cls, type) else None
        if entry is None or entry.cls is not cls:
            raise UnknownNameError(f"{spec} is not a registered {self.what} (decorate it with @register_{self.what})")
        return entry

    def find_class(self, cls: type) -> E | None:
        """The entry registered for ``cls`` (or its closest registered base class)."""
        for klass in cls.__mro__:
            for entry in self._entries.values():
                if entry.cls is klass:
                    return entry
        return None

    def name_of(self, obj: Any) -> str:
        """The registered name of ``obj``'s class, or its lowercased class name."""
        entry = self.find_class(type(obj))
        return entry.name if entry else type(obj).__name__.lower()

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[E]:
        return iter(self._entries[name] for name in self.names())


#: The model registry (filled by importing :mod:`zoo.models`).
MODELS: Registry[ModelEntry] = Registry("model", ModelEntry)


def register_model(
    name: str,
    *,
    default_data: str = "digits",
    recipe: Mapping[str, Any] | None = None,
    weights: Sequence[Any] = (),
    summary: str = "",
) -> Callable[[type], type]:
    """Register a :class:`~zoo.models.base.GANModule` subclass under ``name`` (see :class:`ModelEntry`)."""
    return MODELS.register(
        name, summary=summary, default_data=default_data, recipe=dict(recipe or {}), weights=tuple(weights)
    )
