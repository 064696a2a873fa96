import pytest
import torch
from torch import nn

from zoo.nn import (
    PatchDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    norm_layer,
    patch_receptive_field,
    translation_norm,
)

# --- ResNet generator ----------------------------------------------------------------


@pytest.mark.parametrize("channels", [(3, 3), (1, 1), (1, 3)])
@pytest.mark.parametrize("size", [(32, 32), (24, 40)])
def test_resnet_generator_keeps_the_size(channels, size):
    g = ResnetGenerator(*channels, base_channels=8, num_blocks=2)
    y = g(torch.randn(2, channels[0], *size))
    assert y.shape == (2, channels[1], *size)
    assert y.min() >= -1 and y.max() <= 1


def test_resnet_generator_layout_and_biases():
    g = ResnetGenerator(base_channels=8, num_blocks=3)
    assert [c.out_channels for c in (g.stem.conv, g.down[0].conv, g.down[1].conv)] == [8, 16, 32]
    assert [c.out_channels for c in (g.up[0].conv, g.up[1].conv, g.head.conv)] == [16, 8, 3]
    assert len(g.blocks) == 3 and isinstance(g.head.tanh, nn.Tanh)
    # instance norm: no affine parameters, no running statistics, so only conv keys
    assert all(".norm" not in key for key in g.state_dict())
    assert g.stem.conv.bias is not None and g.blocks[0].body.conv1.bias is not None
    batch = ResnetGenerator(base_channels=8, num_blocks=1, norm="batch")
    assert batch.stem.conv.bias is None and batch.up[0].conv.bias is None and batch.blocks[0].body.conv2.bias is None
    assert batch.head.conv.bias is not None  # the output conv always has one


def test_resnet_reference_names_follow_dropout_and_padding():
    names = ResnetGenerator(base_channels=8, num_blocks=2).reference_names()
    assert names["stem.conv"] == "model.1" and names["down.1.norm"] == "model.8"
    assert names["blocks.1.body.conv2"] == "model.11.conv_block.5"
    assert names["up.0.conv"] == "model.12" and names["head.conv"] == "model.19"
    names = ResnetGenerator(base_channels=8, num_blocks=9, dropout=True).reference_names()
    assert names["blocks.0.body.conv1"] == "model.10.conv_block.1"
    assert names["blocks.8.body.conv2"] == "model.18.conv_block.6"  # after the dropout slot
    assert names["head.conv"] == "model.26"
    names = ResnetGenerator(base_channels=8, num_blocks=1, padding="zero").reference_names()
    assert names["blocks.0.body.conv1"] == "model.10.conv_block.0"
    assert names["blocks.0.body.conv2"] == "model.10.conv_block.3"


def test_resnet_generator_errors():
    with pytest.raises(ValueError, match="divisible by 4, got 30x32"):
        ResnetGenerator(base_channels=4, num_blocks=0)(torch.randn(1, 3, 30, 32))
    with pytest.raises(ValueError, match="unknown norm 'layer'; valid choices: batch, instance, none"):
        ResnetGenerator(norm="layer")
    with pytest.raises(ValueError, match="unknown padding 'circular'; valid choices: reflect, replicate, zero"):
        ResnetGenerator(padding="circular")


def test_resnet_dropout_only_in_train_mode():
    torch.manual_seed(0)
    g = ResnetGenerator(base_channels=4, num_blocks=1, dropout=True)
    x = torch.randn(1, 3, 16, 16)
    assert not torch.equal(g(x), g(x))
    g.eval()
    assert torch.equal(g(x), g(x))


# --- U-Net generator ------------------------------------------------------------------


@pytest.mark.parametrize("num_downs, size", [(5, 32), (6, 64), (8, 256)])
@pytest.mark.parametrize("channels", [(3, 3), (1, 1), (1, 3)])
def test_unet_generator_keeps_the_size(num_downs, size, channels):
    g = UnetGenerator(*channels, num_downs=num_downs, base_channels=4 if size == 256 else 8)
    y = g(torch.randn(2, channels[0], size, size))
    assert y.shape == (2, channels[1], size, size)
    assert y.min() >= -1 and y.max() <= 1


def test_unet_generator_non_square_and_layout():
    g = UnetGenerator(num_downs=5, base_channels=8)
    assert g(torch.randn(1, 3, 32, 64)).shape == (1, 3, 32, 64)
    assert [level.conv.out_channels for level in g.encoder] == [8, 16, 32, 64, 64]
    assert [level.conv.in_channels for level in g.decoder] == [16, 32, 64, 128, 64]  # skip concatenation doubles
    assert g.encoder[0].conv.bias is None and g.encoder[-1].conv.bias is None  # batch norm: no biases ...
    assert g.decoder[0].conv.bias is not None  # ... but on the output layer
    assert not hasattr(g.encoder[0], "norm") and not hasattr(g.encoder[-1], "norm")
    assert UnetGenerator(num_downs=5, base_channels=8, norm="instance").encoder[0].conv.bias is not None


