"""``python -m zoo.fit``: train a registered model on a registered data set.

    python -m zoo.fit --model cgan                      # embedded digits, offline
    python -m zoo.fit --model cgan --data mnist --trainer.max_steps 20000
    python -m zoo.fit --model cgan --print_config > run.yaml
    python -m zoo.fit --config run.yaml
    python -m zoo.fit --model cgan --ckpt_path last     # resume the latest run
    python -m zoo.fit --model cgan --data cifar10 --metrics fid,is,kid --metrics.every_n_steps 5000

This is Lightning's ``LightningCLI`` (fit only): every model and DataModule
constructor argument is a flag (``--model.lr``, ``--data.batch_size``), every
Trainer argument too (``--trainer.max_steps``, ``--trainer.devices``, ...).
``--model`` and ``--data`` take registered names (``zoo.list_models()``,
``datamodules.list_datamodules()``) or class paths. The DataModule's
``image_shape`` and ``num_classes`` are linked into the model.

A step is one training iteration (one generator update) everywhere: see
``docs/architecture.md``. Outputs go to ``runs/<model>/<data>/version_N/``
(``config.yaml``, ``metrics.csv``, ``checkpoints/``, ``samples/``); the last
line printed is that directory.
"""

from __future__ import annotations

import importlib
import inspect
import re
import signal
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.utilities import rank_zero_warn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from datamodules import DATAMODULES
from datamodules.published import CYCLEGAN_DATASETS, PIX2PIX_DATASETS, datamodule_for
from datamodules.verify import BadImagesError
from zoo.callbacks import GenerativeMetrics, RunProvenance, SampleGrid, StopOnSignal
from zoo.checkpoint_io import AtomicCheckpointIO, CheckpointWriteError, corruption, newest_intact, resume_candidates
from zoo.loggers import RunCSVLogger
from zoo.models.base import DivergenceError, GANModule
from zoo.registry import MODELS, UnknownNameError
from zoo.strategies import GANDDPStrategy

TRAINER_DEFAULTS: dict[str, Any] = {
    "max_steps": 2000,
    "log_every_n_steps": 10,
}


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX), so oneDNN's bf16
    convolutions are faster than float32 ones rather than emulated."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def default_precision(accelerator: str = "auto") -> str:
    """The ``--trainer.precision`` a run gets when the flag is not given.

    ``"bf16-mixed"`` when training runs on a CPU with native bf16 (:func:`cpu_has_native_bf16`):
    autocast runs convolutions and matrix products in bfloat16 and keeps weights, optimizer
    state and losses in float32 (the speed-up is measured in docs/models/dcgan.md).
    ``"32-true"`` otherwise, GPUs included (choose ``bf16-mixed`` or
    ``16-mixed`` there yourself).
    """
    if accelerator not in ("auto", "cpu"):
        return "32-true"
    gpu_available = torch.cuda.is_available() or torch.backends.mps.is_available()
    on_cpu = accelerator == "cpu" or not gpu_available
    return "bf16-mixed" if on_cpu and cpu_has_native_bf16() else "32-true"


# Lightning warnings that say nothing useful about a GAN run of this CLI.
NOISY_WARNINGS = (
    ".*does not have many workers.*",  # the built-in data sets live in memory
    ".*Experiment logs directory .* exists and is not empty.*",  # resuming into the same run
    ".*LightningCLI's args parameter is intended.*",  # we pass rewritten args on purpose
    ".*val_dataloader.*but have no `validation_step`.*",
    ".*smaller than the logging interval.*",
    ".*treespec, LeafSpec.*",
    ".*ModelCheckpoint with manual optimization.*",  # post-step weights are what a GAN checkpoint holds
)


class UsageError(Exception):
    """A bad command line (unknown model or data set, nothing to resume, ...)."""


def _flag_value(args: list[str], flag: str) -> tuple[int, str] | None:
    """Index and value of ``--flag VALUE`` or ``--flag=VALUE`` in ``args``."""
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return i, args[i + 1]
        if arg.startswith(flag + "="):
            return i, arg.split("=", 1)[1]
    return None


def _set_flag(args: list[str], flag: str, value: str) -> list[str]:
    found = _flag_value(args, flag)
    if found is None:
        return [*args, flag, value]
    i, _ = found
    if args[i] == flag:
        return [*args[:i], flag, value, *args[i + 2 :]]
    return [*args[:i], f"{flag}={value}", *args[i + 1 :]]


