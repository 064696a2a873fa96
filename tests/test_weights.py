import hashlib
import urllib.error
from pathlib import Path

import pytest
import torch

from tests.nn.reference_layout import RefResnetGenerator, RefUnetGenerator, randomise
import dataclasses

from zoo import weights
from zoo.api import get_weights, list_pretrained, pretrained_generator
from zoo.registry import MODELS
from zoo.nn import ResnetGenerator, UnetGenerator
from zoo.registry import UnknownNameError
from zoo.weights import (
    ChecksumError,
    StateDictMismatchError,
    WeightsUnavailableError,
    fetch_weights,
    load_reference_generator,
    map_reference_state_dict,
    weights_cache_dir,
)

# The names printed by the reference's scripts/download_{cyclegan,pix2pix}_model.sh.
CYCLEGAN = [
    "apple2orange", "orange2apple", "summer2winter_yosemite", "winter2summer_yosemite", "horse2zebra", "zebra2horse",
    "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh", "sat2map", "map2sat",
    "cityscapes_photo2label", "cityscapes_label2photo", "facades_photo2label", "facades_label2photo",
    "iphone2dslr_flower",
]
PIX2PIX = ["edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def no_download(monkeypatch):
    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)


# --- the reference layout round trip ----------------------------------------------------


def test_resnet_loads_reference_weights_and_matches_reference_outputs(tmp_path):
    torch.manual_seed(0)
    reference = randomise(RefResnetGenerator(3, 3, ngf=8, num_blocks=2)).eval()
    state = reference.state_dict()
    assert {"model.1.weight", "model.1.bias", "model.10.conv_block.1.weight", "model.11.conv_block.5.bias",
            "model.12.weight", "model.19.weight", "model.19.bias"} <= set(state)
    torch.save(state, tmp_path / "latest_net_G.pth")

    ours = load_reference_generator(tmp_path / "latest_net_G.pth", ResnetGenerator(base_channels=8, num_blocks=2))
    x = torch.randn(2, 3, 32, 40)
    with torch.no_grad():
        assert torch.allclose(ours.eval()(x), reference(x), atol=1e-5)


@pytest.mark.parametrize("num_downs", [5, 6])
def test_unet_loads_reference_weights_and_matches_reference_outputs(tmp_path, num_downs):
    torch.manual_seed(0)
    reference = randomise(RefUnetGenerator(3, 3, num_downs, ngf=8, norm="batch")).eval()
    state = reference.state_dict()
    assert {"model.model.0.weight", "model.model.3.weight", "model.model.3.bias", "model.model.1.model.2.running_var",
            "model.model.1.model.3.model.6.weight"} <= set(state)
    assert "model.model.0.bias" not in state  # batch norm: no bias before a norm, nor on the first conv
    path = tmp_path / "unet.pth"
    torch.save(state, path)

    ours = load_reference_generator(path, UnetGenerator(num_downs=num_downs, base_channels=8, norm="batch")).eval()
    x = torch.randn(2, 3, 2**num_downs, 2**num_downs)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), atol=1e-5)
    assert torch.equal(ours.encoder[1].norm.running_var, state["model.model.1.model.2.running_var"])
    # pix2pix's own test mode: batch statistics and dropout on (the same masks, drawn in the same order)
    ours.train(), reference.train()
    with torch.no_grad():
        torch.manual_seed(1)
        expected = reference(x)
        torch.manual_seed(1)
        assert torch.allclose(ours(x), expected, atol=1e-5)


def test_old_instance_norm_statistics_and_dataparallel_prefix_are_dropped(tmp_path):
    torch.manual_seed(0)
    reference = randomise(RefResnetGenerator(3, 3, ngf=4, num_blocks=1)).eval()
    state = {f"module.{k}": v for k, v in reference.state_dict().items()}
    for norm in ("model.2", "model.5", "model.10.conv_block.2", "model.12"):  # pre-0.4 InstanceNorm buffers
        state[f"module.{norm}.running_mean"] = torch.zeros(4)
        state[f"module.{norm}.running_var"] = torch.ones(4)
        state[f"module.{norm}.num_batches_tracked"] = torch.tensor(3)
    ours = load_reference_generator(state, ResnetGenerator(base_channels=4, num_blocks=1)).eval()
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), atol=1e-5)


