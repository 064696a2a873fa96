"""What ``python -m zoo.fit`` settles before LightningCLI parses: the model and data chosen by name,
the recipe of the model's embedded data, and the links that carry the data's shape into the model.

The zoo adds four shorthands to LightningCLI's flags. A small ``argparse`` parser reads them first
(:func:`select`) and turns them into *parser defaults* (:meth:`Selection.defaults`); every other flag
goes to LightningCLI untouched, so a flag the user types always wins over a default, and
``--print_config`` shows the whole effective configuration, recipe included:

=================================  =================================================================
``--model NAME``                   a registered model (``zoo.list_models()``), a class name or a
                                   class path (a model outside the package: ``mypkg.mygan.MyGAN``)
``--data NAME|PATH``               a registered DataModule, a folder (its layout picks the DataModule)
                                   or a published set name (horse2zebra, facades, ...); without it,
                                   the model's embedded default data set *and its recipe*
``--metrics fid,kid``              ``--metrics.names [fid, kid]``
``--trainer.logger wandb``         the logger by the name users type: ``wandb``, ``tensorboard``,
                                   ``csv`` (``WandbLogger``, ... as LightningCLI knows them)
=================================  =================================================================

Data -> model links (:class:`DataLink`): the DataModule's ``image_shape``, ``num_classes``,
``input_channels``, ``output_channels`` and ``image_size`` become the model's constructor
arguments of the same meaning, for the arguments the chosen model has, through LightningCLI's
``link_arguments(..., apply_on="instantiate")``: the DataModule is built once, then the model from
it. The first link also checks that the model can train on that data (:func:`check_model_and_data`).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from datamodules import DATAMODULES
from datamodules.published import CYCLEGAN_DATASETS, PIX2PIX_DATASETS, datamodule_for
from zoo.registry import MODELS, ModelEntry, UnknownNameError

#: DataModule attribute -> model constructor argument, linked for the arguments the model has.
DATA_LINKS: dict[str, str] = {
    "image_shape": "image_shape",
    "num_classes": "num_classes",
    "input_channels": "in_channels",
    "output_channels": "out_channels",
    "image_size": "image_size",
}

#: ``--trainer.logger NAME``: the names users type -> Lightning's logger classes.
LOGGERS: dict[str, str] = {
    "wandb": "lightning.pytorch.loggers.WandbLogger",
    "tensorboard": "lightning.pytorch.loggers.TensorBoardLogger",
    "csv": "lightning.pytorch.loggers.CSVLogger",
    "mlflow": "lightning.pytorch.loggers.MLFlowLogger",
}

#: defaults that come with a value you type (a flag you type still wins over them), as ``(argument, value)``:
#: the original WGAN trains with RMSprop at 5e-5 and 5 critic steps per generator step (Arjovsky et al. 2017,
#: Algorithm 1); the projection cGAN of current practice (cGAN-PD: Miyato & Koyama 2018; mimicry, StudioGAN)
#: conditions G through its batch norms, normalises D spectrally and trains with the hinge loss.
FLAG_RECIPES: dict[tuple[str, str], dict[str, Any]] = {
    ("loss", "wgan"): {"lr": 5e-5, "n_critic": 5, "r1_weight": 0.0},
    ("conditioning", "projection"): {"generator_conditioning": "norm", "spectral_norm": True, "loss": "hinge"},
}

#: shared settings that only act with some losses: typing one with another loss is refused (it would do nothing)
LOSS_ONLY_SETTINGS: dict[str, tuple[str, ...]] = {"gp_weight": ("wgan-gp",), "weight_clip": ("wgan",)}

#: the Trainer arguments that end a run, and Lightning's own values for "no limit"
RUN_LIMITS: dict[str, Any] = {"max_steps": -1, "max_time": None, "max_epochs": None}


class UsageError(Exception):
    """A bad command line (unknown model or data set, nothing to resume, ...): status 2, no traceback."""


def import_class(class_path: str) -> type:
    module, _, name = class_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise UsageError(f"--model {class_path}: cannot import it ({err})") from None


@dataclass
class Selection:
    """The model and data chosen on the command line, and the arguments left for LightningCLI."""

    rest: list[str]
    model_class: type | None = None
    entry: ModelEntry | None = None
    data_class_path: str | None = None
    data_init_args: dict[str, Any] = field(default_factory=dict)
    data_name: str | None = None
    recipe: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] | None = None
    logger: str | None = None
    print_config: str | None = None  # ``--print_config[=skip_null]``: print the parsed configuration and exit

    def defaults(self) -> dict[str, Any]:
        """The parser defaults: the model and data class with the recipe's arguments, the recipe's
        Trainer values, the metrics and the logger."""
        out: dict[str, Any] = {}
        if self.model_class is not None:
            init = {k[len("model."):]: v for k, v in self.recipe.items() if k.startswith("model.")}
            out["model"] = {"class_path": f"{self.model_class.__module__}.{self.model_class.__qualname__}",
                            "init_args": init}
        if self.data_class_path is not None:
            init = {**self.data_init_args,
                    **{k[len("data."):]: v for k, v in self.recipe.items() if k.startswith("data.")}}
            out["data"] = {"class_path": self.data_class_path, "init_args": init}
        out.update({k: v for k, v in self.recipe.items() if k.startswith("trainer.")})
        if self.metrics is not None:
            out["metrics.names"] = self.metrics
        if self.logger is not None:
            out["trainer.logger"] = {"class_path": LOGGERS[self.logger]}
        return out

    def recipe_line(self, typed: dict[str, dict[str, Any]]) -> str | None:
        """One line naming the recipe values applied, those ``typed`` by the user left out (``None``
        without a recipe). ``typed``: ``{"model": {...}, "data": {...}, "trainer": {...}}``."""
        if not self.recipe or self.entry is None:
            return None
        applied = {k: v for k, v in self.recipe.items() if k.partition(".")[2] not in typed.get(k.partition(".")[0], {})}
        values = ", ".join(f"{k}={v}" for k, v in applied.items()) or "nothing (your flags set every value of it)"
        return (f"zoo.fit: {self.entry.name} on its embedded data set {self.data_name}: recipe {values} "
                f"(docs/models/{self.entry.name}.md)")


def _shorthand_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for flag in ("--model", "--data", "--metrics"):
        parser.add_argument(flag)
    parser.add_argument("--trainer.logger", dest="logger")
    # LightningCLI's --print_config prints before the defaults set here are expanded: zoo.fit prints after parsing
    parser.add_argument("--print_config", nargs="?", const="")
    return parser


def _config_files(args: Sequence[str]) -> list[str]:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("-c", "--config", action="append", default=[])
    return parser.parse_known_args(list(args))[0].config


def select(args: Sequence[str]) -> Selection:
    """Read the zoo's shorthands from ``args`` (see the module docstring); the rest is left as it was."""
    known, rest = _shorthand_parser().parse_known_args(list(args))
    configs = _config_files(rest)
    selection = Selection(rest=rest, print_config=known.print_config)
    for flag, value, is_native in (("--model", known.model, _structured(known.model)),
                                   ("--data", known.data, _structured(known.data)),
                                   ("--trainer.logger", known.logger, known.logger not in LOGGERS)):
        # (``--trainer.logger`` values other than the names above: false, a class name, a config)
        if value is not None and is_native:  # a form LightningCLI reads itself: hand it back, in front
            selection.rest = [flag, value, *selection.rest]
    if known.metrics is not None:
        if _structured(known.metrics) or known.metrics.lstrip().startswith("["):
            selection.rest = ["--metrics", known.metrics, *selection.rest]
        else:
            selection.metrics = [name.strip() for name in known.metrics.split(",") if name.strip()]
    if known.logger in LOGGERS:
        selection.logger = known.logger
    asking = known.print_config is not None or any(a in ("-h", "--help") for a in rest)
    model = known.model if known.model is not None and not _structured(known.model) else _model_in(configs)
    if model is None:
        if not configs and not asking and known.model is None:
            raise UsageError(f"choose a model with --model; valid choices: {', '.join(MODELS.names())}")
        return selection
    selection.model_class, selection.entry = _model(model)
    if known.data is not None and not _structured(known.data):
        _choose_data(selection, known.data)
    elif known.data is None and not configs and selection.entry is not None:
        _choose_data(selection, selection.entry.default_data)
        selection.recipe = dict(selection.entry.recipe)
    return selection


