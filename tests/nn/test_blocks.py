"""The shared building blocks: spectral norm, self-attention, conditional batch norm, residual blocks."""

from __future__ import annotations

import torch
from torch import nn

from zoo.nn.blocks import (
    ConditionalBatchNorm2d,
    ResBlockDown,
    ResBlockUp,
    SelfAttention,
    apply_spectral_norm,
    spectrally_normalised,
)


def test_spectral_norm_brings_the_largest_singular_value_to_one():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 5), nn.Embedding(4, 6))
    with torch.no_grad():
        for layer in (net[0], net[3]):
            layer.weight.mul_(10)  # far from 1 before
    apply_spectral_norm(net)
    assert spectrally_normalised(net) == ["0", "3", "4"]
    x = torch.randn(2, 3, 6, 6)
    for _ in range(20):  # each training forward refines the power iteration
        net[:4](x)
    for layer in (net[0], net[3]):
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
        assert abs(sigma.item() - 1) < 0.05
    apply_spectral_norm(net)  # idempotent: nothing is normalised twice
    assert spectrally_normalised(net) == ["0", "3", "4"]


def test_spectral_norm_state_is_in_the_state_dict_and_restores_exactly():
    torch.manual_seed(0)
    a = apply_spectral_norm(nn.Linear(6, 4))
    a(torch.randn(3, 6))
    state = a.state_dict()
    assert {"parametrizations.weight.original0", "parametrizations.weight.original1",
            "parametrizations.weight.original"} & set(state) or any(k.endswith("_u") for k in state)
    b = apply_spectral_norm(nn.Linear(6, 4))
    b.load_state_dict(state)
    a.eval(), b.eval()
    x = torch.randn(2, 6)
    assert torch.equal(a(x), b(x))


def test_self_attention_is_the_identity_at_initialisation_and_attends_once_scaled():
    torch.manual_seed(0)
    block = SelfAttention(16)
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(block(x), x)  # γ = 0
    with torch.no_grad():
        block.gamma.fill_(1.0)
    y = block(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    y.sum().backward()
    assert block.query.weight.grad is not None and block.gamma.grad is not None


def test_conditional_batch_norm_starts_as_batch_norm_and_then_depends_on_the_condition():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(4, condition_dim=3)
    x, a = torch.randn(5, 4, 2, 2), torch.randn(5, 3)
    plain = nn.BatchNorm2d(4, affine=False)
    assert torch.allclose(cbn(x, a), plain(x), atol=0.2)  # small initial weights: near batch norm
    with torch.no_grad():
        cbn.gain.weight.zero_(), cbn.bias.weight.zero_()
    assert torch.allclose(cbn(x, a), plain(x), atol=1e-6)  # gain 1, bias 0: batch norm itself
    spectral = apply_spectral_norm(ConditionalBatchNorm2d(4, condition_dim=3))
    assert torch.isfinite(spectral(x, a)).all()  # its linears can be spectrally normalised
    with torch.no_grad():
        cbn.gain.weight.normal_(), cbn.bias.weight.normal_()
    expected = plain(x) * (1 + a @ cbn.gain.weight.T)[:, :, None, None] + (a @ cbn.bias.weight.T)[:, :, None, None]
    assert torch.allclose(cbn(x, a), expected, atol=1e-5)


def test_residual_blocks_change_the_resolution_and_keep_gradients_flowing():
    up = ResBlockUp(8, 4, condition_dim=3)
    down = ResBlockDown(4, 8)
    first = ResBlockDown(3, 8, first=True)
    x = torch.randn(2, 8, 4, 4, requires_grad=True)
    h = up(x, torch.randn(2, 3))
    assert h.shape == (2, 4, 8, 8)
    assert down(h).shape == (2, 8, 4, 4)
    assert first(torch.randn(2, 3, 8, 8)).shape == (2, 8, 4, 4)
    assert ResBlockDown(8, 8, downsample=False)(torch.randn(1, 8, 4, 4)).shape == (1, 8, 4, 4)
    down(h).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert ResBlockUp(8, 4)(x).shape == (2, 4, 8, 8)  # unconditional: plain batch norm
