"""``python -m zoo.fit``: names, defaults, config round-trip, run layout, resume, loading."""

from __future__ import annotations

import csv

import pytest
import torch
import yaml

import datamodules
import zoo
import zoo.precision
from zoo.fit import UsageError, main
from zoo.fit_setup import select


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_registered_model_runs_fast_dev_run_on_its_default_data(fit, name):
    cli = fit("--model", name, "--trainer.fast_dev_run", "2")
    n_critic = cli.model.hparams.get("n_critic", 1)  # a generator step follows every n_critic batches
    assert cli.trainer.global_step == 2 // n_critic


def test_unknown_model_and_data_fail_at_once_naming_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", "stylegan9"])
    assert exit_info.value.code == 2
    assert "unknown model 'stylegan9'; valid choices: " + ", ".join(zoo.list_models()) in capsys.readouterr().err
    names = ", ".join(datamodules.list_datamodules())
    with pytest.raises(UsageError, match=rf"unknown data set 'svhn'; valid choices: {names}, a published set \(.*horse2zebra"):
        select(["--model", "cgan", "--data", "svhn"])
    with pytest.raises(UsageError, match="choose a model with --model"):
        select([])


def test_names_become_parser_defaults_and_default_data_is_filled_in():
    chosen = select(["--model", "sgan"])
    assert chosen.defaults() == {"model": {"class_path": "zoo.models.sgan.SGAN", "init_args": {}},
                                 "data": {"class_path": "datamodules.digits.DigitsDataModule", "init_args": {}}}
    assert chosen.rest == []
    chosen = select(["--model", "zoo.models.sgan.SGAN", "--data.batch_size", "8"])
    assert chosen.data_class_path == "datamodules.digits.DigitsDataModule" and chosen.rest == ["--data.batch_size", "8"]
    assert select(["--model", "SGAN"]).model_class is zoo.get_model_class("sgan")  # the class name works too
    # cgan's embedded recipe (the benchmark's 3000 iterations) follows the default data, as a default your flag beats
    chosen = select(["--model", "cgan", "--trainer.max_steps", "10"])
    assert chosen.defaults()["trainer.max_steps"] == 3000 and chosen.rest == ["--trainer.max_steps", "10"]
    chosen = select(["--model=cgan", "--data=mnist"])
    assert (chosen.model_class.__name__, chosen.data_class_path, chosen.recipe) == (
        "CGAN", "datamodules.mnist.MNISTDataModule", {})


def test_the_recipe_shows_in_print_config_and_a_typed_flag_beats_it(fit, capsys):
    with pytest.raises(SystemExit):
        main(["--model", "dcgan", "--model.lr", "1e-4", "--print_config"])
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["model"]["init_args"]["lr"] == 1e-4  # yours
    assert config["model"]["init_args"]["r1_weight"] == 1.0 and config["trainer"]["max_steps"] == 4000  # the recipe's


def test_dcgan_takes_its_digits_recipe_only_on_the_embedded_data():
    init_args = select(["--model", "dcgan"]).defaults()["model"]["init_args"]
    assert init_args == {"lr": 0.0005, "r1_weight": 1.0, "r1_interval": 4}
    on_mnist = select(["--model", "dcgan", "--data", "mnist"]).defaults()["model"]["init_args"]
    assert on_mnist == {}  # the paper's DCGAN there


def test_help_lists_models_and_data_sets(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in zoo.list_models())
    assert "Data sets (--data): " + ", ".join(datamodules.list_datamodules()) in text
    assert "--trainer.max_steps" in text and "--ckpt_path" in text


def test_run_directory_layout_and_last_line(fit, tmp_path, capsys):
    cli = fit("--model", "cgan", "--trainer.max_steps", "4", "--samples.every_n_steps", "2",
              "--trainer.log_every_n_steps", "2",
              "--model.generator_channels", "8", "--model.discriminator_channels", "8")
    run = tmp_path / "runs" / "cgan" / "digits" / "version_0"
    assert cli.trainer.log_dir == str(run)
    assert (run / "config.yaml").is_file() and (run / "metrics.csv").is_file()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000002.png", "step_000004.png"]
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"run directory: {run}"
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"step", "train/d_loss", "train/g_loss"} <= set(header)
    # linked from the DataModule, recorded with the checkpoint
    assert tuple(cli.model.hparams.image_shape) == (1, 32, 32) and cli.model.hparams.num_classes == 10