def test_unet_size_error_names_the_size_and_num_downs():
    g = UnetGenerator(num_downs=5, base_channels=4)
    with pytest.raises(ValueError, match=r"num_downs=5 needs a height and width divisible by 2\*\*5 = 32, got 48x48"):
        g(torch.randn(1, 3, 48, 48))
    with pytest.raises(ValueError, match="num_downs must be >= 5"):
        UnetGenerator(num_downs=4)
    with pytest.raises(ValueError, match="unknown norm 'group'"):
        UnetGenerator(norm="group")


@pytest.mark.parametrize("num_downs, expected", [(5, 0), (6, 1), (8, 3)])
def test_unet_dropout_on_the_reference_levels(num_downs, expected):
    with torch.device("meta"):  # structure only: no memory, no time
        g = UnetGenerator(num_downs=num_downs)
        assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == expected
        dropped = [k for k, level in enumerate(g.decoder) if hasattr(level, "dropout")]
        assert dropped == list(range(4, num_downs - 1))
        assert not any(isinstance(m, nn.Dropout) for m in UnetGenerator(num_downs=num_downs, dropout=False).modules())


def test_unet_dropout_only_in_train_mode():
    torch.manual_seed(0)
    g = UnetGenerator(num_downs=6, base_channels=4)
    x = torch.randn(2, 3, 64, 64)
    assert not torch.equal(g(x), g(x))  # dropout is G's noise (batch statistics are the same twice)
    g.eval()
    assert torch.equal(g(x), g(x))


def test_reference_sized_networks_have_the_reference_parameter_counts():
    # the reference prints 11.378 M for resnet_9blocks and 54.414 M for unet_256
    with torch.device("meta"):
        assert sum(p.numel() for p in ResnetGenerator().parameters()) == 11_378_179
        assert sum(p.numel() for p in UnetGenerator().parameters()) == 54_413_955


def test_unet_reference_names():
    names = UnetGenerator(num_downs=8, base_channels=4).reference_names()
    assert names["encoder.0.conv"] == "model.model.0" and names["decoder.0.conv"] == "model.model.3"
    assert names["encoder.1.norm"] == "model.model.1.model.2"
    assert names["decoder.2.norm"] == "model.model.1.model.3.model.6"
    assert names["decoder.7.norm"] == "model.model.1" + ".model.3" * 6 + ".model.4"  # innermost up norm


# --- norms and init ---------------------------------------------------------------------


def test_translation_norm_follows_the_reference_and_leaves_dcgan_alone():
    instance = translation_norm("instance", 4)
    assert isinstance(instance, nn.InstanceNorm2d) and not instance.affine and not instance.track_running_stats
    batch = translation_norm("batch", 4)
    assert isinstance(batch, nn.BatchNorm2d) and batch.affine and batch.track_running_stats
    assert isinstance(translation_norm("none", 4), nn.Identity)
    with pytest.raises(ValueError, match="valid choices: batch, instance, none"):
        translation_norm("layer", 4)
    assert norm_layer("instance", 4).affine  # zoo.nn.dcgan's helper is unchanged


def test_weights_are_initialised_as_in_the_papers():
    torch.manual_seed(0)
    g = UnetGenerator(num_downs=5, base_channels=16)
    weight = g.encoder[3].conv.weight
    assert abs(weight.std().item() - 0.02) < 0.002 and abs(weight.mean().item()) < 0.002
    assert abs(g.encoder[1].norm.weight.mean().item() - 1) < 0.02
    assert torch.all(g.decoder[0].conv.bias == 0)


# --- PatchGAN ---------------------------------------------------------------------------


def test_patch_receptive_field():
    assert [patch_receptive_field(n) for n in (1, 2, 3, 4, 5)] == [16, 34, 70, 142, 286]
    with pytest.raises(ValueError, match="num_layers must be >= 1, got 0"):
        patch_receptive_field(0)


@pytest.mark.parametrize("size, grid", [(256, 30), (64, 6)])
def test_patch_discriminator_output_grid(size, grid):
    d = PatchDiscriminator(6, base_channels=8)
    assert d(torch.randn(2, 6, size, size)).shape == (2, 1, grid, grid)
    assert d.receptive_field == 70
    assert isinstance(d.logits, nn.Conv2d) and d.logits.bias is not None  # raw logits, no sigmoid


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_one_logit_sees_exactly_its_receptive_field(num_layers):
    torch.manual_seed(0)
    d = PatchDiscriminator(3, base_channels=4, num_layers=num_layers).eval()  # eval: batch norm is per-pixel affine
    x = torch.randn(1, 3, 128, 128, requires_grad=True)
    out = d(x)
    i, j = out.shape[-2] // 2, out.shape[-1] // 2
    out[0, 0, i, j].backward()
    rows, cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1)), as_tuple=True)
    field = patch_receptive_field(num_layers)
    assert 0 < rows.min() and rows.max() < 127 and 0 < cols.min() and cols.max() < 127  # not cut by the border
    assert rows.max() - rows.min() + 1 == field and cols.max() - cols.min() + 1 == field


def test_patch_discriminator_norms():
    d = PatchDiscriminator(3, base_channels=4, norm="instance")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    assert d.features[2].bias is not None  # instance norm: convs keep their bias
    assert PatchDiscriminator(3, base_channels=4).features[2].bias is None
