"""The digits classifier and the domain / paired metrics built on it (offline, a few seconds)."""

from __future__ import annotations

import math

import pytest
import torch

from zoo.metrics import paired
from zoo.metrics.digits import WEIGHTS, DigitsClassifier, load_digits_classifier
from zoo.metrics.domain import (
    class_shares,
    classifier_inception_score,
    code_accuracy,
    code_accuracy_of_samples,
    conditional_accuracy,
    fd_digits,
    frechet_distance,
    identity_accuracy,
)
from zoo.metrics.paired import lpips, paired_metrics
from benchmarks.train_digits_classifier import load_split


@pytest.fixture(scope="module")
def splits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return {name: load_split(name) for name in ("train", "val", "test")}


@pytest.fixture(scope="module")
def noise(splits) -> torch.Tensor:
    shape = splits["test"][0].shape
    return torch.rand(shape, generator=torch.Generator().manual_seed(0)) * 2 - 1


# -- the classifier ---------------------------------------------------------------------


def test_shipped_weights_are_small_plain_state_dict():
    assert WEIGHTS.stat().st_size < 1.5e6
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    DigitsClassifier().load_state_dict(state)  # strict: exactly this architecture


def test_classifier_is_cached_frozen_and_accurate(splits):
    model = load_digits_classifier()
    assert load_digits_classifier("cpu") is model
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert isinstance(model.fingerprint, str) and len(model.fingerprint) == 16
    for name, minimum in (("train", 0.99), ("val", 0.97), ("test", 0.97)):
        images, labels = splits[name]
        with torch.no_grad():
            accuracy = (model(images).argmax(1) == labels).float().mean().item()
        assert accuracy >= minimum, f"{name} accuracy {accuracy:.4f}"


def test_classifier_accepts_rgb_and_other_sizes(splits):
    model = load_digits_classifier()
    images, labels = splits["test"]
    with torch.no_grad():
        grey = model(images).argmax(1)
        big_rgb = torch.nn.functional.interpolate(images, size=64, mode="bilinear").repeat(1, 3, 1, 1)
        small = torch.nn.functional.interpolate(images, size=16, mode="bilinear", antialias=True)
        assert (model(big_rgb).argmax(1) == grey).float().mean() > 0.97
        assert (model(small).argmax(1) == labels).float().mean() > 0.9
        assert model.features(images[:5]).shape == (5, 128)
        assert (model.features(images[:5]) >= 0).all()
    with pytest.raises(ValueError, match="1 or 3 channels"):
        model(torch.zeros(2, 2, 32, 32))


def test_training_script_runs_and_augmentation_is_deterministic(tmp_path, capsys):
    """One epoch through the CLI (the full 30-epoch run was checked to be bit-identical across runs)."""
    from benchmarks.train_digits_classifier import main, random_shift

    images = torch.rand(6, 1, 32, 32) * 2 - 1
    first = random_shift(images, torch.Generator().manual_seed(5))
    assert torch.equal(first, random_shift(images, torch.Generator().manual_seed(5)))
    assert first.shape == images.shape and not torch.equal(first, images)
    centre = images[:, :, 2:-2, 2:-2]  # a shift of at most 2 px keeps the centre inside the image
    assert all((first[i].unfold(1, 28, 1).unfold(2, 28, 1) == centre[i].unsqueeze(1).unsqueeze(1))
               .flatten(3).all(-1).any() for i in range(6))

    accuracy = main(["--out", str(tmp_path / "a.pt"), "--epochs", "1", "--seed", "3"])
    state = torch.load(tmp_path / "a.pt", weights_only=True)
    DigitsClassifier().load_state_dict(state)
    assert set(accuracy) == {"train", "val", "test"} and accuracy["val"] > 0.5
    assert "test accuracy" in capsys.readouterr().out


# -- FD-digits --------------------------------------------------------------------------


def test_frechet_distance_of_known_gaussians():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=g, dtype=torch.float64)
    shifted = a + torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64)
    assert frechet_distance(a, shifted) == pytest.approx(9.0, rel=1e-6)  # same covariance: ||mu||^2
    scaled = a * 2  # covariances I and 4I: Tr(I + 4I - 2 (4I)^(1/2)) = Tr(I) = 3
    assert frechet_distance(a, scaled) == pytest.approx(3.0, rel=0.05)
    with pytest.raises(ValueError):
        frechet_distance(a[:1], a)


def test_fd_digits_floor_and_ceilings(splits, noise):
    val, test = splits["val"][0], splits["test"][0]
    floor = fd_digits(val, test)
    assert fd_digits(test, val) == pytest.approx(floor, rel=1e-6)  # symmetric
    assert fd_digits(test, test) < 1e-6
    assert 0 < floor < 80
    noise_fd = fd_digits(test, noise)
    assert floor < noise_fd / 5
    for value in (-1.0, 0.0, 1.0):  # a constant image: zero covariance, singular product
        constant_fd = fd_digits(test, torch.full_like(test, value))
        assert math.isfinite(constant_fd) and floor < constant_fd / 5


# -- classifier scores ------------------------------------------------------------------


def test_classifier_inception_score(splits, noise):
    test = splits["test"][0]
    assert 8.5 < classifier_inception_score(test) <= 10.0
    assert classifier_inception_score(torch.full_like(test, -1.0)) == pytest.approx(1.0, abs=1e-6)
    assert classifier_inception_score(noise) < 2.5
    one_class = test[splits["test"][1] == 3]
    assert classifier_inception_score(one_class) < 1.5  # confident but not diverse
    train = splits["train"][0]
    assert 8.5 < classifier_inception_score(train, splits=5) <= 10.0