def test_print_config_round_trips_through_config(tmp_path, fit, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--model", "cgan", "--model.latent_dim", "12", "--trainer.max_steps", "3", "--print_config"])
    assert exit_.value.code in (0, None)
    printed = capsys.readouterr().out
    config = yaml.safe_load(printed)
    assert config["model"]["class_path"] in ("zoo.models.cgan.CGAN", "zoo.models.CGAN")  # jsonargparse may shorten it
    assert config["model"]["init_args"]["latent_dim"] == 12
    assert config["data"]["class_path"] in ("datamodules.digits.DigitsDataModule", "datamodules.DigitsDataModule")
    path = tmp_path / "run.yaml"
    path.write_text(printed)
    cli = fit("--config", str(path), "--model.generator_channels", "8", "--model.discriminator_channels", "8")
    assert cli.model.hparams.latent_dim == 12 and cli.trainer.global_step == 3


def test_resume_with_ckpt_path_last_continues_from_step_k(fit, tmp_path):
    tiny = ["--model", "cgan", "--model.generator_channels", "8", "--model.discriminator_channels", "8",
            "--model.ema_decay", "0.9", "--seed_everything", "1"]
    first = fit(*tiny, "--trainer.max_steps", "6", "--trainer.log_every_n_steps", "2")
    ckpt = torch.load(tmp_path / "runs/cgan/digits/version_0/checkpoints/last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 6
    resumed = fit(*tiny, "--trainer.max_steps", "10", "--ckpt_path", "last", "--trainer.log_every_n_steps", "2")
    assert resumed.trainer.log_dir == first.trainer.log_dir  # same run directory
    assert resumed.trainer.global_step == 10
    # optimizer state restored: Adam's step count continued from 6 to 10
    assert resumed.trainer.optimizers[0].state_dict()["state"][0]["step"].item() == 10
    assert resumed.trainer.optimizers[1].state_dict()["state"][0]["step"].item() == 10
    import csv

    with open(tmp_path / "runs/cgan/digits/version_0/metrics.csv") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle)]
    assert steps[0] < 6 < steps[-1] and steps == sorted(steps)  # the first run's rows were kept


def test_resume_restores_weights_ema_and_counters_exactly(tmp_path):
    """The state right after restoring equals the state that was saved."""
    import lightning.pytorch as pl

    from datamodules import DigitsDataModule
    from zoo.models import CGAN

    class Capture(pl.Callback):
        def on_train_start(self, trainer, module):
            self.step = trainer.global_step
            self.state = {k: v.clone() for k, v in module.state_dict().items()}
            self.adam = trainer.optimizers[0].state_dict()["state"][0]["exp_avg"].clone()

    kwargs = dict(latent_dim=8, generator_channels=8, discriminator_channels=8, ema_decay=0.9)
    trainer = pl.Trainer(max_steps=4, default_root_dir=tmp_path, logger=False, enable_progress_bar=False)
    model = CGAN(**kwargs)
    trainer.fit(model, datamodule=DigitsDataModule(batch_size=16))
    path = tmp_path / "k.ckpt"
    trainer.save_checkpoint(path)
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    saved_adam = trainer.optimizers[0].state_dict()["state"][0]["exp_avg"].clone()

    capture = Capture()
    trainer = pl.Trainer(max_steps=5, logger=False, enable_progress_bar=False, callbacks=[capture],
                         enable_checkpointing=False)
    trainer.fit(CGAN(**kwargs), datamodule=DigitsDataModule(batch_size=16), ckpt_path=path)
    assert capture.step == 4 and trainer.global_step == 5
    assert torch.equal(capture.adam, saved_adam)
    for key, value in saved.items():
        assert torch.equal(capture.state[key], value), key
    assert any(k.startswith("generator_ema.") for k in saved)


def test_resume_without_a_previous_run_is_a_clear_error(fit, capsys):
    with pytest.raises(SystemExit) as exit_:
        fit("--model", "cgan", "--ckpt_path", "last")
    assert exit_.value.code == 2 and "zoo.fit: error: --ckpt_path last: no checkpoint to resume under" in capsys.readouterr().err


