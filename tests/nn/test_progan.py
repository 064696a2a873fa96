"""ProGAN-lite networks: fade-in identities, equalized learning rate, PixelNorm, minibatch stddev."""

import math

import pytest
import torch
import torch.nn.functional as F

from zoo.nn import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
    ProGANDiscriminator,
    ProGANGenerator,
    downsample_to,
    fade_reals,
    feature_counts,
    resolutions,
)

TINY = {4: 8, 8: 8, 16: 4, 32: 4}
LATENT = 16


def up(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


def tiny_g(image_channels=1, num_classes=None):
    return ProGANGenerator(LATENT, 32, TINY, image_channels, num_classes)


def tiny_d(image_channels=1, num_classes=None):
    return ProGANDiscriminator(32, TINY, image_channels, num_classes)


def randomise_biases(net):
    # Biases start at 0; random ones make the identities below non-trivial.
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("bias"):
                p.normal_()


def test_resolutions_and_feature_counts():
    assert resolutions(4) == [4] and resolutions(32) == [4, 8, 16, 32]
    assert feature_counts(128) == {4: 128, 8: 128, 16: 64, 32: 32, 64: 16, 128: 8}
    assert feature_counts(1024, 16384, 512)[1024] == 16 and feature_counts(32, 16384, 512)[32] == 512
    for bad in (2, 28, 48):
        with pytest.raises(ValueError, match="power of two"):
            resolutions(bad)
    with pytest.raises(ValueError, match="missing"):
        ProGANGenerator(LATENT, 32, {4: 8, 8: 8})


@pytest.mark.parametrize("r", [8, 16, 32])
def test_generator_fade_in_at_alpha_zero_is_the_previous_output_upsampled(r):
    torch.manual_seed(0)
    g = tiny_g(3)
    randomise_biases(g)
    z = torch.randn(4, LATENT)
    previous = g(z, r // 2, 1.0)
    assert torch.allclose(g(z, r, 0.0), up(previous), atol=1e-6)
    assert not torch.allclose(g(z, r, 1.0), up(previous), atol=1e-3)
    half = g(z, r, 0.5)  # linear in alpha
    assert torch.allclose(half, 0.5 * up(previous) + 0.5 * g(z, r, 1.0), atol=1e-5)


@pytest.mark.parametrize("r", [8, 16, 32])
def test_discriminator_fade_in_at_alpha_zero_scores_the_pooled_image(r):
    torch.manual_seed(0)
    d = tiny_d(3, num_classes=5)
    randomise_biases(d)
    x = torch.randn(8, 3, r, r)
    score0, logits0 = d(x, r, 0.0)
    score_prev, logits_prev = d(F.avg_pool2d(x, 2), r // 2, 1.0)
    assert torch.allclose(score0, score_prev, atol=1e-6) and torch.allclose(logits0, logits_prev, atol=1e-6)
    assert not torch.allclose(d(x, r, 1.0)[0], score_prev, atol=1e-3)


def test_equalized_layers_scale_init_and_effective_weight():
    torch.manual_seed(0)
    conv = EqualizedConv2d(16, 32, 3)
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(16 * 9))
    assert EqualizedConv2d(16, 3, 1, gain=1.0).scale == pytest.approx(1 / 4)
    lin = EqualizedLinear(64, 128)
    assert lin.scale == pytest.approx(math.sqrt(2) / 8)
    assert EqualizedLinear(64, 1, gain=1.0).scale == pytest.approx(1 / 8)
    for layer in (conv, lin):
        assert layer.weight.std().item() == pytest.approx(1.0, abs=0.05)
        assert abs(layer.weight.mean().item()) < 0.05
        assert torch.count_nonzero(layer.bias) == 0
        layer.bias.data.normal_()
    x = torch.randn(2, 16, 5, 5)
    expected = F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1)
    assert torch.allclose(conv(x), expected, atol=1e-6)
    v = torch.randn(3, 64)
    assert torch.allclose(lin(v), F.linear(v, lin.weight * lin.scale, lin.bias), atol=1e-6)


def test_networks_keep_their_unit_normal_weights():
    g, d = tiny_g(), tiny_d()
    for net in (g, d):
        plain = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.ConvTranspose2d))]
        assert not plain, f"plain layers (init_weights would re-initialise them): {plain}"
    assert g.to_rgb[0].scale == pytest.approx(1 / math.sqrt(TINY[4]))  # toRGB: gain 1


