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
``datamodules.list_datamodules()``), folders or class paths; they and the other
shorthands become parser defaults (:mod:`zoo.fit_setup`), so a flag you type
always wins, and ``--print_config`` shows the whole configuration. The
DataModule's ``image_shape``, ``num_classes``, channels and image size are
linked into the model.

When you set ``--trainer.max_time`` or ``--trainer.max_epochs`` (or ``max_steps``),
the built-in limits you did not set no longer apply, and one line says so.
Every way a run ends leaves ``last.ckpt`` at the step it ended on.

A step is one training iteration (one generator update) everywhere: see
``docs/architecture.md``. Outputs go to ``runs/<model>/<data>/version_N/``
(``config.yaml``, ``metrics.csv``, ``checkpoints/``, ``samples/``); the last
line printed is that directory.

This module stays light: the machinery is :mod:`zoo.fit_cli` (its names are reachable from
here), imported when a run starts, so ``python -m zoo.fit --help`` can print the help it
rendered before (:mod:`zoo.help_cache`) without importing torch and Lightning.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence


def main(args: Sequence[str] | None = None):
    """Parse ``args`` (default: ``sys.argv[1:]``), train, and print the run directory last (:func:`zoo.fit_cli.main`)."""
    from zoo import fit_cli

    return fit_cli.main(args)


def __getattr__(name: str) -> Any:  # ZooCLI, UsageError, TRAINER_DEFAULTS, ...: the machinery's names
    if name.startswith("__"):
        raise AttributeError(name)
    from zoo import fit_cli

    return getattr(fit_cli, name)


if __name__ == "__main__":
    from zoo.help_cache import cached_help

    text = cached_help("zoo.fit", sys.argv[1:])
    if text is not None:
        sys.stdout.write(text)
        raise SystemExit(0)
    main()