def test_zoo_load_reproduces_samples_for_the_same_noise(fit, tmp_path):
    cli = fit("--model", "cgan", "--trainer.max_steps", "3", "--model.generator_channels", "8",
              "--model.discriminator_channels", "8")
    trained = cli.model.eval()
    loaded = zoo.load(tmp_path / "runs/cgan/digits/version_0/checkpoints/last.ckpt")
    assert type(loaded) is type(trained) and not loaded.training
    z, labels = torch.randn(16, trained.hparams.latent_dim), torch.arange(16) % 10
    assert torch.allclose(loaded.sample(16, labels=labels, noise=z), trained.sample(16, labels=labels, noise=z))
    assert loaded.sample(16, labels=torch.arange(16) % 10).shape == (16, 1, 32, 32)


def test_zoo_load_errors():
    with pytest.raises(FileNotFoundError, match="neither a checkpoint file, a weights file, a weights tag .* nor a registered model"):
        zoo.load("nowhere/at/all")
    with pytest.raises(ValueError, match=r"zoo.load\('cgan'\) needs weights=...: one of cgan.digits"):
        zoo.load("cgan")


def test_wandb_logger_works_offline_next_to_the_csv_run_directory(fit, tmp_path):
    pytest.importorskip("wandb")
    cli = fit("--model", "cgan", "--trainer.max_steps", "2", "--samples.every_n_steps", "1",
              "--model.generator_channels", "8", "--model.discriminator_channels", "8",
              "--trainer.logger", "wandb", "--trainer.logger.save_dir", str(tmp_path / "wb"),
              "--trainer.logger.offline", "true")  # the name users type; WandbLogger works too
    names = [type(logger).__name__ for logger in cli.trainer.loggers]
    assert names == ["RunCSVLogger", "WandbLogger"]
    assert (tmp_path / "runs/cgan/digits/version_0/samples/step_000002.png").is_file()
    assert list((tmp_path / "wb").rglob("*.wandb"))


def test_tensorboard_logger_receives_sample_images(fit, tmp_path):
    pytest.importorskip("tensorboard")
    cli = fit("--model", "cgan", "--trainer.max_steps", "2", "--samples.every_n_steps", "1",
              "--model.generator_channels", "8", "--model.discriminator_channels", "8",
              "--trainer.logger", "tensorboard", "--trainer.logger.save_dir", str(tmp_path / "tb"))
    assert [type(logger).__name__ for logger in cli.trainer.loggers] == ["RunCSVLogger", "TensorBoardLogger"]
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))


def test_precision_flag_is_honoured(fit):
    cli = fit("--model", "cgan", "--trainer.max_steps", "2", "--trainer.precision", "bf16-mixed",
              "--model.generator_channels", "8", "--model.discriminator_channels", "8")
    assert cli.trainer.precision == "bf16-mixed" and cli.trainer.global_step == 2


@pytest.mark.parametrize("native_bf16", [True, False])
def test_unset_precision_is_bf16_mixed_only_on_a_cpu_with_native_bf16(fit, tmp_path, monkeypatch, native_bf16):
    monkeypatch.setattr(zoo.precision, "cpu_has_native_bf16", lambda: native_bf16)
    cli = fit("--model", "cgan", "--trainer.max_steps", "1", "--trainer.accelerator", "cpu",
              "--model.generator_channels", "8", "--model.discriminator_channels", "8")
    expected = "bf16-mixed" if native_bf16 else "32-true"
    assert cli.trainer.precision == expected
    # the saved config names the precision the run used, so `--config` replays it
    saved = yaml.safe_load((tmp_path / "runs/cgan/digits/version_0/config.yaml").read_text())
    assert saved["trainer"]["precision"] == expected


def test_default_precision_is_bf16_where_the_hardware_has_it(monkeypatch):
    monkeypatch.setattr(zoo.precision, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert zoo.fit.default_precision("gpu") == "32-true" and zoo.fit.default_precision("cpu") == "bf16-mixed"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for capability, expected in (((7, 5), "32-true"), ((8, 0), "bf16-mixed"), ((9, 0), "bf16-mixed")):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, c=capability: c)
        assert zoo.fit.default_precision("auto") == zoo.fit.default_precision("gpu") == expected, capability
        assert zoo.fit.default_precision("cpu") == "bf16-mixed"
    precision, why = zoo.precision.explain_default_precision("gpu")
    assert precision == "bf16-mixed" and "compute capability 9.0" in why
    monkeypatch.setattr(zoo.precision, "cpu_has_native_bf16", lambda: False)
    assert zoo.precision.explain_default_precision("cpu") == ("32-true", "the CPU has no native bfloat16 (it would "
                                                                         "be emulated, and slower)")