def test_minibatch_stddev():
    torch.manual_seed(0)
    layer = MinibatchStdDev(4)
    x = torch.randn(8, 5, 4, 4)
    out = layer(x)
    assert out.shape == (8, 6, 4, 4) and torch.equal(out[:, :5], x)
    # groups are samples {i, i + 2, i + 4, i + 6} (the reference's [G, M, ...] layout)
    for m in range(2):
        group = x[m::2]
        expected = (group.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
        assert torch.allclose(out[m::2, 5], expected.expand(4, 4, 4), atol=1e-6)
    same = layer(torch.randn(1, 5, 4, 4).repeat(4, 1, 1, 1))[:, 5]
    assert same.abs().max() <= 1e-4 + 1e-7  # sqrt(eps): zero std
    for n in (1, 3, 6, 7):  # not divisible by 4
        y = layer(torch.randn(n, 5, 4, 4))
        assert y.shape == (n, 6, 4, 4) and torch.isfinite(y).all()
    six = torch.randn(6, 5, 4, 4)  # groups of 3
    expected = (six[0::2].var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
    assert torch.allclose(layer(six)[0, 5], expected.expand(4, 4), atol=1e-6)


def test_pixel_norm_gives_unit_mean_square_over_channels():
    x = torch.randn(3, 7, 5, 5) * 10 + 2
    assert torch.allclose(PixelNorm()(x).square().mean(dim=1), torch.ones(3, 5, 5), atol=1e-5)
    assert torch.allclose(PixelNorm()(torch.randn(4, 9)).square().mean(dim=1), torch.ones(4), atol=1e-5)


@pytest.mark.parametrize("image_channels", [1, 3])
@pytest.mark.parametrize("num_classes", [None, 10])
def test_shapes_at_every_resolution(image_channels, num_classes):
    g, d = tiny_g(image_channels, num_classes), tiny_d(image_channels, num_classes)
    labels = torch.arange(6) % 10 if num_classes else None
    z = torch.randn(6, LATENT)
    for r in resolutions(32):
        for alpha in (0.0, 0.3, 1.0):
            x = g(z, r, alpha, labels)
            assert x.shape == (6, image_channels, r, r)
            out = d(x, r, alpha)
            if num_classes:
                score, logits = out
                assert score.shape == (6,) and logits.shape == (6, num_classes)
            else:
                assert out.shape == (6,)
    assert g(z, labels=labels).shape == (6, image_channels, 32, 32)  # defaults: max resolution, alpha 1


def test_labels_change_the_generator_output():
    torch.manual_seed(0)
    g = tiny_g(num_classes=10)
    z = torch.randn(1, LATENT).repeat(2, 1)
    out = g(z, 16, 1.0, torch.tensor([0, 1]))
    assert not torch.allclose(out[0], out[1])


@pytest.mark.parametrize("r", [4, 16])
@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_gradients_reach_only_the_blocks_in_use(r, alpha):
    g, d = tiny_g(num_classes=3), tiny_d(num_classes=3)
    labels = torch.tensor([0, 1, 2, 0])
    score, logits = d(g(torch.randn(4, LATENT), r, alpha, labels), r, alpha)
    (score.sum() + logits.sum()).backward()
    k = resolutions(32).index(r)
    fading = alpha < 1 and k > 0

    def has_grad(module):
        grads = [p.grad for p in module.parameters()]
        assert all(x is None for x in grads) or all(x is not None for x in grads)
        return grads[0] is not None

    for i in range(4):
        assert has_grad(g.blocks[i]) == (i <= k) and has_grad(d.blocks[i]) == (i <= k)
        in_use = i == k or (fading and i == k - 1)
        assert has_grad(g.to_rgb[i]) == in_use and has_grad(d.from_rgb[i]) == in_use
    assert g.embed.weight.grad is not None


def test_fade_reals_and_downsample_to():
    x = torch.randn(2, 3, 16, 16)
    blurred = up(F.avg_pool2d(x, 2))
    assert torch.allclose(fade_reals(x, 0.0), blurred, atol=1e-6)
    assert torch.equal(fade_reals(x, 1.0), x)
    assert torch.allclose(fade_reals(x, 0.25), 0.75 * blurred + 0.25 * x, atol=1e-6)
    assert torch.allclose(downsample_to(x, 4), F.avg_pool2d(F.avg_pool2d(x, 2), 2), atol=1e-6)
    assert downsample_to(x, 16) is x
    with pytest.raises(ValueError, match="multiple"):
        downsample_to(x, 5)


def test_errors_name_the_valid_choices():
    g, d = tiny_g(), tiny_d()
    z = torch.randn(2, LATENT)
    with pytest.raises(ValueError, match="valid resolutions: 4, 8, 16, 32"):
        g(z, 12, 1.0)
    with pytest.raises(ValueError, match="valid resolutions: 4, 8, 16, 32"):
        g(z, 64, 1.0)
    with pytest.raises(ValueError, match=r"alpha .* \[0, 1\]"):
        g(z, 8, 1.5)
    with pytest.raises(ValueError, match=r"alpha .* \[0, 1\]"):
        d(torch.randn(2, 1, 8, 8), 8, -0.1)
    with pytest.raises(ValueError, match=r"\(N, 1, 16, 16\)"):
        d(torch.randn(2, 1, 8, 8), 16, 1.0)
    with pytest.raises(ValueError, match="pass labels"):
        tiny_g(num_classes=10)(z, 8, 1.0)
    with pytest.raises(ValueError, match="unconditional"):
        g(z, 8, 1.0, torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="labels="):
        g(z, torch.tensor([0, 1]))
