"""``ProgressLines``: whole lines, every few percent of the run, for logs rather than terminals."""

from __future__ import annotations

import io

import lightning.pytorch as pl
import pytest

from datamodules.toy import CircleDataModule
from zoo.callbacks.progress import ProgressLines
from zoo.models import GAN


def test_one_line_every_quarter_of_the_run_with_speed_time_left_and_losses():
    stream = io.StringIO()
    progress = ProgressLines(every_percent=25, every_seconds=3600, stream=stream)
    trainer = pl.Trainer(max_steps=40, callbacks=[progress], logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", log_every_n_steps=5)
    trainer.fit(GAN(hidden=16, layers=1), datamodule=CircleDataModule(batch_size=32))
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["10/40", "20/40", "30/40", "40/40"]
    assert "(25%)" in lines[0] and "it/s" in lines[0] and "left" in lines[0] and "d_loss" in lines[-1]
    assert "\r" not in stream.getvalue() and progress.lines == 4


def test_the_intervals_must_be_positive():
    with pytest.raises(ValueError, match="every_percent and every_seconds must be > 0"):
        ProgressLines(every_percent=0)