def test_conditional_and_identity_accuracy(splits, noise):
    images, labels = splits["test"]
    assert conditional_accuracy(images, labels) >= 0.97
    assert conditional_accuracy(images, (labels + 1) % 10) <= 0.1
    assert conditional_accuracy(images, torch.nn.functional.one_hot(labels, 10)) >= 0.97
    assert identity_accuracy(images, labels) >= 0.97
    assert identity_accuracy(noise, labels) < 0.3
    with pytest.raises(ValueError):
        conditional_accuracy(images, labels[:-1])


def test_class_shares_show_a_dropped_mode(splits):
    images, labels = splits["test"]
    shares = class_shares(images)
    assert shares.shape == (10,) and float(shares.sum()) == pytest.approx(1.0)
    assert float(shares.min()) >= 0.07  # the test split is balanced: about 0.1 each
    without_sevens = images[labels != 7]
    assert float(class_shares(without_sevens)[7]) < 0.02


def test_metrics_batch_large_inputs(splits, monkeypatch):
    import zoo.metrics.domain as domain

    images, labels = splits["test"]
    whole = conditional_accuracy(images, labels)
    monkeypatch.setattr(domain, "BATCH_SIZE", 64)  # 64 + 64 + 51
    assert conditional_accuracy(images, labels) == pytest.approx(whole)


# -- InfoGAN's code ---------------------------------------------------------------------


def test_code_accuracy_is_permutation_invariant(splits):
    labels = splits["train"][1]
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(1))
    assert code_accuracy(perm[labels], labels) == 1.0
    assert code_accuracy(torch.nn.functional.one_hot(perm[labels], 10), labels) == 1.0
    random_codes = torch.randint(0, 10, labels.shape, generator=torch.Generator().manual_seed(2))
    assert code_accuracy(random_codes, labels) < 0.3
    # 2 code values for 10 classes: at most the two largest classes can be matched
    assert code_accuracy(labels % 2, labels) < 0.25
    assert code_accuracy(torch.tensor([0, 0, 1, 1]), torch.tensor([1, 1, 0, 2])) == 0.75
    # unused code values count, unmatched codes are errors
    assert code_accuracy(torch.tensor([0, 1, 2]), torch.tensor([0, 0, 0]), num_codes=5) == pytest.approx(1 / 3)


def test_code_accuracy_of_samples(splits):
    images, labels = splits["test"]
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(1))
    assert code_accuracy_of_samples(images, perm[labels]) >= 0.97
    random_codes = torch.randint(0, 10, labels.shape, generator=torch.Generator().manual_seed(2))
    assert code_accuracy_of_samples(images, random_codes) < 0.35


# -- paired metrics ---------------------------------------------------------------------


def test_paired_metrics(splits):
    target = splits["test"][0][:32]
    same = paired_metrics(target.clone(), target)
    assert same["l1"] == 0 and same["ssim"] == pytest.approx(1.0) and same["psnr"] == math.inf
    g = torch.Generator().manual_seed(0)
    values = [
        paired_metrics((target + s * torch.randn(target.shape, generator=g)).clamp(-1, 1), target) for s in (0.05, 0.3)
    ]
    for v in values:
        assert v["l1"] > 0 and v["ssim"] < 1 and math.isfinite(v["psnr"])
    assert values[0]["psnr"] > values[1]["psnr"] and values[0]["ssim"] > values[1]["ssim"]
    assert values[0]["l1"] < values[1]["l1"]
    # PSNR with data range 2: a constant error of 0.2 -> 10 log10(4 / 0.04) = 20 dB
    assert paired_metrics(target * 0 + 0.2, target * 0)["psnr"] == pytest.approx(20.0, abs=1e-3)


def _no_download(*args, **kwargs):
    raise AssertionError("lpips() must not try to download")


def test_lpips_offline_raises_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    if not torch.hub.get_dir().startswith(str(tmp_path)):
        pytest.skip("torch.hub.set_dir() was called: TORCH_HOME is ignored")
    monkeypatch.setattr(paired, "_LPIPS_CACHE", {})
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_download)
    x = torch.zeros(2, 1, 32, 32)
    with pytest.raises(RuntimeError, match="backbone weights") as info:
        lpips(x, x)
    message = str(info.value)
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message
    assert "alexnet-owt-7be5be79.pth" in message and "https://download.pytorch.org/models/" in message


def test_lpips_with_backbone_weights_present(tmp_path, monkeypatch):
    """A (random) SqueezeNet state dict in the hub cache is enough to exercise the whole path offline."""
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    if not torch.hub.get_dir().startswith(str(tmp_path)):
        pytest.skip("torch.hub.set_dir() was called: TORCH_HOME is ignored")
    monkeypatch.setattr(paired, "_LPIPS_CACHE", {})
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_download)
    path = paired.lpips_backbone_file("squeeze")
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.squeezenet1_1().state_dict(), path)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 32, 32, generator=g) * 2 - 1
    y = torch.rand(2, 1, 32, 32, generator=g) * 2 - 1
    assert lpips(x, x, net="squeeze") == pytest.approx(0.0, abs=1e-6)
    assert lpips(x, y, net="squeeze") > 0


def test_lpips_in_this_environment():
    x = torch.zeros(1, 3, 64, 64)
    if paired.lpips_backbone_file("alex").is_file():
        assert lpips(x, x) == pytest.approx(0.0, abs=1e-6)
    else:
        with pytest.raises(RuntimeError, match="downloaded once"):
            lpips(x, x)
