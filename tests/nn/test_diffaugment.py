"""DiffAugment: the reference's ranges, differentiable, seeded, one geometric draw for a channel-concatenated pair."""

from __future__ import annotations

import pytest
import torch

from zoo.nn.diffaugment import DiffAugment, parse_policy, rand_brightness, rand_contrast, rand_cutout, rand_saturation, \
    rand_translation


def test_policies_parse_and_unknown_names_are_listed():
    assert parse_policy("color, translation,cutout") == ("color", "translation", "cutout")
    assert parse_policy("") == () and parse_policy(None) == ()
    with pytest.raises(ValueError, match="unknown DiffAugment policy blur; valid choices: color, translation, cutout"):
        parse_policy("translation,blur")
    assert torch.equal(DiffAugment(())(torch.ones(1, 1, 2, 2)), torch.ones(1, 1, 2, 2))


def test_colour_ops_stay_in_the_references_ranges():
    torch.manual_seed(0)
    x = torch.zeros(4000, 3, 2, 2)
    shift = rand_brightness(x)[:, 0, 0, 0]
    assert shift.min() >= -0.5 and shift.max() < 0.5 and shift.std() > 0.25  # U[-0.5, 0.5)
    grey = torch.tensor([1.0, -1.0, 0.0]).view(1, 3, 1, 1).expand(4000, 3, 2, 2)
    factor = rand_saturation(grey)[:, 0, 0, 0]  # mean over channels is 0: the value is the factor
    assert factor.min() >= 0 and factor.max() < 2 and factor.mean() == pytest.approx(1, abs=0.05)
    ramp = torch.linspace(-1, 1, 4).view(1, 1, 2, 2).expand(4000, 1, 2, 2)
    contrast = (rand_contrast(ramp)[:, 0, 1, 1] / ramp[0, 0, 1, 1])
    assert contrast.min() >= 0.5 and contrast.max() < 1.5


def test_translation_shifts_by_at_most_an_eighth_filling_zeros():
    torch.manual_seed(0)
    x = torch.arange(1, 17, dtype=torch.float32).view(1, 1, 16, 16 // 16).expand(500, 1, 16, 16).contiguous()
    out = rand_translation(x)
    column = out[:, 0, :, 8]  # a middle column: column shifts never empty it
    rows_kept = (column > 0).sum(1)
    assert rows_kept.min() >= 16 - 2 and (rows_kept < 16).any()  # shifts of up to 2 rows of 16, zeros in
    assert ((out[:, 0] > 0).sum(2) > 0).sum(1).min() >= 14  # and of up to 2 columns
    nonzero = column[column > 0]
    assert set(nonzero.unique().tolist()) <= set(range(1, 17))  # whole pixels move: no interpolation


def test_cutout_zeroes_one_square_of_half_the_side():
    torch.manual_seed(0)
    out = rand_cutout(torch.ones(300, 1, 8, 8))
    zeros = (out == 0).sum(dim=(1, 2, 3))
    assert zeros.max() == 16 and zeros.min() >= 4  # a 4x4 square, clipped at the border at most to 2x2


def test_differentiable_seeded_and_one_draw_for_a_concatenated_pair():
    augment = DiffAugment("color,translation,cutout")
    x = torch.randn(3, 3, 8, 8, requires_grad=True)
    augment(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # G learns through the augmentation
    torch.manual_seed(5)
    first = augment(x.detach())
    torch.manual_seed(5)
    assert torch.equal(first, augment(x.detach()))  # a fixed seed reproduces a draw
    geometric = DiffAugment("translation,cutout")
    pair = torch.cat([x.detach(), x.detach()], dim=1)  # an input | output pair, as pix2pix's D sees it
    out = geometric(pair)
    assert torch.equal(out[:, :3], out[:, 3:])  # both halves moved and cut alike