def resolve_names(args: Sequence[str]) -> list[str]:
    """Rewrite ``--model cgan`` / ``--data mnist`` into class paths.

    Without ``--data`` (and without ``--config``), the model's default data set
    is used. Unknown names raise :class:`UsageError` listing the valid choices.
    """
    args = list(args)
    if any(a in ("-h", "--help") for a in args) and _flag_value(args, "--model") is None:
        return args
    has_config = _flag_value(args, "--config") is not None
    model = _flag_value(args, "--model")
    if model is None and not has_config and "--print_config" not in " ".join(args):
        raise UsageError(f"choose a model with --model; valid choices: {', '.join(MODELS.names())}")
    model_name = None
    if model is not None:
        model_name = model[1]
        if "." not in model_name and not model_name.endswith((".yaml", ".yml")):
            try:
                args = _set_flag(args, "--model", MODELS.entry(model_name).class_path)
            except UnknownNameError as err:
                raise UsageError(str(err)) from None
    metrics = _flag_value(args, "--metrics")
    if metrics is not None and not metrics[1].lstrip().startswith(("{", "[")):
        i, value = metrics
        args = [*args[:i], f"--metrics.names=[{value}]", *args[i + (1 if args[i].startswith("--metrics=") else 2):]]
    if model_name is not None and model_name not in MODELS:
        model_name = next((e.name for e in MODELS if e.class_path == model_name), model_name)
    data = _flag_value(args, "--data")
    if data is None and model_name in MODELS and not has_config:
        # right after --model, so that later --data.<arg> flags know the class
        i, _ = _flag_value(args, "--model")
        after = i + (1 if args[i].startswith("--model=") else 2)
        entry = MODELS.entry(model_name)
        default = ["--data", entry.default_data, *entry.recipe_flags()]
        args = [*args[:after], *default, *args[after:]]
        data = _flag_value(args, "--data")
    if data is not None and data[1] not in DATAMODULES:
        args = _resolve_data_spec(args, data, model_name)
    elif data is not None:
        args = _set_flag(args, "--data", DATAMODULES.entry(data[1]).class_path)
    return args


def _resolve_data_spec(args: list[str], data: tuple[int, str], model_name: str | None) -> list[str]:
    """``--data`` given as a folder path or a published set name (horse2zebra, facades, ...).

    The folder's layout picks the DataModule (``datamodules.layouts.detect_layout``); a name
    published both paired and unpaired (facades, maps, cityscapes) follows the model.
    """
    i, spec = data
    model_class = MODELS.get(model_name) if model_name in MODELS else None
    paired = getattr(model_class, "paired_data", None)
    try:
        found = datamodule_for(spec, paired=paired)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if found is None:
        if "/" in spec or spec.startswith(("~", ".")):  # meant as a path
            raise UsageError(f"--data {spec}: no such folder ({Path(spec).expanduser().absolute()})")
        if "." in spec and not Path(spec).exists():  # a class path
            return args
        published = sorted(set(CYCLEGAN_DATASETS) | set(PIX2PIX_DATASETS))
        raise UsageError(
            f"unknown data set {spec!r}; valid choices: {', '.join(DATAMODULES.names())}, "
            f"a published set ({', '.join(published)}) or a folder path"
        )
    name, init_args = found
    after = i + (1 if args[i].startswith("--data=") else 2)
    extra = [f"--data.{key}={value}" for key, value in init_args.items()]
    args = [*args[:i], "--data", DATAMODULES.entry(name).class_path, *extra, *args[after:]]
    return args


def run_data_name(datamodule: Any) -> str:
    """The data part of the run directory: a published set's name, a folder's name, or the registry name."""
    published = getattr(datamodule, "published", None)
    if published is not None:
        return str(published.name)
    if isinstance(getattr(datamodule, "root", None), Path):
        return datamodule.root.resolve().name
    return DATAMODULES.name_of(datamodule)