def _structured(value: str | None) -> bool:
    return value is not None and value.lstrip().startswith("{")


def _model_in(configs: list[str]) -> str | None:
    """The model class path a ``--config`` file names (the last file that names one)."""
    found = None
    for path in configs:
        try:
            model = (yaml.safe_load(Path(path).read_text()) or {}).get("model")
        except (OSError, yaml.YAMLError, AttributeError):
            continue  # LightningCLI reports an unreadable config itself
        if isinstance(model, dict) and model.get("class_path"):
            found = model["class_path"]
        elif isinstance(model, str):
            found = model
    return found


def _model(value: str) -> tuple[type, ModelEntry | None]:
    """The class of ``--model value``: a registered name, a registered class's name, or a class path."""
    import zoo.models  # noqa: F401  (registers the built-in models)

    if value in MODELS:
        entry = MODELS.entry(value)
        return entry.cls, entry
    by_name = [entry for entry in MODELS if entry.cls.__name__ == value]
    if by_name:
        return by_name[0].cls, by_name[0]
    if "." not in value:
        raise UsageError(f"unknown model {value!r}; valid choices: {', '.join(MODELS.names())} (or a class path)")
    cls = import_class(value)
    from zoo.models.base import GANModule

    if not (isinstance(cls, type) and issubclass(cls, GANModule)):
        raise UsageError(f"--model {value} is not a GANModule subclass (zoo.models.base.GANModule)")
    return cls, MODELS.find_class(cls)


