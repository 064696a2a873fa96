"""The machinery of ``python -m zoo.fit`` (:mod:`zoo.fit` is the entry point, and its docstring the manual).

``ZooCLI`` is Lightning's ``LightningCLI`` for GAN modules: the zoo's shorthands as parser defaults
(:mod:`zoo.fit_setup`), data -> model links, run limits that yield to the user's, run directories,
checkpoints that end where the run ends, DDP, resume, and a quiet face.
"""

from __future__ import annotations

import contextlib
import io
import logging
import signal
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

from lightning.pytorch import LightningDataModule
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

import zoo.models  # noqa: F401  (registers the built-in models: --help lists them)
from datamodules import DATAMODULES
from datamodules.verify import BadImagesError
from zoo.callbacks import GenerativeMetrics, RunProvenance, SampleGrid, StopOnSignal
from zoo.callbacks.checkpoint import RunCheckpoint
from zoo.callbacks.progress import ProgressLines
from zoo.checkpoint_io import AtomicCheckpointIO, CheckpointWriteError
from zoo.fit_setup import DATA_LINKS, Selection, UsageError, data_links, select, typed_defaults, yield_run_limits
from zoo.help_cache import HELP_FLAGS, store_help
from zoo.models.base import DivergenceError, GANModule
from zoo.precision import cpu_has_native_bf16, default_precision, explain_default_precision
from zoo.registry import MODELS
from zoo.resume import check_resumable, find_last_checkpoint
from zoo.strategies import GANDDPStrategy

__all__ = ["main", "ZooCLI", "UsageError", "TRAINER_DEFAULTS", "DATA_LINKS", "default_precision",
           "cpu_has_native_bf16", "find_last_checkpoint", "run_data_name"]

TRAINER_DEFAULTS: dict[str, Any] = {
    "max_steps": 2000,
    "log_every_n_steps": 10,
}

# Lightning warnings that say nothing useful about a GAN run of this CLI.
NOISY_WARNINGS = (
    ".*does not have many workers.*",  # the built-in data sets live in memory
    ".*Experiment logs directory .* exists and is not empty.*",  # resuming into the same run
    ".*LightningCLI's args parameter is intended.*",  # main() passes the arguments it was given
    ".*val_dataloader.*but have no `validation_step`.*",
    ".*smaller than the logging interval.*",
    ".*treespec, LeafSpec.*",
    ".*ModelCheckpoint with manual optimization.*",  # post-step weights are what a GAN checkpoint holds
    ".*is not supported by the model summary.*",  # bf16-mixed: the summary's size estimate only
)


class _DropTips(logging.Filter):
    """Lightning's advertisements for its cloud products ("💡 Tip: ...") are not this run's business."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in str(record.msg)


def quiet_lightning() -> None:
    """Silence the warnings and tips listed above (the run's own messages stay)."""
    for noise in NOISY_WARNINGS:
        warnings.filterwarnings("ignore", noise)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropTips())


def run_data_name(datamodule: Any) -> str:
    """The data part of the run directory: a published set's name, a folder's name, or the registry name."""
    published = getattr(datamodule, "published", None)
    if published is not None:
        return str(published.name)
    if isinstance(getattr(datamodule, "root", None), Path):
        return datamodule.root.resolve().name
    return DATAMODULES.name_of(datamodule)


