import pytest
import torch

from zoo.nn import DCGANDiscriminator
from zoo.nn.infogan import LOG_STD_RANGE, InfoGANDiscriminator


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_every_head_has_the_right_shape(size, channels):
    shape = (channels, size, size)
    net = InfoGANDiscriminator(shape, base_channels=8, categorical_dims=[10, 3], continuous_dim=2, q_hidden=16)
    logit, q = net(torch.randn(5, *shape))
    assert logit.shape == (5,)
    assert [c.shape for c in q.categorical] == [(5, 10), (5, 3)]
    assert q.mean.shape == q.log_std.shape == (5, 2)
    # the trunk follows DCGANDiscriminator's down-sampling plan
    reference = DCGANDiscriminator(shape, None, base_channels=8)
    assert net.features(torch.randn(2, *shape)).shape == reference.features(torch.randn(2, *shape)).shape


def test_trunk_d_head_and_q_head_are_separate_submodules():
    net = InfoGANDiscriminator((1, 32, 32), 8, [10], 2, q_hidden=16)
    groups = [{id(p) for p in m.parameters()} for m in (net.features, net.logit, net.q)]
    assert all(groups) and not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert set.union(*groups) == {id(p) for p in net.parameters()}
    # paper appendix: FC - BN - LeakyReLU - FC output (10 logits + 2 means + 2 log-stds)
    assert isinstance(net.q[1], torch.nn.BatchNorm1d) and net.q[-1].out_features == 10 + 2 * 2


def test_q_loss_reaches_trunk_and_q_but_not_the_source_head():
    net = InfoGANDiscriminator((1, 32, 32), 8, [4], 1, q_hidden=16)
    _, q = net(torch.randn(4, 1, 32, 32))
    (q.categorical[0].sum() + q.mean.sum()).backward()
    assert net.features[0].weight.grad.abs().sum() > 0 and net.q[0].weight.grad.abs().sum() > 0
    assert net.logit.weight.grad is None


def test_with_q_false_skips_q_and_leaves_its_statistics_alone():
    net = InfoGANDiscriminator((1, 32, 32), 8, [10], 2, q_hidden=16)
    before = net.q[1].running_mean.clone()
    logit, q = net(torch.randn(4, 1, 32, 32), with_q=False)
    assert q is None and logit.shape == (4,)
    assert torch.equal(before, net.q[1].running_mean)


def test_log_std_is_clamped():
    net = InfoGANDiscriminator((1, 32, 32), 8, [10], 3, q_hidden=16)
    with torch.no_grad():
        net.q[-1].bias[-3:] = torch.tensor([-100.0, 0.0, 100.0])
    _, q = net.eval()(torch.randn(2, 1, 32, 32))
    assert q.log_std.min() >= LOG_STD_RANGE[0] and q.log_std.max() <= LOG_STD_RANGE[1]


def test_norm_options_and_errors():
    net = InfoGANDiscriminator((3, 32, 32), 8, [10], 0, norm="layer", q_hidden=16)
    assert isinstance(net.features[3], torch.nn.GroupNorm) and isinstance(net.q[1], torch.nn.LayerNorm)
    _, q = net(torch.randn(1, 3, 32, 32))  # per-sample norms: a batch of one works
    assert q.mean.shape == (1, 0)
    with pytest.raises(ValueError, match="at least 2 values"):
        InfoGANDiscriminator((1, 32, 32), 8, [1], 2)
    with pytest.raises(ValueError, match="square"):
        InfoGANDiscriminator((1, 32, 64), 8, [10], 2)
    with pytest.raises(ValueError, match="valid choices"):
        InfoGANDiscriminator((1, 32, 32), 8, [10], 2, norm="weird")