def find_last_checkpoint(run_root: Path) -> Path:
    """The newest checkpoint that loads under ``run_root``: ``last.ckpt`` of the newest ``version_N``,
    else its newest intact step file, else the same in older versions. A corrupt (truncated,
    damaged) checkpoint skipped on the way is named in a warning."""
    versions = sorted(
        (p for p in run_root.glob("version_*/checkpoints") if p.is_dir()),
        key=lambda p: int(re.sub(r"\D", "", p.parent.name) or -1), reverse=True,
    )
    found, skipped = newest_intact(versions)
    for path, why in skipped:
        rank_zero_warn(f"--ckpt_path last: skipping the corrupt checkpoint {path} ({why})")
    if found is None:
        what = f"; corrupt: {', '.join(str(p) for p, _ in skipped)}" if skipped else ""
        raise UsageError(f"--ckpt_path last: no checkpoint to resume under {run_root}/version_*/checkpoints/{what}")
    if skipped:
        rank_zero_warn(f"--ckpt_path last: resuming from {found}")
    return found


def check_resumable(path: Path) -> None:
    """An explicit ``--ckpt_path`` that is missing or corrupt is a usage error naming the intact ones beside it."""
    if not path.is_file():
        raise UsageError(f"--ckpt_path {path}: no such file")
    why = corruption(path)
    if why is not None:
        intact = [p.name for p in resume_candidates(path.parent) if p != path and corruption(p) is None]
        raise UsageError(f"--ckpt_path {path} is corrupt ({why}); intact checkpoints beside it: "
                         f"{', '.join(intact) or 'none'} (or --ckpt_path last picks the newest intact one)")


DATA_LINKS: dict[str, str] = {
    "image_shape": "image_shape",
    "num_classes": "num_classes",
    "input_channels": "in_channels",
    "output_channels": "out_channels",
    "image_size": "image_size",
}
"""DataModule attribute -> model constructor argument, linked when both exist (the data wins)."""


def _import_class(class_path: str) -> type:
    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def link_data_to_model(config: Any) -> None:
    """Set ``model.init_args.<arg>`` from the DataModule for every pair of :data:`DATA_LINKS` that both sides
    have (an image model gets ``image_shape``/``num_classes``, a translation model ``in_channels``,
    ``out_channels``, ``image_size``). The DataModule is built from its config (cheap: data loads in setup).
    A model that cannot train on that data fails here, before any work (:func:`check_model_and_data`)."""
    model, data = config.get("model"), config.get("data")
    if model is None or data is None or not getattr(model, "class_path", None) or not getattr(data, "class_path", None):
        return
    data_args = dict(data.init_args or {})
    datamodule = _import_class(data.class_path)(**data_args)
    model_class = _import_class(model.class_path)
    check_model_and_data(model_class, datamodule)
    parameters = inspect.signature(model_class.__init__).parameters
    for attribute, argument in DATA_LINKS.items():
        if argument in parameters and hasattr(datamodule, attribute):
            value = getattr(datamodule, attribute)
            model.init_args[argument] = list(value) if isinstance(value, tuple) else value


def check_model_and_data(model_class: type, datamodule: Any) -> None:
    """Raise :class:`UsageError` when ``model_class`` cannot train on ``datamodule``, saying what to use instead.

    * an image-to-image model (``translate``) needs image-to-image data, paired for a model with
      ``paired_data = True`` (pix2pix) and unpaired otherwise (cyclegan);
    * a generative model needs images, not image pairs;
    * a model with ``needs_labels = True`` (cgan, acgan, sgan) needs labelled data.
    """
    entry = MODELS.find_class(model_class)
    model = entry.name if entry else model_class.__name__
    data = DATAMODULES.name_of(datamodule)
    data_paired = getattr(datamodule, "paired", None)  # None: not an image-to-image data set
    if hasattr(model_class, "translate"):
        wanted = "paired" if model_class.paired_data else "unpaired"
        examples = ("an aligned A|B folder, A/ + B/ folders, a published pix2pix set (facades, ...) or digit_outlines"
                    if model_class.paired_data else
                    "trainA/ trainB/ folders, a published CycleGAN set (horse2zebra, ...) or digit_strokes")
        if data_paired is None:
            raise UsageError(f"{model} translates images and needs {wanted} image-to-image data; {data!r} is an "
                             f"image data set. Use {examples}.")
        if data_paired != model_class.paired_data:
            other = "pix2pix" if data_paired else "cyclegan"
            raise UsageError(f"{model} trains on {wanted} data, but {data!r} holds {'paired' if data_paired else 'unpaired'} "
                             f"images. Use {examples}, or --model {other} for this data.")
        return
    if data_paired is not None:
        raise UsageError(f"{model} generates images; {data!r} holds image-to-image pairs. Use an image data set "
                         f"(digits, mnist, cifar10, a folder of images) or --model pix2pix / cyclegan for this data.")
    if getattr(model_class, "needs_labels", False) and getattr(datamodule, "num_classes", None) is None:
        raise UsageError(f"{model} is class-conditional and needs labelled data; {data!r} has no labels. Use a labelled "
                         f"data set (digits, mnist, cifar10, a folder with one sub-folder per class) or an unconditional model "
                         f"(dcgan, progan, infogan).")