class ZooCLI(LightningCLI):
    """LightningCLI for GAN modules: names, recipes, data links, run directories, DDP and resume handled."""

    def __init__(self, selection: Selection, **kwargs: Any) -> None:
        self.selection = selection
        self.typed: dict[str, Any] = {}  # the model arguments the user typed (DataLink compares them)
        self.typed_trainer: dict[str, Any] = {}
        self.typed_data: dict[str, Any] = {}
        self.limits_line: str | None = None
        super().__init__(args=selection.rest, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--ckpt_path", type=str | None, default=None,
                            help="Checkpoint to resume from; 'last' resumes the newest run of this model and data.")
        parser.add_argument("--runs_dir", type=str, default="runs",
                            help="Root of the run directories runs/<model>/<data>/version_N.")
        parser.add_lightning_class_args(SampleGrid, "samples")
        parser.add_lightning_class_args(RunCheckpoint, "checkpoint")
        parser.add_lightning_class_args(GenerativeMetrics, "metrics")
        parser.set_defaults({
            "checkpoint.filename": "step_{step:06d}", "checkpoint.save_last": True,
            "checkpoint.every_n_train_steps": 500, "checkpoint.auto_insert_metric_name": False,
            "seed_everything": 0,  # what Lightning picks for `true`, without its "No seed found" warning
        })
        parser.set_defaults(self.selection.defaults())
        if self.selection.model_class is not None:
            for argument, link in data_links(self.selection.model_class, self.typed):
                parser.link_arguments("data", f"model.init_args.{argument}", compute_fn=link, apply_on="instantiate")

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse, keeping apart what the user typed, then let built-in run limits yield to the user's
        (:func:`yield_run_limits`). ``--print_config`` prints this effective configuration (the defaults
        set from the shorthands and the recipe included) and exits."""
        if self.selection.model_class is not None and not any(a in ("-h", "--help") for a in args):
            typed = parser.parse_args(args, namespace=self._chosen(), defaults=False)
            self.typed.update(dict((typed.get("model") or {}).get("init_args") or {}))
            self.typed_trainer = dict(typed.get("trainer") or {})
            self.typed_data = dict((typed.get("data") or {}).get("init_args") or {})
            extra = typed_defaults(self.selection.model_class, self.typed)
            if extra:  # e.g. --model.loss wgan: RMSprop at 5e-5, 5 critic steps (defaults: a typed flag wins)
                model = self.selection.defaults()["model"]
                parser.set_defaults({"model": {**model, "init_args": {**model["init_args"], **extra}}})
        super().parse_arguments(parser, args)
        trainer = self.config.get("trainer")
        self.limits_line = yield_run_limits(trainer, self.typed_trainer) if trainer is not None else None
        if self.selection.print_config is not None:
            options = {o for o in self.selection.print_config.split(",") if o}
            unknown = options - {"skip_null", "skip_default"}
            if unknown:
                raise UsageError(f"--print_config={','.join(sorted(unknown))}: valid options: skip_null, skip_default")
            print(parser.dump(self.config, skip_none="skip_null" in options, skip_default="skip_default" in options),
                  end="")
            raise SystemExit(0)

    def _chosen(self) -> Any:
        """The model and data classes chosen by name (and a folder's ``root``), without the recipe: the base
        of the parse that tells what the user typed."""
        from jsonargparse import Namespace

        model = self.selection.model_class
        data = Namespace(class_path=self.selection.data_class_path, init_args=Namespace(**self.selection.data_init_args))
        return Namespace(model=Namespace(class_path=f"{model.__module__}.{model.__qualname__}"), data=data)

    def before_instantiate_classes(self) -> None:
        """Resolve an unset ``--trainer.precision`` (:func:`zoo.precision.default_precision`) so the saved
        ``config.yaml`` names the precision the run used; print the recipe applied and the limits that yielded."""
        trainer = self.config.get("trainer")
        if trainer is None:
            return
        precision_line = None
        if trainer.get("precision") is None:
            accelerator = trainer.get("accelerator", "auto")
            trainer["precision"], why = explain_default_precision(accelerator if isinstance(accelerator, str) else "auto")
            if trainer["precision"] != "32-true":
                precision_line = f"precision {trainer['precision']}: {why} (--trainer.precision 32-true for float32)"
        typed = {"model": self.typed, "data": self.typed_data, "trainer": self.typed_trainer}
        for message in (self.selection.recipe_line(typed), self.limits_line, precision_line):
            if message:
                rank_zero_info(message)

    def instantiate_classes(self) -> None:
        """LightningCLI's, with a bad constructor value (a model's or DataModule's ``ValueError``: its message
        names the value and the valid choices) and a :class:`DataLink`'s usage error raised as a
        :class:`UsageError`, not as jsonargparse's wrapped traceback."""
        try:
            super().instantiate_classes()
        except (ValueError, TypeError) as err:
            cause = _innermost(err)
            if isinstance(cause, (UsageError, ValueError)):
                raise UsageError(str(cause)) from None
            raise

    def instantiate_trainer(self, **kwargs: Any):
        model_name, data_name = MODELS.name_of(self.model), run_data_name(self.datamodule)
        run_root = Path(self.config.runs_dir) / model_name / data_name
        version = None
        if self.config.ckpt_path == "last":
            last = find_last_checkpoint(run_root)
            self.config.ckpt_path = str(last)
            version = last.parent.parent.name  # resume inside the same run directory
        elif self.config.ckpt_path:
            check_resumable(Path(self.config.ckpt_path))
        trainer_config = self.config_init.get("trainer") or {}
        kwargs.setdefault("logger", self._loggers(trainer_config.get("logger"), run_root, version))
        kwargs.setdefault("strategy", self._strategy(trainer_config.get("strategy", "auto")))
        kwargs.setdefault("default_root_dir", str(run_root))
        lines = not sys.stderr.isatty() and trainer_config.get("enable_progress_bar") is None
        if lines:  # a log file, not a terminal: whole lines instead of a redrawn bar
            kwargs["enable_progress_bar"] = False
        trainer = super().instantiate_trainer(**kwargs)
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:  # keep a user's own CheckpointIO plugin
            trainer.strategy.checkpoint_io = AtomicCheckpointIO()
        trainer.callbacks[:0] = [RunProvenance(), StopOnSignal(), *([ProgressLines()] if lines else [])]
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
        from zoo.loggers import RunCSVLogger

        if user is False:
            return False
        user_loggers = [] if user in (None, True) else (user if isinstance(user, list) else [user])
        if any(isinstance(logger, CSVLogger) for logger in user_loggers):
            return user_loggers
        csv = RunCSVLogger(save_dir=str(run_root.parent), name=run_root.name, version=version)
        return [csv, *user_loggers]

    def _strategy(self, strategy: Any) -> Any:
        """Plain ``ddp`` becomes :class:`GANDDPStrategy` for GAN modules (one DDP wrapper per network);
        a ``DDPStrategy`` from a config becomes one with the same arguments."""
        if not isinstance(self.model, GANModule):
            return strategy
        if strategy in ("ddp", "ddp_spawn"):
            return GANDDPStrategy(start_method="spawn" if strategy == "ddp_spawn" else "popen")
        config = self.config.get("trainer", {}).get("strategy")
        if type(strategy) is DDPStrategy and config is not None and not isinstance(config, str):
            options = dict(config.get("init_args") or {})
            if not options.get("find_unused_parameters"):
                return GANDDPStrategy(**options)
        return strategy


