"""``SampleGrid``: a PNG grid of the model's ``sample_grid()`` every N iterations and at the end."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
from PIL import Image

import zoo
from datamodules import DigitsDataModule
from zoo.callbacks import SampleGrid

pytestmark = pytest.mark.usefixtures("one_thread")


def test_grids_are_written_every_n_steps_and_once_at_the_end(tmp_path):
    model = zoo.create_model("dcgan", generator_channels=8, discriminator_channels=8, latent_dim=8,
                             image_shape=(1, 16, 16), grid_size=3)
    grid = SampleGrid(every_n_steps=2)
    trainer = pl.Trainer(max_steps=4, default_root_dir=tmp_path, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", callbacks=[grid])
    trainer.fit(model, datamodule=DigitsDataModule(batch_size=8, image_size=16))
    written = sorted(p.name for p in (tmp_path / "samples").glob("*.png"))
    assert written == ["step_000002.png", "step_000004.png"]  # the end-of-training grid is not repeated
    assert grid.last_path == tmp_path / "samples" / "step_000004.png"
    width, height = Image.open(grid.last_path).size
    assert width == height and width >= 3 * 16  # 3 x 3 images of 16 px, with padding


def test_a_negative_interval_is_an_error():
    with pytest.raises(ValueError, match="every_n_steps must be >= 0, got -1"):
        SampleGrid(every_n_steps=-1)
