"""The history of fakes fed to CycleGAN's discriminators (Shrivastava et al. 2017)."""

import pytest
import torch

from zoo.nn.image_pool import ImagePool


def batch(value: float, n: int = 4) -> torch.Tensor:
    return torch.full((n, 1, 2, 2), value)


def test_fills_first_and_returns_the_new_images():
    pool = ImagePool(size=6)
    out = pool.query(batch(1.0))
    assert torch.equal(out, batch(1.0)) and len(pool) == 4
    out = pool.query(batch(2.0))  # 2 more fit, the last 2 arrive when full: new or swapped
    assert len(pool) == 6
    assert torch.equal(out[:2], batch(2.0, 2))


def test_full_pool_swaps_about_half_for_past_images():
    torch.manual_seed(0)
    pool = ImagePool(size=50)
    pool.query(-batch(1.0, 50))  # history: 50 negative images
    new = torch.arange(1.0, 1001.0).view(-1, 1, 1, 1).expand(-1, 1, 2, 2)  # every image distinct
    out = pool.query(new)
    swapped = (out != new).flatten(1).any(1)
    assert 0.45 < swapped.float().mean().item() < 0.55
    assert len(pool) == 50
    # a swapped-out image is one that was stored before (a past fake), never the current one
    assert all(value < index + 1 for value, index in zip(out[swapped, 0, 0, 0].tolist(), swapped.nonzero().flatten().tolist()))


def test_swapped_image_leaves_the_pool():
    torch.manual_seed(1)
    pool = ImagePool(size=1, swap_probability=1.0)
    pool.query(batch(5.0, 1))
    out = pool.query(batch(7.0, 1))
    assert out.unique().item() == 5.0 and pool.images[0].unique().item() == 7.0


def test_size_zero_is_a_pass_through_and_output_is_detached():
    images = torch.randn(3, 1, 2, 2, requires_grad=True)
    assert not ImagePool(0).query(images).requires_grad
    assert torch.equal(ImagePool(0).query(images), images.detach())
    assert not ImagePool(4).query(images).requires_grad


def test_state_round_trip():
    torch.manual_seed(2)
    pool = ImagePool(size=3)
    pool.query(torch.randn(3, 1, 2, 2))
    restored = ImagePool(size=3)
    restored.load_state_dict(pool.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(pool.images, restored.images))
    torch.manual_seed(3)
    a = pool.query(torch.ones(5, 1, 2, 2))
    torch.manual_seed(3)
    b = restored.query(torch.ones(5, 1, 2, 2))
    assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs", [{"size": -1}, {"swap_probability": 1.5}])
def test_bad_settings(kwargs):
    with pytest.raises(ValueError):
        ImagePool(**kwargs)
