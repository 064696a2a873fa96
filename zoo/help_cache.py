"""``python -m zoo.fit --help`` without importing torch and Lightning, when nothing has changed.

Rendering the help means importing Lightning (about 6 s on 2 shared CPU cores, most of a
``--help``), every model and every DataModule. The rendered text depends only on the installed
versions, the zoo's own source and the terminal's width, so it is kept in
``$ZOO_CACHE_DIR/help/`` under a key made of those (:func:`help_key`): the first ``--help`` after an
install, an upgrade or an edit renders and stores it, later ones print it. Only the plain
``--help`` / ``-h`` is cached (``--model cgan --help`` and the like are rendered every time).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import Sequence

from zoo.paths import cache_dir

PACKAGES = ("lightning", "jsonargparse", "torch", "gan-zoo")
HELP_FLAGS = (["--help"], ["-h"])


def help_key(command: str) -> str:
    """A hash of what the help text of ``command`` depends on: the versions of :data:`PACKAGES`, Python's,
    the size and modification time of every source file of ``zoo/`` and ``datamodules/``, and the
    terminal's width."""
    digest = hashlib.sha256(f"{command} {sys.version} {shutil.get_terminal_size().columns}".encode())
    for package in PACKAGES:
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=none".encode())
    root = Path(__file__).resolve().parents[1]
    for folder in ("zoo", "datamodules"):
        for path in sorted((root / folder).rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path.relative_to(root)} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def help_file(command: str) -> Path:
    return cache_dir("help", f"{command}-{help_key(command)}.txt")


def cached_help(command: str, args: Sequence[str]) -> str | None:
    """The stored help of ``command`` when ``args`` ask for the plain help and it is still current, else ``None``."""
    if list(args) not in HELP_FLAGS:
        return None
    path = help_file(command)
    return path.read_text() if path.is_file() else None


def store_help(command: str, args: Sequence[str], text: str) -> None:
    """Keep ``text``, the help just rendered for ``args``, when they ask for the plain help (best effort)."""
    if list(args) not in HELP_FLAGS or not text.strip():
        return
    path = help_file(command)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"{command}-*.txt"):
            old.unlink(missing_ok=True)
        path.write_text(text)
    except OSError:
        pass  # a read-only cache only costs the next --help its time