def test_logger_names_and_class_names_select_the_same_logger(capsys):
    for value in ("wandb", "WandbLogger", "lightning.pytorch.loggers.WandbLogger"):
        with pytest.raises(SystemExit):
            main(["--model", "cgan", "--trainer.logger", value, "--trainer.logger.offline", "true", "--print_config"])
        config = yaml.safe_load(capsys.readouterr().out)
        assert config["trainer"]["logger"]["class_path"].endswith("WandbLogger"), value
        assert config["trainer"]["logger"]["init_args"]["offline"] is True


def test_a_time_bounded_run_is_not_cut_short_and_saves_its_last_step(fit, tmp_path):
    """--trainer.max_time alone: the built-in max_steps 2000 yields, and however the run ends, last.ckpt and the
    last row of metrics.csv are at the step it ended on (checkpoints every 500 steps leave nothing to chance)."""
    cli = fit("--model", "gan", "--trainer.max_time", "00:00:00:03")
    assert cli.trainer.max_steps == -1
    step = cli.trainer.global_step
    run = tmp_path / "runs/gan/circle/version_0"
    assert torch.load(run / "checkpoints/last.ckpt", weights_only=True)["global_step"] == step
    with open(run / "metrics.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("train/d_loss")]
    assert int(rows[-1]["step"]) == step
    assert [int(r["step"]) for r in rows] == sorted({int(r["step"]) for r in rows})  # no stale repeated row


def test_a_limit_you_set_replaces_the_recipes_limits(capsys):
    """ProGAN's recipe stops at 20000 steps or 15 minutes; --trainer.max_steps alone drops its 15 minutes."""
    with pytest.raises(SystemExit):
        main(["--model", "progan", "--trainer.max_steps", "30", "--print_config"])
    trainer = yaml.safe_load(capsys.readouterr().out)["trainer"]
    assert (trainer["max_steps"], trainer["max_time"]) == (30, None)
    with pytest.raises(SystemExit):
        main(["--model", "progan", "--print_config"])
    trainer = yaml.safe_load(capsys.readouterr().out)["trainer"]
    assert (trainer["max_steps"], trainer["max_time"]) == (20000, "00:00:15:00")  # the recipe's, untouched


def test_max_steps_ends_with_last_ckpt_and_metrics_at_that_step_between_intervals(fit, tmp_path):
    cli = fit("--model", "cgan", "--model.generator_channels", "8", "--model.discriminator_channels", "8",
              "--trainer.max_steps", "13", "--checkpoint.every_n_train_steps", "5")
    run = tmp_path / "runs/cgan/digits/version_0"
    assert torch.load(run / "checkpoints/last.ckpt", weights_only=True)["global_step"] == cli.trainer.global_step == 13
    with open(run / "metrics.csv") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle) if row.get("train/d_loss")]
    assert steps == [10, 13]  # every 10 batches, and the last step


def test_the_datamodule_is_built_once_and_the_recipe_is_announced_in_one_line(fit, caplog, monkeypatch):
    from datamodules.digits import DigitsDataModule

    built = []
    original = DigitsDataModule.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(DigitsDataModule, "__init__", counting)
    fit("--model", "cgan", "--model.generator_channels", "8", "--model.discriminator_channels", "8",
        "--trainer.max_steps", "1")
    assert len(built) == 1  # the links read the instance the run trains on
    messages = caplog.messages  # what Lightning's rank-zero logger prints
    assert [m for m in messages if "recipe" in m] == [
        "zoo.fit: cgan on its embedded data set digits: recipe nothing (your flags set every value of it) "
        "(docs/models/cgan.md)"]  # the recipe's max_steps 3000 was replaced by yours
    assert sum("Seed set to" in m for m in messages) == 1
    assert not any("No seed found" in m or "Tip:" in m for m in messages)