def test_files_without_num_batches_tracked_and_in_the_legacy_format_load(tmp_path):
    reference = RefUnetGenerator(1, 2, 5, ngf=4)
    state = {k: v for k, v in reference.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pth", _use_new_zipfile_serialization=False)
    ours = load_reference_generator(tmp_path / "old.pth", UnetGenerator(1, 2, num_downs=5, base_channels=4))
    assert ours.encoder[1].norm.num_batches_tracked.item() == 0


def test_mismatches_list_every_offending_key():
    state = RefResnetGenerator(3, 3, ngf=4, num_blocks=2).state_dict()
    del state["model.1.weight"]
    state["model.99.weight"] = torch.zeros(1)
    state["model.19.bias"] = torch.zeros(5)
    with pytest.raises(StateDictMismatchError) as error:
        map_reference_state_dict(state, ResnetGenerator(base_channels=4, num_blocks=2))
    message = str(error.value)
    assert "missing keys: model.1.weight" in message and "unexpected keys: model.99.weight" in message
    assert "model.19.bias: file (5,), head.conv.bias (3,)" in message

    pix2pix = RefUnetGenerator(3, 3, 5, ngf=4, norm="batch").state_dict()
    with pytest.raises(StateDictMismatchError, match=r"missing keys: model\.model\.0\.bias") as error:
        map_reference_state_dict(pix2pix, UnetGenerator(num_downs=5, base_channels=4, norm="instance"))
    assert "unexpected keys: model.model.1.model.2.weight" in str(error.value)
    with pytest.raises(StateDictMismatchError, match="shape mismatches"):
        map_reference_state_dict(pix2pix, UnetGenerator(num_downs=5, base_channels=8))
    with pytest.raises(TypeError, match="no reference layout"):
        map_reference_state_dict(pix2pix, torch.nn.Linear(2, 2))


def test_a_file_that_is_not_a_state_dict_is_refused(tmp_path):
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(StateDictMismatchError, match="plain state dict"):
        load_reference_generator(tmp_path / "list.pth", UnetGenerator(num_downs=5, base_channels=4))
    with pytest.raises(FileNotFoundError, match="no weights file at"):
        load_reference_generator(tmp_path / "absent.pth", UnetGenerator(num_downs=5, base_channels=4))


# --- the catalogue ----------------------------------------------------------------------


def released(model=None):
    """The hosted (the authors') weights' tags, without the packaged ones."""
    return [tag for tag in list_pretrained(model) if not get_weights(tag).packaged]


def test_catalogue_names_match_the_reference_scripts():
    assert released("cyclegan") == [f"cyclegan.{name}" for name in sorted(CYCLEGAN)]
    assert released("pix2pix") == [f"pix2pix.{name}" for name in sorted(PIX2PIX)]
    assert len(released()) == 23 and "cyclegan.horse2zebra" in list_pretrained()
    assert "pix2pix.sat2map" in list_pretrained() and "cyclegan.sat2map" in list_pretrained()


def test_catalogue_entries():
    entry = get_weights("cyclegan", "horse2zebra")
    assert entry.url == "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/horse2zebra.pth"
    assert entry.network is ResnetGenerator and entry.sha256 is None and entry.tag == "cyclegan.horse2zebra"
    assert dict(entry.kwargs) == {"in_channels": 3, "out_channels": 3, "base_channels": 64, "num_blocks": 9,
                                  "norm": "instance", "dropout": False, "padding": "reflect"}
    entry = get_weights("pix2pix", "facades_label2photo")
    assert entry.url == "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/facades_label2photo.pth"
    assert entry.network is UnetGenerator and entry.kwargs["num_downs"] == 8 and entry.kwargs["norm"] == "batch"
    assert "label" in entry.direction
    with pytest.raises(TypeError):
        entry.kwargs["norm"] = "instance"  # shared by all entries: read-only


def test_a_model_without_weights_names_those_with_some(monkeypatch):
    monkeypatch.setitem(MODELS._entries, "dcgan", dataclasses.replace(MODELS.entry("dcgan"), weights=()))
    with pytest.raises(UnknownNameError, match="no pretrained weights for model 'dcgan'; valid choices: acgan, cgan"):
        list_pretrained("dcgan")


def test_unknown_names_list_the_choices():
    with pytest.raises(UnknownNameError, match="valid choices: day2night, digit_outlines, edges2shoes"):
        get_weights("pix2pix", "horse2zebra")
    with pytest.raises(UnknownNameError, match="'cgan' is not a weights tag .model.name.; valid choices: acgan.digits"):
        get_weights("cgan")
    with pytest.raises(UnknownNameError, match="unknown model .cycle_gan.; valid choices: acgan, (.+, )?cgan, cyclegan"):
        get_weights("cycle_gan", "horse2zebra")


# --- fetching ---------------------------------------------------------------------------


def test_cache_dir_follows_zoo_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    assert weights_cache_dir() == tmp_path / "weights"


def test_offline_error_names_the_url_and_the_path(monkeypatch, tmp_path, no_download):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    entry = get_weights("pix2pix", "sat2map")
    with pytest.raises(WeightsUnavailableError) as error:
        fetch_weights(entry, progress=False)
    assert isinstance(error.value, FileNotFoundError)
    message = str(error.value)
    assert entry.url in message and str(tmp_path / "weights" / "pix2pix" / "sat2map.pth") in message
    assert "URLError" in message


def test_a_cached_file_is_used_without_downloading(tmp_path, no_download):
    target = tmp_path / "cyclegan" / "horse2zebra.pth"
    target.parent.mkdir()
    target.write_bytes(b"weights")
    entry = get_weights("cyclegan", "horse2zebra")
    assert fetch_weights(entry, cache_dir=tmp_path) == target
    assert fetch_weights(entry, cache_dir=tmp_path, sha256=hashlib.sha256(b"weights").hexdigest()) == target
    with pytest.raises(ChecksumError, match=f"cached weights file {target} has sha256"):
        fetch_weights(entry, cache_dir=tmp_path, sha256="0" * 64)
    assert target.exists()  # a user's file is never deleted


def test_download_goes_to_the_cache_and_is_checked(monkeypatch, tmp_path):
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst, progress))
        with open(dst, "wb") as handle:
            handle.write(b"released")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    entry = get_weights("cyclegan", "style_monet")
    path = fetch_weights(entry, cache_dir=tmp_path, progress=False)
    assert path == tmp_path / "cyclegan" / "style_monet.pth" and path.read_bytes() == b"released"
    assert calls == [(entry.url, str(path), False)]
    fetch_weights(entry, cache_dir=tmp_path)
    assert len(calls) == 1  # second time from the cache

    other = get_weights("cyclegan", "style_cezanne")
    with pytest.raises(ChecksumError, match="downloaded weights file"):
        fetch_weights(other, cache_dir=tmp_path, sha256="f" * 64)
    assert not (tmp_path / "cyclegan" / "style_cezanne.pth").exists()  # a bad download is not kept


