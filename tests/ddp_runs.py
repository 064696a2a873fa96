"""Several ``zoo.fit`` runs inside one two-process DDP launch, so the suite pays the start-up once.

    python -m torch.distributed.run --standalone --nproc-per-node 2 -m tests.ddp_runs SPEC.json

(as a module: run as a script, ``tests/`` would come first on the path and its ``datamodules``
test package would hide the project's).

``SPEC.json`` maps a run's key to its ``zoo.fit`` flags. Each run trains under
``--trainer.strategy ddp`` (Lightning sees torchrun's environment; the first run creates the
process group and the later ones join it: ``zoo.fit``'s destruction of the group at the end
of a run is deferred to the end of the launch), keeps its run directory under
``<spec folder>/<key>/runs`` and every rank's networks in ``<key>/dump/rank<R>.pt``
(:class:`tests.helpers.SaveRankWeights`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import zoo.fit
import zoo.fit_cli
from tests.conftest import QUIET

if __name__ == "__main__":
    shutdown = zoo.fit_cli._shutdown_distributed
    zoo.fit_cli._shutdown_distributed = lambda: None  # a re-created group would find the old one's addresses
    spec_file = Path(sys.argv[1])
    for key, flags in json.loads(spec_file.read_text()).items():
        out = spec_file.parent / key
        zoo.fit.main([*flags, "--trainer.devices", "2", "--trainer.accelerator", "cpu", "--trainer.strategy", "ddp",
                      "--runs_dir", str(out / "runs"), *QUIET, "--trainer.callbacks+=tests.helpers.SaveRankWeights",
                      f"--trainer.callbacks.directory={out / 'dump'}"])
    shutdown()
