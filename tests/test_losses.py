import pytest
import torch
from torch import nn

from zoo.losses import LOSSES, get_adversarial_loss, gradient_penalty, r1_penalty


@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_reward_the_right_side(name):
    loss = get_adversarial_loss(name)
    good_d = loss.discriminator(torch.full((8,), 3.0), torch.full((8,), -3.0))
    bad_d = loss.discriminator(torch.full((8,), -3.0), torch.full((8,), 3.0))
    assert good_d < bad_d, "D's loss must be lower when it scores real high and fake low"
    assert loss.generator(torch.full((8,), 3.0)) < loss.generator(torch.full((8,), -3.0))


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradients_push_logits_apart(name):
    loss = get_adversarial_loss(name)
    real = torch.full((4,), 0.5, requires_grad=True)
    fake = torch.full((4,), 0.5, requires_grad=True)
    loss.discriminator(real, fake).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()  # descent raises D(x), lowers D(G(z))
    fake_g = torch.full((4,), 0.5, requires_grad=True)
    loss.generator(fake_g).backward()
    assert (fake_g.grad < 0).all()  # descent raises D(G(z))


def test_known_values():
    zeros = torch.zeros(3)
    assert get_adversarial_loss("bce").discriminator(zeros, zeros).item() == pytest.approx(2 * 0.693147, rel=1e-5)
    assert get_adversarial_loss("lsgan").discriminator(zeros, zeros).item() == pytest.approx(0.5)
    assert get_adversarial_loss("hinge").discriminator(zeros, zeros).item() == pytest.approx(2.0)
    assert get_adversarial_loss("wgan-gp").generator(torch.tensor([1.0, 3.0])).item() == pytest.approx(-2.0)


def test_unknown_loss_lists_choices():
    with pytest.raises(ValueError, match="valid choices: bce, lsgan, hinge, wgan-gp"):
        get_adversarial_loss("wgan")


def test_gradient_penalty_is_zero_for_unit_gradient_and_positive_otherwise():
    torch.manual_seed(0)
    real, fake = torch.randn(16, 1, 4, 4), torch.randn(16, 1, 4, 4)
    unit = nn.Linear(16, 1, bias=False)
    with torch.no_grad():
        unit.weight.copy_(torch.nn.functional.normalize(torch.randn(1, 16), dim=1))
    assert gradient_penalty(lambda x: unit(x.flatten(1)), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    steep = nn.Linear(16, 1, bias=False)
    with torch.no_grad():
        steep.weight.mul_(0).add_(1.0)  # gradient norm 4
    penalty = gradient_penalty(lambda x: steep(x.flatten(1)), real, fake)
    assert penalty.item() == pytest.approx(9.0, rel=1e-5)
    penalty.backward()
    assert steep.weight.grad is not None and steep.weight.grad.abs().sum() > 0


def test_r1_penalty_is_the_squared_gradient_norm_on_real_data_and_trains_d():
    torch.manual_seed(0)
    real = torch.randn(8, 1, 4, 4, requires_grad=True)
    critic = nn.Linear(16, 1, bias=False)
    with torch.no_grad():
        critic.weight.fill_(0.5)  # ∇_x D(x) = w for every x: ‖w‖² = 16 · 0.25 = 4
    penalty = r1_penalty(critic(real.flatten(1)).squeeze(1), real)
    assert penalty.item() == pytest.approx(4.0, rel=1e-6)
    penalty.backward()  # d‖w‖²/dw = 2w: the penalty flattens D around the real data
    assert torch.allclose(critic.weight.grad, torch.full((1, 16), 1.0))
    quadratic = lambda x: x.flatten(1).pow(2).sum(1)  # ∇ = 2x: the penalty depends on where x is
    assert r1_penalty(quadratic(real), real).item() == pytest.approx(4 * real.detach().pow(2).sum(dim=(1, 2, 3)).mean().item(), rel=1e-5)


def test_r1_penalty_needs_a_real_batch_that_requires_grad():
    real = torch.randn(4, 3)
    with pytest.raises(ValueError, match="require grad"):
        r1_penalty(real.sum(1), real)