def _choose_data(selection: Selection, spec: str) -> None:
    """Resolve ``--data spec``: a registered name, a folder, a published set, or a class path."""
    import datamodules  # noqa: F401  (registers the DataModules)

    if spec in DATAMODULES:
        selection.data_class_path, selection.data_name = DATAMODULES.entry(spec).class_path, spec
        return
    try:
        found = datamodule_for(spec, paired=selection.model_class.capabilities.paired_data)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if found is not None:
        name, init_args = found
        selection.data_class_path, selection.data_init_args = DATAMODULES.entry(name).class_path, init_args
        selection.data_name = Path(spec).name if "root" in init_args else spec
        return
    if "/" in spec or spec.startswith(("~", ".")):  # meant as a path
        raise UsageError(f"--data {spec}: no such folder ({Path(spec).expanduser().absolute()})")
    if "." in spec and not Path(spec).exists():  # a class path
        selection.data_class_path = spec
        return
    published = sorted(set(CYCLEGAN_DATASETS) | set(PIX2PIX_DATASETS))
    raise UsageError(f"unknown data set {spec!r}; valid choices: {', '.join(DATAMODULES.names())}, a published set "
                     f"({', '.join(published)}) or a folder path")


# ------------------------------------------------------------------------------ data -> model


class DataLink:
    """``link_arguments`` compute function: the DataModule's ``attribute`` for the model's ``argument``.

    The value the data gives wins over the model's default. A value the user typed for the argument
    (``--model.num_classes 5``) that differs from the data's is refused, naming both: the data decides
    the shape, so change the data instead. The first link of a run (``check=True``) also checks that
    the model can train on the data at all (:func:`check_model_and_data`), before the model is built.
    """

    def __init__(self, model_class: type, attribute: str, argument: str, typed: dict[str, Any], check: bool) -> None:
        self.model_class, self.attribute, self.argument, self.typed, self.check = (
            model_class, attribute, argument, typed, check)
        self.fallback = inspect.signature(model_class.__init__).parameters[argument].default

    def __call__(self, datamodule: Any) -> Any:
        if self.check:
            check_model_and_data(self.model_class, datamodule)
        value = getattr(datamodule, self.attribute, self.fallback)
        value = list(value) if isinstance(value, tuple) else value
        typed = self.typed.get(self.argument)
        if typed is not None and _plain(typed) != _plain(value):
            raise UsageError(
                f"--model.{self.argument} {typed} contradicts the data: {DATAMODULES.name_of(datamodule)} has "
                f"{self.attribute} {value}, and zoo.fit sets {self.argument} from the data. Drop the flag, or change "
                f"the data (e.g. --data.image_size)."
            )
        return value


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, list)) else value


def data_links(model_class: type, typed: dict[str, Any]) -> list[tuple[str, DataLink]]:
    """``(argument, link)`` for every :data:`DATA_LINKS` argument ``model_class`` takes; the first checks."""
    parameters = inspect.signature(model_class.__init__).parameters
    pairs = [(attribute, argument) for attribute, argument in DATA_LINKS.items() if argument in parameters]
    return [(argument, DataLink(model_class, attribute, argument, typed, check=i == 0))
            for i, (attribute, argument) in enumerate(pairs)]


