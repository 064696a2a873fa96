"""``zoo.fit`` with the image-to-image models: folder paths, published names, links, run names."""

from __future__ import annotations

import pytest
import torch

from tests.fake_data import write_aligned_folder, write_unpaired_folder
from zoo.fit_setup import select

SMALL = ["--model.generator_channels", "8", "--model.discriminator_channels", "8"]


def test_published_names_follow_the_model():
    paired = select(["--model", "pix2pix", "--data", "facades", "--data.image_size", "64"])
    assert paired.defaults()["data"] == {"class_path": "datamodules.folders.PairedFolderDataModule",
                                         "init_args": {"dataset": "facades"}}
    assert paired.rest == ["--data.image_size", "64"]  # LightningCLI parses the rest: the user's flag wins
    unpaired = select(["--model", "cyclegan", "--data=facades"])
    assert unpaired.defaults()["data"]["class_path"] == "datamodules.folders.UnpairedFolderDataModule"
    assert select(["--model", "cyclegan", "--data", "horse2zebra"]).data_class_path == (
        "datamodules.folders.UnpairedFolderDataModule"
    )


def test_folder_paths_pick_the_datamodule_by_layout(tmp_path):
    aligned = write_aligned_folder(tmp_path / "facades_like")
    unpaired = write_unpaired_folder(tmp_path / "h2z")
    chosen = select(["--model", "pix2pix", "--data", str(aligned)])
    assert (chosen.data_class_path, chosen.data_init_args) == (
        "datamodules.folders.PairedFolderDataModule", {"root": str(aligned)})
    chosen = select(["--model", "cyclegan", "--data", str(unpaired)])
    assert (chosen.data_class_path, chosen.data_init_args) == (
        "datamodules.folders.UnpairedFolderDataModule", {"root": str(unpaired)})


def test_pix2pix_trains_on_an_aligned_folder_with_linked_shapes(fit, tmp_path):
    root = write_aligned_folder(tmp_path / "pairs", counts={"train": 4, "val": 2}, size=(40, 36))
    cli = fit("--model", "pix2pix", "--data", str(root), "--data.image_size", "32", "--data.output_channels", "1",
              "--data.direction", "BtoA", *SMALL, "--trainer.max_steps", "4")
    model = cli.model
    assert (model.hparams.in_channels, model.hparams.out_channels, model.hparams.image_size) == (3, 1, 32)
    assert cli.trainer.global_step == 4  # one epoch: validation ran at its end
    run = tmp_path / "runs" / "pix2pix" / "pairs" / "version_0"
    assert (run / "checkpoints" / "last.ckpt").is_file() and list((run / "samples").glob("step_*.png"))
    assert "val/l1" in cli.trainer.callback_metrics  # the val split has ground truth


def test_cyclegan_trains_on_an_unpaired_folder(fit, tmp_path):
    root = write_unpaired_folder(tmp_path / "h2z")
    cli = fit("--model", "cyclegan", "--data", str(root), "--data.image_size", "32", "--model.num_blocks", "1",
              *SMALL, "--trainer.max_steps", "3")
    assert cli.trainer.global_step == 3
    assert (tmp_path / "runs" / "cyclegan" / "h2z" / "version_0" / "checkpoints" / "last.ckpt").is_file()
    assert "val/l1" not in cli.trainer.callback_metrics  # folders have no ground truth
    out = cli.model.translate(torch.rand(3, 20, 28) * 2 - 1, "BtoA")
    assert out.shape == (3, 20, 28)


def test_the_embedded_recipe_comes_with_the_default_data_only():
    chosen = select(["--model", "cyclegan", "--trainer.max_steps", "5"])
    defaults = chosen.defaults()
    assert defaults["data"]["class_path"] == "datamodules.translation_tasks.DigitStrokesDataModule"
    assert defaults["model"]["init_args"]["generator_channels"] == 16
    assert defaults["trainer.max_steps"] == 2000 and chosen.rest == ["--trainer.max_steps", "5"]  # a default: 5 wins
    assert "num_blocks" not in select(["--model", "cyclegan", "--data", "horse2zebra"]).defaults()["model"]["init_args"]


def test_recipe_flags_reach_the_model(fit):
    cli = fit("--model", "cyclegan", "--trainer.max_steps", "1", "--model.num_blocks", "1")
    assert cli.model.hparams.generator_channels == 16 and cli.model.hparams.num_blocks == 1
    assert (cli.model.hparams.n_epochs, cli.model.hparams.n_epochs_decay) == (22, 22)


def test_metrics_callback_scores_each_direction_of_a_translation_model(fit, tmp_path, monkeypatch):
    """``--metrics`` on CycleGAN: translations of one side of the split vs. real images of the other."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    cli = fit("--model", "cyclegan", "--trainer.max_steps", "2", "--model.num_blocks", "1",
              "--metrics", "fd_digits,conditional_accuracy", "--metrics.real_split", "val",
              "--metrics.every_n_steps", "0")
    metrics = cli.trainer.callback_metrics
    assert {"val/fd_digits", "val/fd_digits_BtoA", "val/conditional_accuracy_BtoA"} <= set(metrics)

    from zoo.metrics.domain import fd_digits, identity_accuracy

    batches = list(cli.datamodule.val_dataloader())
    thin, thick = torch.cat([b["A"] for b in batches]), torch.cat([b["B"] for b in batches])
    labels = torch.cat([b["A_label"] for b in batches])
    translated = cli.model.translate(thin)
    assert metrics["val/fd_digits"].item() == pytest.approx(fd_digits(thick, translated), rel=1e-3)
    # chunks of a different size shift the barely trained outputs by float noise: one digit may flip
    assert metrics["val/conditional_accuracy"].item() == pytest.approx(identity_accuracy(translated, labels), abs=1.5 / 179)
