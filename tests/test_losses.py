import pytest
import torch
from torch import nn

import torch.nn.functional as F

from zoo.losses import LOSSES, LeastSquaresLoss, NonSaturatingLoss, get_adversarial_loss, gradient_penalty, r1_penalty


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


@pytest.mark.parametrize("name", list(LOSSES))
def test_discriminator_is_the_sum_of_its_real_and_fake_terms_on_any_logit_shape(name):
    torch.manual_seed(0)
    loss = get_adversarial_loss(name)
    for shape in [(8,), (4, 1, 6, 6)]:  # one logit per image, a PatchGAN map
        real, fake = torch.randn(shape), torch.randn(shape)
        real_term, fake_term = loss.discriminator_terms(real, fake)
        assert real_term.shape == fake_term.shape == ()
        assert torch.equal(loss.discriminator(real, fake), real_term + fake_term)
        assert loss.generator(fake).shape == ()


def test_the_terms_are_the_documented_formulas():
    torch.manual_seed(0)
    real, fake = torch.randn(4, 1, 6, 6), torch.randn(4, 1, 6, 6)
    bce = NonSaturatingLoss().discriminator_terms(real, fake)
    assert torch.allclose(bce[0], -F.logsigmoid(real).mean()) and torch.allclose(bce[1], -F.logsigmoid(-fake).mean())
    assert torch.allclose(NonSaturatingLoss(real_label=0.9).discriminator_terms(real, fake)[0],
                          F.binary_cross_entropy_with_logits(real, torch.full_like(real, 0.9)))
    lsgan = get_adversarial_loss("lsgan")  # Mao et al. Eq. 2: ½ on every squared error
    assert torch.allclose(lsgan.discriminator(real, fake), 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean()))
    assert torch.allclose(lsgan.generator(fake), 0.5 * (fake - 1).pow(2).mean())
    unhalved = LeastSquaresLoss(scale=1.0)  # CycleGAN §4's form: the reference code's nn.MSELoss
    assert torch.equal(unhalved.generator(fake), torch.nn.MSELoss()(fake, torch.ones_like(fake)))
    assert torch.allclose(unhalved.discriminator(real, fake), 2 * lsgan.discriminator(real, fake))
    hinge = get_adversarial_loss("hinge").discriminator_terms(real, fake)
    assert torch.allclose(hinge[0], F.relu(1 - real).mean()) and torch.allclose(hinge[1], F.relu(1 + fake).mean())
    assert torch.allclose(get_adversarial_loss("wgan-gp").discriminator(real, fake), fake.mean() - real.mean())
    with pytest.raises(ValueError, match="scale must be > 0, got 0"):
        LeastSquaresLoss(scale=0)


def test_unknown_loss_lists_choices():
    with pytest.raises(ValueError, match="valid choices: bce, lsgan, hinge, wgan, wgan-gp"):
        get_adversarial_loss("wasserstein")


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


def test_the_original_wgan_loss_is_the_critic_difference_and_clips():
    from zoo.losses import get_adversarial_loss

    loss = get_adversarial_loss("wgan")
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, -1.0])
    assert loss.discriminator(real, fake) == pytest.approx(0.0 - 3.0)  # E[D(G(z))] - E[D(x)]
    assert loss.generator(fake) == pytest.approx(0.0)
    assert loss.clips_weights and not loss.needs_gradient_penalty