class ZooCLI(LightningCLI):
    """LightningCLI for GAN modules: names, run directories, DDP and resume handled."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--ckpt_path", type=str | None, default=None,
                            help="Checkpoint to resume from; 'last' resumes the newest run of this model and data.")
        parser.add_argument("--runs_dir", type=str, default="runs",
                            help="Root of the run directories runs/<model>/<data>/version_N.")
        parser.add_lightning_class_args(SampleGrid, "samples")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.add_lightning_class_args(GenerativeMetrics, "metrics")
        parser.set_defaults(
            {
                "checkpoint.filename": "step_{step:06d}",
                "checkpoint.save_last": True,
                "checkpoint.every_n_train_steps": 500,
                "checkpoint.auto_insert_metric_name": False,
            }
        )

    def before_instantiate_classes(self) -> None:
        """Copy what the DataModule knows into the model's matching constructor arguments (see DATA_LINKS),
        and resolve an unset ``--trainer.precision`` (see :func:`default_precision`), so that the saved
        ``config.yaml`` names the precision the run used."""
        link_data_to_model(self.config)
        trainer = self.config.get("trainer")
        if trainer is not None and trainer.get("precision") is None:
            accelerator = trainer.get("accelerator", "auto")
            trainer["precision"] = default_precision(accelerator if isinstance(accelerator, str) else "auto")

    def instantiate_trainer(self, **kwargs: Any):
        model_name = MODELS.name_of(self.model)
        data_name = run_data_name(self.datamodule)
        run_root = Path(self.config.runs_dir) / model_name / data_name
        version = None
        if self.config.ckpt_path == "last":
            last = find_last_checkpoint(run_root)
            self.config.ckpt_path = str(last)
            version = last.parent.parent.name  # resume inside the same run directory
        elif self.config.ckpt_path:
            check_resumable(Path(self.config.ckpt_path))
        trainer_config = self._get(self.config_init, "trainer", default={})
        kwargs.setdefault("logger", self._loggers(trainer_config.get("logger"), run_root, version))
        kwargs.setdefault("strategy", self._strategy(trainer_config.get("strategy", "auto")))
        kwargs.setdefault("default_root_dir", str(run_root))
        trainer = super().instantiate_trainer(**kwargs)
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:  # keep a user's own CheckpointIO plugin
            trainer.strategy.checkpoint_io = AtomicCheckpointIO()
        trainer.callbacks[:0] = [RunProvenance(), StopOnSignal()]
        self._add_best_checkpoint(trainer)
        return trainer

    def _add_best_checkpoint(self, trainer) -> None:
        """With metrics on, also keep the checkpoint with the best first metric (``best-fid-step_N.ckpt``)."""
        metrics = next((c for c in trainer.callbacks if isinstance(c, GenerativeMetrics)), None)
        if metrics is None or not metrics.enabled:
            return
        name = metrics.names[0]
        mode = "max" if name in ("is", "cis", "conditional_accuracy") else "min"
        best = ModelCheckpoint(
            monitor=f"val/{name}", mode=mode, save_top_k=1, filename=f"best-{name}-step_{{step:06d}}",
            auto_insert_metric_name=False, every_n_train_steps=metrics.every_n_steps or None,
        )
        trainer.callbacks.insert(len(trainer.callbacks) - 1, best)

    @staticmethod
    def _loggers(user: Any, run_root: Path, version: str | None) -> Any:
        """A CSV logger owning the run directory, first, plus any logger the user chose."""
        if user is False:
            return False
        user_loggers = [] if user in (None, True) else (user if isinstance(user, list) else [user])
        if any(isinstance(logger, CSVLogger) for logger in user_loggers):
            return user_loggers
        csv = RunCSVLogger(save_dir=str(run_root.parent), name=run_root.name, version=version)
        return [csv, *user_loggers]

    def _strategy(self, strategy: Any) -> Any:
        """Plain ``ddp`` becomes :class:`GANDDPStrategy` for GAN modules (one DDP wrapper per network)."""
        if not isinstance(self.model, GANModule):
            return strategy
        if strategy in ("ddp", "ddp_spawn"):
            return GANDDPStrategy(start_method="spawn" if strategy == "ddp_spawn" else "popen")
        if type(strategy) is DDPStrategy and not strategy._ddp_kwargs.get("find_unused_parameters"):
            return GANDDPStrategy(**strategy._ddp_kwargs)
        return strategy


def main(args: Sequence[str] | None = None) -> ZooCLI:
    """Parse ``args`` (default: ``sys.argv[1:]``), train, and print the run directory last."""
    args = list(sys.argv[1:] if args is None else args)
    for noise in NOISY_WARNINGS:
        warnings.filterwarnings("ignore", noise)
    try:
        args = resolve_names(args)
    except UsageError as err:
        sys.stderr.write(f"zoo.fit: error: {err}\n")
        raise SystemExit(2) from None
    try:
        cli = _build_cli(args)
    except UsageError as err:  # raised while building the run: a bad model / data pair, nothing to resume
        sys.stderr.write(f"zoo.fit: error: {err}\n")
        raise SystemExit(2) from None
    try:
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=cli.config.ckpt_path)
    except BadImagesError as err:  # --data.strict true and unreadable files: nothing was trained
        sys.stderr.write(f"zoo.fit: error: {err}\n")
        raise SystemExit(2) from None
    except (DivergenceError, CheckpointWriteError) as err:  # NaN / inf, or a checkpoint that could not be written
        sys.stderr.write(f"zoo.fit: error: {err}\nrun directory: {cli.trainer.log_dir}\n")
        raise SystemExit(1) from None
    except (SIGTERMException, KeyboardInterrupt):  # SIGTERM / Ctrl-C: StopOnSignal saved the checkpoint
        stop = next(c for c in cli.trainer.callbacks if isinstance(c, StopOnSignal))
        name = signal.Signals(stop.signal or signal.SIGINT).name
        saved = f"checkpoint at iteration {cli.trainer.global_step}: {stop.checkpoint}" if stop.checkpoint else "no checkpoint"
        sys.stderr.write(f"zoo.fit: stopped by {name}; {saved}\n")
        if cli.trainer.is_global_zero:
            print(f"run directory: {cli.trainer.log_dir}", flush=True)
        raise SystemExit(stop.exit_code or 1) from None
    run_dir = cli.trainer.log_dir  # a collective under DDP: every rank asks
    _shutdown_distributed()
    if cli.trainer.is_global_zero:
        print(f"run directory: {run_dir}")
    return cli


def _build_cli(args: list[str]) -> ZooCLI:
    return ZooCLI(
        model_class=GANModule,
        subclass_mode_model=True,
        datamodule_class=LightningDataModule,  # ImageDataModule subclasses and non-image data (circle)
        subclass_mode_data=True,
        trainer_defaults=TRAINER_DEFAULTS,
        save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,  # each model configures its own optimizers (manual optimisation)
        parser_kwargs={"description": _description()},
        args=args,
        run=False,
    )


def _shutdown_distributed() -> None:
    """Destroy the process group before the interpreter exits: a gloo group left alive aborts
    the process at exit ("terminate called without an active exception") now and then."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _description() -> str:
    models = ", ".join(f"{e.name} ({e.summary})" for e in MODELS)
    return (
        "Train a GAN of the zoo. "
        f"Models (--model): {models}. "
        f"Data sets (--data): {', '.join(DATAMODULES.names())}. "
        "A step is one training iteration (one generator update)."
    )


if __name__ == "__main__":
    try:
        main()
    except UsageError as err:  # raised after parsing, e.g. nothing to resume
        sys.stderr.write(f"zoo.fit: error: {err}\n")
        raise SystemExit(2) from None
