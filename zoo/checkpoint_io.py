"""Checkpoint files that are written atomically, fail loudly, and are checked before a resume.

* :class:`AtomicCheckpointIO` replaces Lightning's ``TorchCheckpointIO`` in every
  ``zoo.fit`` run. Lightning's own save (``lightning.fabric.utilities.cloud_io._atomic_save``)
  swallows a ``PermissionError`` (it only re-raises the cross-device case), so a run could
  finish "successfully" without its checkpoints. Here a checkpoint is written to a hidden
  temporary file beside the target, flushed and fsync'ed, then renamed over the target
  (``os.replace``: atomic on POSIX and Windows); any ``OSError`` (disk full, permission,
  read-only file system, a directory in the way) raises :class:`CheckpointWriteError`
  naming the path and the cause, and ``zoo.fit`` stops with status 1.
* :func:`is_intact` / :func:`newest_intact` tell a checkpoint that loads from a truncated
  or corrupt one without unpickling anything (the zip archive's CRCs), so
  ``--ckpt_path last`` resumes from the newest checkpoint that loads and says which
  corrupt ones it skipped.
"""

from __future__ import annotations

import errno
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

__all__ = ["AtomicCheckpointIO", "CheckpointWriteError", "corruption", "is_intact", "newest_intact"]

_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "a directory is in the way",
    errno.ENOTDIR: "a file is in the way of a directory",
}


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; the message names the path and the cause."""


def describe(err: OSError) -> str:
    """``"No space left on device (ENOSPC: the disk is full)"``."""
    code = errno.errorcode.get(err.errno or 0, "")
    cause = _CAUSES.get(err.errno or 0)
    detail = ": ".join(part for part in (code, cause) if part)
    return f"{err.strerror or err}" + (f" ({detail})" if detail else "")


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` to ``.<name>.<pid>.tmp`` beside the target, fsync, rename; failures raise.

    Remote paths (``s3://...``) keep Lightning's behaviour.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None) -> None:
        if "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__}.save_checkpoint takes no storage_options, got {storage_options!r}")
        path = Path(path)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        except OSError as err:
            try:
                partial.unlink(missing_ok=True)
            except OSError:
                pass
            error = CheckpointWriteError(f"could not write checkpoint {path}: {describe(err)}")
            error.errno = err.errno
            raise error from err


def corruption(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not a loadable checkpoint (``None`` when it is intact): not a zip archive
    (truncated: no central directory), or an entry whose CRC does not match."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        return f"{type(err).__name__}: {err}"
    return None if bad is None else f"entry {bad} is damaged (CRC mismatch)"


def is_intact(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a complete, undamaged ``torch.save`` archive."""
    return corruption(path) is None


def _step(path: Path) -> int:
    found = re.search(r"step_(\d+)", path.name)
    return int(found.group(1)) if found else -1


def resume_candidates(checkpoint_dir: Path) -> list[Path]:
    """A run's checkpoints, newest first: ``last.ckpt``, then the step files by step, then the rest by age."""
    files = [p for p in checkpoint_dir.glob("*.ckpt") if p.is_file()]
    last = [p for p in files if p.name == "last.ckpt"]
    steps = sorted((p for p in files if p.name != "last.ckpt" and _step(p) >= 0), key=_step, reverse=True)
    rest = sorted((p for p in files if p not in last and p not in steps), key=lambda p: p.stat().st_mtime, reverse=True)
    return last + steps + rest


def newest_intact(checkpoint_dirs: list[Path]) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The first intact checkpoint of ``checkpoint_dirs`` (each searched newest first), and the
    corrupt ones skipped on the way, with why."""
    skipped: list[tuple[Path, str]] = []
    for folder in checkpoint_dirs:
        for candidate in resume_candidates(folder):
            why = corruption(candidate)
            if why is None:
                return candidate, skipped
            skipped.append((candidate, why))
    return None, skipped
