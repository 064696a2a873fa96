"""``RunCSVLogger``: the CSV logger that owns a run directory and survives a resume.

Lightning's ``CSVLogger`` deletes ``metrics.csv`` when it opens a non-empty
directory. ``zoo.fit --ckpt_path last`` resumes *inside* the run directory, so
this logger keeps the file and appends to it (the header is extended when new
columns appear).
"""

from __future__ import annotations

import csv
import os

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class AppendingExperimentWriter(ExperimentWriter):
    """An ``ExperimentWriter`` that appends to an existing ``metrics.csv`` instead of deleting it."""

    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as handle:
                header = next(csv.reader(handle), [])
            self.metrics_keys = sorted(set(self.metrics_keys) | set(header))


class RunCSVLogger(CSVLogger):
    """``CSVLogger`` writing ``<save_dir>/<name>/<version>/metrics.csv``, appending on resume."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AppendingExperimentWriter(log_dir=self.log_dir)
        return self._experiment
