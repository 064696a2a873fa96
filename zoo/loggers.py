"""``RunCSVLogger``: the CSV logger that owns a run directory and survives a resume.

Lightning's ``CSVLogger`` deletes ``metrics.csv`` when it opens a non-empty
directory. ``zoo.fit --ckpt_path last`` resumes *inside* the run directory, so
this logger keeps the file and appends to it (the header is extended when new
columns appear). It uses Lightning's public logger API only: the file is set
aside while Lightning's writer opens the directory, then put back, and the
writer is told its columns (``metrics_keys``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class RunCSVLogger(CSVLogger):
    """``CSVLogger`` writing ``<save_dir>/<name>/<version>/metrics.csv``, appending on resume."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.opened_writer: ExperimentWriter | None = None

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self.opened_writer is None:
            metrics = Path(self.log_dir) / ExperimentWriter.NAME_METRICS_FILE
            kept = metrics.read_bytes() if metrics.is_file() else None
            self.opened_writer = CSVLogger.experiment.fget(self)  # Lightning's writer (deletes metrics.csv)
            if kept is not None:
                metrics.write_bytes(kept)
                with open(metrics, newline="") as handle:
                    header = next(csv.reader(handle), [])
                self.opened_writer.metrics_keys = sorted(set(self.opened_writer.metrics_keys) | set(header))
        return self.opened_writer
