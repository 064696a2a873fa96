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


def test_unknown_weights_and_missing_files_say_what_there_is():
    with pytest.raises(UnknownNameError, match="no pretrained cgan weights named 'mnist'; valid choices: digits"):
        zoo.load("cgan", weights="mnist")
    with pytest.raises(FileNotFoundError, match="no weights file at missing.pth"):
        zoo.load("cgan", weights="missing.pth")
    with pytest.raises(ValueError, match="weights="):
        zoo.load("cyclegan")
