"""DCGANDiscriminator's optional auxiliary classifier head (AC-GAN)."""

import pytest
import torch

from zoo.nn import DCGANDiscriminator


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_aux_head_returns_source_logit_and_class_logits(size, channels):
    d = DCGANDiscriminator((channels, size, size), None, base_channels=8, aux_classes=7)
    out = d(torch.randn(5, channels, size, size))
    assert isinstance(out, tuple) and len(out) == 2
    logit, class_logits = out
    assert logit.shape == (5,) and class_logits.shape == (5, 7)
    assert d.aux_head.out_features == 7


def test_aux_head_works_with_a_conditional_discriminator_too():
    d = DCGANDiscriminator((1, 32, 32), 10, base_channels=8, conditioning="projection", aux_classes=10)
    logit, class_logits = d(torch.randn(3, 1, 32, 32), torch.tensor([0, 1, 2]))
    assert logit.shape == (3,) and class_logits.shape == (3, 10)


@pytest.mark.parametrize("num_classes", [None, 10])
def test_aux_classes_zero_is_the_plain_discriminator(num_classes):
    torch.manual_seed(0)
    plain = DCGANDiscriminator((1, 32, 32), num_classes, 8)
    after_plain = torch.randn(3)  # the constructor consumed the same random numbers
    torch.manual_seed(0)
    zero = DCGANDiscriminator((1, 32, 32), num_classes, 8, aux_classes=0)
    assert torch.equal(after_plain, torch.randn(3))
    assert not hasattr(zero, "aux_head") and str(zero) == str(plain)
    state_plain, state_zero = plain.state_dict(), zero.state_dict()
    assert list(state_plain) == list(state_zero)
    assert all(torch.equal(state_plain[k], state_zero[k]) for k in state_plain)
    x, y = torch.randn(4, 1, 32, 32), (torch.arange(4) if num_classes else None)
    out = zero(x, y)
    assert isinstance(out, torch.Tensor) and out.shape == (4,)
    assert torch.equal(out, plain(x, y))


def test_head_shares_the_features_and_leaves_the_source_logit_alone():
    aux = DCGANDiscriminator((1, 32, 32), None, 8, aux_classes=10).eval()
    plain = DCGANDiscriminator((1, 32, 32), None, 8).eval()
    missing, unexpected = plain.load_state_dict(aux.state_dict(), strict=False)
    assert missing == [] and unexpected == ["aux_head.weight", "aux_head.bias"]
    x = torch.randn(4, 1, 32, 32)
    logit, class_logits = aux(x)
    assert torch.allclose(logit, plain(x))
    features = aux.features(x)
    assert torch.allclose(class_logits, aux.aux_head(features))


def test_both_outputs_backpropagate_into_the_shared_features():
    d = DCGANDiscriminator((1, 32, 32), None, 8, aux_classes=10)
    _, class_logits = d(torch.randn(2, 1, 32, 32))
    torch.nn.functional.cross_entropy(class_logits, torch.tensor([1, 2])).backward()
    assert d.features[0].weight.grad.abs().sum() > 0
    assert d.aux_head.weight.grad.abs().sum() > 0 and d.logit.weight.grad is None


def test_negative_aux_classes_is_an_error():
    with pytest.raises(ValueError, match="aux_classes must be >= 0"):
        DCGANDiscriminator((1, 32, 32), None, 8, aux_classes=-1)
