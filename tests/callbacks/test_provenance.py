"""``RunProvenance``: the training data set is recorded in every checkpoint, by the callback, not the model."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

import zoo
from datamodules import DigitsDataModule
from zoo.callbacks import RunProvenance, data_provenance

pytestmark = pytest.mark.usefixtures("one_thread")


def _fit_and_save(tmp_path, callbacks):
    model = zoo.create_model("dcgan", generator_channels=8, discriminator_channels=8, latent_dim=8,
                             image_shape=(1, 16, 16))
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", callbacks=callbacks)
    trainer.fit(model, datamodule=DigitsDataModule(batch_size=8, image_size=16))
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    return torch.load(path, map_location="cpu", weights_only=True)["zoo"]


def test_the_callback_records_the_registered_data_set_and_its_arguments(tmp_path):
    meta = _fit_and_save(tmp_path, [RunProvenance()])
    assert meta["name"] == "dcgan" and meta["class_path"] == "zoo.models.dcgan.DCGAN"
    assert meta["data"]["name"] == "digits"
    assert meta["data"]["init_args"]["batch_size"] == 8 and meta["data"]["init_args"]["image_size"] == 16


def test_without_the_callback_the_model_records_only_itself(tmp_path):
    meta = _fit_and_save(tmp_path, [])
    assert meta["name"] == "dcgan" and meta["class_path"] == "zoo.models.dcgan.DCGAN" and "data" not in meta


def test_unregistered_data_is_not_recorded():
    class Custom(pl.LightningDataModule):
        pass

    assert data_provenance(Custom()) is None and data_provenance(None) is None
    assert data_provenance(DigitsDataModule(batch_size=4))["name"] == "digits"
