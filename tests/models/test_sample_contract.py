"""Every registered model keeps the one sampling contract: ``sample(n, *, noise=None, **conditions)``."""

from __future__ import annotations

import pytest
import torch

import zoo
from tests.models.helpers import small_model
from zoo.models.sampling import SamplingGAN
from zoo.models.translation import TranslationGAN


def example_conditions(model, n: int) -> list[dict]:
    """Two different complete settings of the model's conditions (so that ``noise=`` fixes everything)."""
    settings: list[dict] = [{}, {}]
    for name in type(model).capabilities.conditions:
        if name == "labels" and model.hparams.get("conditional", True):
            settings[0]["labels"], settings[1]["labels"] = torch.zeros(n, dtype=torch.long), torch.arange(n) % 2 + 1
        elif name == "codes":
            continuous = torch.zeros(n, model.hparams.continuous_dim)
            settings[0]["codes"] = {"categorical": torch.zeros(n, dtype=torch.long), "continuous": continuous}
            settings[1]["codes"] = {"categorical": torch.ones(n, dtype=torch.long), "continuous": continuous + 1}
        # any other condition is optional by the contract: left to its default here
    return settings


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_model_keeps_the_sample_contract(name):
    torch.manual_seed(0)
    model, datamodule = small_model(name)
    n = 3
    if isinstance(model, TranslationGAN):  # translates inputs: a sibling class, with no sample(n) at all
        assert not isinstance(model, SamplingGAN) and not type(model).capabilities.samples
        assert type(model).capabilities.conditions == ()
        return

    # shape and range: (n, C, H, W) images in [-1, 1] for image models, (n, *shape) for the 2-D toy;
    # a growing model (ProGAN) samples at the highest resolution it has trained so far
    images = model.sample(n)
    data_shape = shape = tuple(getattr(datamodule, "image_shape"))
    if hasattr(model, "trained_resolution"):
        shape = (shape[0], model.trained_resolution, model.trained_resolution)
    assert images.shape == (n, *shape)
    if len(shape) == 3:
        assert images.min() >= -1 and images.max() <= 1
    assert not images.requires_grad and model.training  # no graph; the training mode is restored

    # noise= fixes the samples (with the conditions given), and the conditions matter
    first, second = example_conditions(model, n)
    z = torch.randn(n, model.noise_dim)
    same = model.sample(n, noise=z, **first)
    assert torch.equal(same, model.sample(n, noise=z, **first))
    assert not torch.equal(same, model.sample(n, noise=torch.randn(n, model.noise_dim), **first))
    if first:
        assert not torch.allclose(same, model.sample(n, noise=z, **second))
        for condition, value in first.items():  # each condition is optional: drawn from its prior when missing
            assert model.sample(n, **{condition: value}).shape == images.shape
    with pytest.raises(ValueError, match=rf"noise must have shape \({n}, {model.noise_dim}\)"):
        model.sample(n, noise=torch.randn(n + 1, model.noise_dim))

    # an unexpected condition is an error naming the valid ones; conditions are keywords only
    conditions = type(model).capabilities.conditions
    valid = ", ".join(conditions)
    expected = f"valid conditions: {valid}" if valid else f"{type(model).__name__} is unconditional: it takes only n and noise="
    for wrong in ({"style": 1}, {"labels": 0, "codes": {}}):
        unknown = sorted(set(wrong) - set(conditions))
        if unknown:
            with pytest.raises(ValueError, match=rf"got unknown condition\(s\) {', '.join(unknown)}; {expected}"):
                model.sample(n, **wrong)
    with pytest.raises(TypeError):
        model.sample(n, z)  # noise (and every condition) is keyword-only

    # the metrics' and the grid's sampling go through the same contract
    images, labels = model.sample_for_metrics(n)
    class_conditional = "labels" in conditions and model.hparams.get("conditional", True)  # ProGAN: when built so
    assert images.shape == (n, *data_shape) and (labels is None) == (not class_conditional)
    grid, nrow = model.sample_grid()
    assert grid.shape[0] % nrow == 0
