"""BigGAN-lite: the hierarchical latent, the shared embedding, spectral norm where the paper puts it, the projection
D, the truncation trick and the orthogonal regularisation, each checked against its definition."""

from __future__ import annotations

import pytest
import torch

from tests.models.helpers import train
from zoo.losses import orthogonal_penalty
from zoo.models import BigGAN
from zoo.nn.biggan import BigGANGenerator, truncated_noise
from zoo.nn.blocks import ConditionalBatchNorm2d, spectrally_normalised

TINY = dict(generator_width=8, discriminator_width=8, latent_dim=16)


def test_each_z_chunk_and_the_shared_embedding_condition_their_own_block():
    torch.manual_seed(0)
    g = BigGANGenerator(latent_dim=16, num_classes=10, image_shape=(1, 32, 32), width=8, embed_dim=6)
    seen: list[torch.Tensor] = []
    for block in g.blocks:
        block.norm1.register_forward_hook(lambda module, args, out: seen.append(args[1]))
    z, y = torch.randn(2, 16), torch.tensor([3, 5])
    assert g(z, y).shape == (2, 1, 32, 32)
    chunks = z.split(4, dim=1)
    for index, condition in enumerate(seen):  # block i gets [e(y), z chunk i + 1]
        assert torch.equal(condition, torch.cat([g.shared(y), chunks[index + 1]], dim=1))
    assert all(isinstance(b.norm1, ConditionalBatchNorm2d) for b in g.blocks)
    with pytest.raises(ValueError, match="latent_dim 18 must split into 4 equal chunks"):
        BigGANGenerator(latent_dim=18, image_shape=(1, 32, 32))


def test_weights_start_orthogonal_so_spectral_norm_keeps_every_direction():
    torch.manual_seed(0)
    model = BigGAN(**TINY)
    rows = model.generator.shared.weight  # (classes, embed_dim): orthonormal rows, each class at norm 1
    assert torch.allclose(rows @ rows.T, torch.eye(10), atol=1e-5)
    for network in (model.generator, model.discriminator):
        for name, module in network.named_modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)) and module.weight.numel() > 1:
                singular = torch.linalg.svdvals(module.weight.detach().flatten(1))
                # spectral norm divides by the largest; an orthogonal matrix leaves the others at 1 too
                assert torch.allclose(singular, singular[0], rtol=1e-2), name


def test_spectral_norm_everywhere_but_the_shared_embedding():
    model = BigGAN(**TINY)
    g_names, d_names = spectrally_normalised(model.generator), spectrally_normalised(model.discriminator)
    # the input linear, each block's two convs, shortcut and four conditional-BN linears (BigGAN-PyTorch's SN
    # bn_linear), the attention's four 1x1 convs and the output conv
    assert "shared" not in g_names and "linear" in g_names and len(g_names) == 1 + 3 * 7 + 4 + 1
    assert "embed" in d_names and "linear" in d_names
    assert model.generator.shared.weight.requires_grad and "weight" in dict(model.generator.shared.named_parameters())


def test_the_projection_discriminator_is_its_formula():
    torch.manual_seed(0)
    d = BigGAN(**TINY).discriminator.eval()
    x, y = torch.rand(3, 1, 32, 32) * 2 - 1, torch.tensor([0, 4, 9])
    with torch.no_grad():
        h = d.features(x)
        expected = d.linear(h).squeeze(1) + (d.embed(y) * h).sum(1)
        assert torch.allclose(d(x, y), expected, atol=1e-5)


def test_truncated_noise_stays_within_the_threshold_and_is_seeded():
    torch.manual_seed(3)
    z = truncated_noise(500, 20, 0.5)
    assert z.abs().max() <= 0.5 and z.std() > 0.2
    model = BigGAN(**TINY)
    torch.manual_seed(1)
    a = model.sample(4, labels=2, truncation=0.3)
    torch.manual_seed(1)
    assert torch.equal(a, model.sample(4, labels=2, truncation=0.3))
    assert not torch.equal(a, model.sample(4, labels=2, truncation=None))
    with pytest.raises(ValueError, match="threshold must be > 0"):
        truncated_noise(2, 3, 0.0)


def test_the_orthogonal_penalty_and_its_gradient():
    torch.manual_seed(0)
    w = torch.randn(3, 5, requires_grad=True)
    penalty = orthogonal_penalty([w])
    off_diagonal = (w @ w.t()) * (1 - torch.eye(3))
    assert torch.allclose(penalty, off_diagonal.pow(2).sum())
    penalty.backward()
    assert torch.allclose(w.grad, 4 * off_diagonal.detach() @ w.detach(), atol=1e-5)  # d/dW ‖WWᵀ ⊙ (1-I)‖²


def test_a_few_steps_train_both_networks_with_the_ema_copying_before_its_start():
    torch.manual_seed(0)
    model = BigGAN(**TINY, orthogonal_weight=1e-4, ema_start=100)
    before = [p.detach().clone() for p in model.generator.parameters()]
    trainer = train(model, max_steps=2, batch_size=8)
    assert trainer.global_step == 2 and model.batch_number == 3  # two D steps per G step
    assert any(not torch.equal(a, b) for a, b in zip(before, model.generator.parameters()))
    for ema, raw in zip(model.generator_ema.parameters(), model.generator.parameters()):
        assert torch.equal(ema, raw)  # before ema_start the EMA is a copy
    assert "train/orthogonal" in trainer.callback_metrics
