"""``zoo.fit`` refuses a model and data set that cannot work together before any work, saying what to use."""

from __future__ import annotations

import pytest

from tests.fake_data import random_image, write_aligned_folder, write_unpaired_folder


def _error(fit, capsys, *args) -> str:
    with pytest.raises(SystemExit) as exit_:
        fit(*args, "--trainer.max_steps", "1")
    assert exit_.value.code == 2
    return capsys.readouterr().err


def _plain_folder(root):
    root.mkdir()
    for i in range(4):
        random_image(16, 16, seed=i).save(root / f"{i}.png")
    return root


@pytest.mark.parametrize("model", ["cgan", "acgan", "sgan"])
def test_a_class_conditional_model_on_unlabelled_data(fit, capsys, tmp_path, model):
    err = _error(fit, capsys, "--model", model, "--data", str(_plain_folder(tmp_path / "plain")))
    assert f"zoo.fit: error: {model} is class-conditional and needs labelled data; 'image_folder' has no labels" in err
    assert "unconditional model (dcgan, progan, infogan)" in err


def test_a_paired_model_on_unpaired_data_and_the_reverse(fit, capsys, tmp_path):
    err = _error(fit, capsys, "--model", "pix2pix", "--data", str(write_unpaired_folder(tmp_path / "u")))
    assert "pix2pix trains on paired data, but 'unpaired_folder' holds unpaired images" in err and "--model cyclegan" in err
    err = _error(fit, capsys, "--model", "cyclegan", "--data", str(write_aligned_folder(tmp_path / "a")))
    assert "cyclegan trains on unpaired data, but 'paired_folder' holds paired images" in err and "--model pix2pix" in err
    err = _error(fit, capsys, "--model", "cyclegan", "--data", "digit_outlines")
    assert "'digit_outlines' holds paired images" in err


def test_a_translation_model_on_an_image_classification_set(fit, capsys):
    err = _error(fit, capsys, "--model", "cyclegan", "--data", "digits")
    assert "cyclegan translates images and needs unpaired image-to-image data; 'digits' is an image data set" in err
    assert "trainA/ trainB/ folders" in err


def test_a_generative_model_on_image_pairs(fit, capsys):
    err = _error(fit, capsys, "--model", "dcgan", "--data", "digit_strokes")
    assert "dcgan generates images; 'digit_strokes' holds image-to-image pairs" in err


def test_a_data_path_that_does_not_exist_is_named_as_a_path(fit, capsys, tmp_path):
    err = _error(fit, capsys, "--model", "cgan", "--data", str(tmp_path / "no" / "such"))
    assert f"--data {tmp_path / 'no' / 'such'}: no such folder" in err and "unknown data set" not in err


def test_an_aligned_folder_whose_images_are_not_side_by_side_pairs(fit, capsys, tmp_path):
    root = tmp_path / "square"
    (root / "train").mkdir(parents=True)
    for i in range(2):
        random_image(32, 32, seed=i).save(root / "train" / f"{i}.png")
    with pytest.raises(ValueError, match=r"0.png is 32x32: an aligned \(pix2pix\) image holds A and B side by side"):
        fit("--model", "pix2pix", "--data", str(root), "--trainer.max_steps", "1")
