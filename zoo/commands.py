"""What the zoo's small commands share: the parser's face and the choice of a model to load.

``python -m zoo.sample``, ``zoo.export``, ``zoo.translate`` and ``zoo.evaluate`` are plain
``argparse`` commands (``zoo.fit`` is LightningCLI's); each builds its parser with
:func:`command_parser` (``usage: python -m zoo.<name>``, its module docstring as the description)
and takes its model from a checkpoint or from pretrained weights with :func:`add_model_source`.
"""

from __future__ import annotations

import argparse


def command_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """A parser whose usage line reads ``python -m <prog>`` and whose help starts with ``description``."""
    return argparse.ArgumentParser(prog=f"python -m {prog}", description=description,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_model_source(parser: argparse.ArgumentParser, *, ckpt: str = "checkpoint written by `python -m zoo.fit`",
                     model: str = "registered model of pretrained weights (with --weights)",
                     weights: str = "with --model: a declared name (zoo.list_pretrained()) or a weights file") -> None:
    """``--ckpt PATH`` or ``--model NAME --weights NAME_OR_FILE`` (exactly one of ``--ckpt`` / ``--model``)."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help=ckpt)
    source.add_argument("--model", help=model)
    parser.add_argument("--weights", help=weights)