def test_pretrained_generator_by_name_and_by_path(monkeypatch, tmp_path):
    tiny = {"base_channels": 4, "num_blocks": 1}
    declared = weights.PretrainedWeights("cyclegan", "horse2zebra", "http://example.invalid/h2z.pth",
                                         ResnetGenerator, tiny, "horse -> zebra")
    entry = dataclasses.replace(MODELS.entry("cyclegan"), weights=(declared,))
    monkeypatch.setitem(MODELS._entries, "cyclegan", entry)
    torch.manual_seed(0)
    reference = randomise(RefResnetGenerator(3, 3, ngf=4, num_blocks=1)).eval()
    file = tmp_path / "horse2zebra.pth"
    torch.save(reference.state_dict(), file)
    x = torch.randn(1, 3, 16, 16)

    by_path = pretrained_generator("cyclegan", str(file))
    assert not by_path.training
    def copy_download(url, dst, **kwargs):
        Path(dst).write_bytes(file.read_bytes())

    monkeypatch.setattr(torch.hub, "download_url_to_file", copy_download)
    by_name = pretrained_generator("cyclegan", "horse2zebra", cache_dir=tmp_path / "cache")
    with torch.no_grad():
        assert torch.allclose(by_path(x), reference(x), atol=1e-5)
        assert torch.allclose(by_name(x), reference(x), atol=1e-5)
    with pytest.raises(ChecksumError):
        pretrained_generator("cyclegan", file, sha256="0" * 64)
    with pytest.raises(UnknownNameError, match="valid choices: horse2zebra"):
        pretrained_generator("cyclegan", "zebra2horse")
