"""Where the zoo keeps files: data sets and caches (one lookup each, plain Python).

* :func:`data_dir`: the root of downloaded / local data sets: the argument, else
  ``$ZOO_DATA_DIR``, else ``./data``.
* :func:`cache_dir`: the root of caches (real-data statistics, downloaded weights):
  ``$ZOO_CACHE_DIR``, else ``~/.cache/zoo``.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """``path``, else the ``ZOO_DATA_DIR`` variable, else ``"data"``; absolute, ``~`` expanded."""
    return Path(path or os.environ.get("ZOO_DATA_DIR") or "data").expanduser().absolute()


def cache_dir(*parts: str) -> Path:
    """``$ZOO_CACHE_DIR`` (default ``~/.cache/zoo``), joined with ``parts``."""
    return Path(os.environ.get("ZOO_CACHE_DIR", Path.home() / ".cache" / "zoo")).joinpath(*parts)
