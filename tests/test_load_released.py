"""``zoo.load(model, weights=...)``: the reference authors' released generators in our modules.

The files are built here in the reference's layout (``tests/nn/reference_layout.py``) at full
size, so the test proves the whole path a user takes with a downloaded ``.pth``.
"""

import pytest
import torch

import zoo
from zoo.registry import UnknownNameError
from tests.nn.reference_layout import RefResnetGenerator, RefUnetGenerator, randomise
from zoo.models import CycleGAN, Pix2Pix


pytestmark = pytest.mark.usefixtures("one_thread")


def test_cyclegan_by_name_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    reference = randomise(RefResnetGenerator(3, 3, 64, 9)).eval()
    (tmp_path / "weights" / "cyclegan").mkdir(parents=True)
    torch.save(reference.state_dict(), tmp_path / "weights" / "cyclegan" / "horse2zebra.pth")

    model = zoo.load("cyclegan", weights="horse2zebra")
    assert isinstance(model, CycleGAN) and not model.training
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        expected = reference(x)
    assert torch.allclose(model.translate(x), expected, atol=1e-5)
    with pytest.raises(ValueError, match="AtoB"):  # the released file holds G only
        model.translate(x, "BtoA")


def test_pix2pix_from_a_local_file(tmp_path):
    reference = randomise(RefUnetGenerator(3, 3, 8, 64)).eval()
    path = tmp_path / "facades_label2photo.pth"
    torch.save(reference.state_dict(), path)

    model = zoo.load("pix2pix", weights=path)
    assert isinstance(model, Pix2Pix) and model.hparams.image_size == 256
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        expected = reference(x)
    assert torch.allclose(model.translate(x), expected, atol=1e-4)


def test_offline_name_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(FileNotFoundError) as info:
        zoo.load("cyclegan", weights="zebra2horse")
    message = str(info.value)
    assert "efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/zebra2horse.pth" in message
    assert str(tmp_path / "weights" / "cyclegan" / "zebra2horse.pth") in message


def test_models_without_released_weights_say_which_have_them():
    with pytest.raises(UnknownNameError, match="no pretrained weights for model 'cgan'; valid choices: cyclegan, pix2pix"):
        zoo.load("cgan", weights="digits")
    with pytest.raises(ValueError, match="weights="):
        zoo.load("cyclegan")
