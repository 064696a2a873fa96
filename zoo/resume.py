"""Which checkpoint ``python -m zoo.fit --ckpt_path ...`` resumes from.

``--ckpt_path last`` is the newest checkpoint that loads under ``runs/<model>/<data>/``: ``last.ckpt``
of the newest ``version_N``, else its newest intact step file, else the same in older versions; a
corrupt (truncated, damaged) checkpoint skipped on the way is named in a warning. An explicit path
that is missing or corrupt is a usage error naming the intact checkpoints beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

from lightning.pytorch.utilities import rank_zero_warn

from zoo.checkpoint_io import corruption, newest_intact, resume_candidates
from zoo.fit_setup import UsageError


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