def check_model_and_data(model_class: type, datamodule: Any) -> None:
    """Raise :class:`UsageError` when ``model_class`` cannot train on ``datamodule``, saying what to use instead.

    Read from the model's declaration (``capabilities``): an image-to-image model needs image pairs,
    paired (pix2pix) or unpaired (cyclegan) as it declares; any other model needs images, not
    pairs; a model that ``needs_labels`` (cgan, acgan, sgan) needs labelled data.
    """
    capabilities = model_class.capabilities
    entry = MODELS.find_class(model_class)
    model = entry.name if entry else model_class.__name__
    data = DATAMODULES.name_of(datamodule)
    data_paired = getattr(datamodule, "paired", None)  # None: not an image-to-image data set
    if capabilities.translates:
        _check_pairs(model, data, capabilities.paired_data, data_paired)
        return
    if data_paired is not None:
        raise UsageError(f"{model} generates images; {data!r} holds image-to-image pairs. Use an image data set "
                         f"(digits, mnist, cifar10, a folder of images) or --model pix2pix / cyclegan for this data.")
    if capabilities.needs_labels and getattr(datamodule, "num_classes", None) is None:
        raise UsageError(f"{model} is class-conditional and needs labelled data; {data!r} has no labels. Use a labelled "
                         f"data set (digits, mnist, cifar10, a folder with one sub-folder per class) or an unconditional model "
                         f"(dcgan, progan, infogan).")


def _check_pairs(model: str, data: str, paired: bool, data_paired: bool | None) -> None:
    wanted = "paired" if paired else "unpaired"
    examples = ("an aligned A|B folder, A/ + B/ folders, a published pix2pix set (facades, ...) or digit_outlines"
                if paired else "trainA/ trainB/ folders, a published CycleGAN set (horse2zebra, ...) or digit_strokes")
    if data_paired is None:
        raise UsageError(f"{model} translates images and needs {wanted} image-to-image data; {data!r} is an "
                         f"image data set. Use {examples}.")
    if data_paired != paired:
        other = "pix2pix" if data_paired else "cyclegan"
        raise UsageError(f"{model} trains on {wanted} data, but {data!r} holds {'paired' if data_paired else 'unpaired'} "
                         f"images. Use {examples}, or --model {other} for this data.")


def typed_defaults(model_class: type, typed: dict[str, Any]) -> dict[str, Any]:
    """The model-argument defaults the typed values bring (:data:`FLAG_RECIPES`), for the arguments this model
    takes; raises :class:`UsageError` for a typed setting the loss ignores (:data:`LOSS_ONLY_SETTINGS`)."""
    takes = {*model_class.settings(), *inspect.signature(model_class.__init__).parameters}
    extra: dict[str, Any] = {}
    for (argument, value), recipe in FLAG_RECIPES.items():
        if typed.get(argument) == value:
            extra.update({k: v for k, v in recipe.items() if k in takes and k not in typed})
    brought = extra.get("loss")  # a loss another recipe brought has its own recipe too
    if brought is not None:
        extra.update({k: v for k, v in FLAG_RECIPES.get(("loss", brought), {}).items()
                      if k in takes and k not in typed and k not in extra})
    check_loss_only_settings(model_class, {**typed, **({"loss": brought} if brought and "loss" not in typed else {})})
    return extra


def check_loss_only_settings(model_class: type, typed: dict[str, Any]) -> None:
    """A typed setting that only acts with another loss (:data:`LOSS_ONLY_SETTINGS`) is a :class:`UsageError`."""
    settings = model_class.settings()
    loss = typed.get("loss", settings.get("loss"))
    for name, losses in LOSS_ONLY_SETTINGS.items():  # a value other than the default: a full config's are not
        if name in typed and typed[name] != settings.get(name) and loss not in losses:
            raise UsageError(f"--model.{name} {typed[name]} only acts with --model.loss {' or '.join(losses)}, and the "
                             f"loss is {loss!r}: drop the flag or choose that loss")


def yield_run_limits(trainer: Any, typed: dict[str, Any]) -> str | None:
    """When the user set some of ``max_steps`` / ``max_time`` / ``max_epochs``, the limits they did not set
    go back to "no limit", so no built-in default stops the run first; returns the line saying so."""
    given = [key for key in RUN_LIMITS if typed.get(key) is not None]
    if not given:
        return None
    dropped = {key: trainer[key] for key, unlimited in RUN_LIMITS.items()
               if key not in given and trainer.get(key) not in (unlimited, None)}
    for key in dropped:
        trainer[key] = RUN_LIMITS[key]
    if not dropped:
        return None
    yours = ", ".join(f"--trainer.{key} {typed[key]}" for key in given)
    builtin = ", ".join(f"{key} {value}" for key, value in dropped.items())
    return f"zoo.fit: you set {yours}; the built-in {builtin} does not apply"