def _innermost(err: BaseException) -> BaseException:
    """The first exception of ``err``'s chain (what jsonargparse wrapped)."""
    while (err.__cause__ or err.__context__) is not None:
        err = err.__cause__ or err.__context__
    return err


def main(args: Sequence[str] | None = None) -> ZooCLI:
    """Parse ``args`` (default: ``sys.argv[1:]``), train, and print the run directory last."""
    args = list(sys.argv[1:] if args is None else args)
    quiet_lightning()
    try:
        cli = _build_cli_keeping_help(args)
    except UsageError as err:  # a bad name, a bad model / data pair, nothing to resume
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


def _build_cli_keeping_help(args: list[str]) -> ZooCLI:
    """:func:`_build_cli`; the plain ``--help`` it prints is also stored for the next one (:mod:`zoo.help_cache`)."""
    if args not in HELP_FLAGS:
        return _build_cli(select(args))
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            return _build_cli(select(args))
    finally:
        store_help("zoo.fit", args, buffer.getvalue())
        sys.stdout.write(buffer.getvalue())


def _build_cli(selection: Selection) -> ZooCLI:
    return ZooCLI(
        selection,
        model_class=GANModule,
        subclass_mode_model=True,
        datamodule_class=LightningDataModule,  # ImageDataModule subclasses and non-image data (circle)
        subclass_mode_data=True,
        trainer_defaults=TRAINER_DEFAULTS,
        save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,  # each model configures its own optimizers (manual optimisation)
        parser_kwargs={"description": _description(), "prog": "python -m zoo.fit"},
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
