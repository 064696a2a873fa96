import pytest
import torch

from zoo.nn import DCGANDiscriminator, DCGANGenerator, resolution_plan


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_shapes_adapt_to_image_shape(size, channels, conditioning):
    shape = (channels, size, size)
    g = DCGANGenerator(16, shape, num_classes=10, base_channels=8)
    d = DCGANDiscriminator(shape, num_classes=10, base_channels=8, conditioning=conditioning)
    y = torch.arange(5)
    x = g(torch.randn(5, 16), y)
    assert x.shape == (5, *shape)
    assert x.min() >= -1 and x.max() <= 1
    assert d(x, y).shape == (5,)


def test_unconditional_networks():
    g, d = DCGANGenerator(8, (3, 32, 32), None, 8), DCGANDiscriminator((3, 32, 32), None, 8)
    assert d(g(torch.randn(2, 8))).shape == (2,)


def test_labels_change_the_output():
    torch.manual_seed(0)
    g = DCGANGenerator(8, (1, 32, 32), 10, 8).eval()
    z = torch.randn(1, 8).repeat(2, 1)
    out = g(z, torch.tensor([0, 1]))
    assert not torch.allclose(out[0], out[1])


def test_resolution_plan_and_errors():
    assert resolution_plan(32) == (4, 3) and resolution_plan(28) == (7, 2) and resolution_plan(64) == (4, 4)
    with pytest.raises(ValueError, match="image side 30"):
        resolution_plan(30)
    with pytest.raises(ValueError, match="square"):
        DCGANGenerator(8, (1, 32, 64))
    with pytest.raises(ValueError, match="pass labels"):
        DCGANGenerator(8, (1, 32, 32), 10)(torch.randn(2, 8))
