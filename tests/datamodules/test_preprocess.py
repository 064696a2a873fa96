"""The ``preprocess`` policies on torchvision.transforms.v2: sizes, exact pixels, joint A/B choices, distribution."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from datamodules.preprocess import (
    PREPROCESS_POLICIES,
    CentreCrop,
    ImageTransform,
    RoundToMultiple,
    ScaleUp,
    ScaleWidth,
    default_load_size,
)
from tests.fake_data import random_image
from zoo.images import to_tensor

pytestmark = pytest.mark.usefixtures("one_thread")


def coordinates(width: int, height: int) -> Image.Image:
    """An RGB image whose pixel (x, y) is (10 x, 10 y, 7): a crop's origin and a flip can be read back."""
    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    return Image.fromarray(np.stack([10 * xs, 10 * ys, np.full_like(xs, 7)], -1).astype(np.uint8))


def crop_and_flip(image: torch.Tensor) -> tuple[int, int, bool]:
    """``(x, y, flipped)`` of a crop of :func:`coordinates` (float32 in [-1, 1])."""
    values = ((image + 1) * 127.5).round().long()
    red, green = values[0], values[1]
    flipped = bool(red[0, 0] > red[0, 1])
    x = int(red[0, -1 if flipped else 0]) // 10
    return x, int(green[0, 0]) // 10, flipped


def bicubic(image: Image.Image, width: int, height: int) -> Image.Image:
    return image if image.size == (width, height) else image.resize((width, height), Image.BICUBIC)


def floor_centre_crop(image: Image.Image, size: int) -> Image.Image:
    x, y = (image.width - size) // 2, (image.height - size) // 2
    return image.crop((x, y, x + size, y + size))


def round4(value: float) -> int:
    return max(4, round(value / 4) * 4)


@pytest.mark.parametrize(
    ("preprocess", "size", "train_hw", "eval_hw"),
    [
        ("resize_and_crop", (37, 53), (16, 16), (16, 16)),
        ("scale_width_and_crop", (37, 53), (16, 16), (16, 16)),
        ("scale_width_and_crop", (80, 10), (16, 16), (16, 16)),  # height floored at image_size
        ("crop", (37, 53), (16, 16), (16, 16)),
        ("crop", (10, 12), (16, 16), (16, 16)),  # smaller than the crop: scaled up first
        ("scale_width", (37, 53), (24, 16), (24, 16)),  # 16 * 53 / 37 = 22.9 -> 24 (multiple of 4)
        ("scale_width", (40, 4), (4, 16), (4, 16)),  # 1.6 -> at least 4
        ("none", (37, 53), (52, 36), (52, 36)),
        ("none", (3, 2), (4, 4), (4, 4)),
        ("resize", (37, 53), (16, 16), (16, 16)),
    ],
)
def test_transform_sizes(preprocess, size, train_hw, eval_hw):
    image = random_image(*size)
    for train, hw in ((True, train_hw), (False, eval_hw)):
        transform = ImageTransform(preprocess, 16, 18, flip=True, train=train)
        out = transform(image)
        assert tuple(out.shape) == (3, *hw) and out.dtype == torch.float32, (preprocess, train)
        assert transform.fixed_size == (preprocess not in ("scale_width", "none"))


@pytest.mark.parametrize("size", [(19, 23), (37, 53), (10, 12), (80, 10), (16, 16)])
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_validation_pixels_are_pillow_bicubic_and_a_floor_centre_crop(size, mode):
    """The deterministic variant of each policy, written out with Pillow (the table of datamodules.preprocess)."""
    image, s = random_image(*size, mode, seed=size[0]), 16
    width, height = image.size
    scale = max(1.0, s / min(width, height))
    expected = {
        "resize_and_crop": bicubic(image, s, s),
        "scale_width_and_crop": floor_centre_crop(bicubic(image, s, max(round(s * height / width), s)), s),
        "crop": floor_centre_crop(bicubic(image, max(s, round(width * scale)), max(s, round(height * scale))), s),
        "scale_width": bicubic(image, s, round4(s * height / width)),
        "none": bicubic(image, round4(width), round4(height)),
        "resize": bicubic(image, s, s),
    }
    assert set(expected) == set(PREPROCESS_POLICIES)
    for preprocess, picture in expected.items():
        out = ImageTransform(preprocess, s, 20, flip=True, train=False)(image)
        assert torch.equal(out, to_tensor(picture)), preprocess


def test_the_centre_crop_floors_where_v2_centercrop_rounds():
    image = coordinates(19, 23)  # margins 3 and 7: floor 1 and 3, v2.CenterCrop rounds to 2 and 4
    assert crop_and_flip(to_tensor(CentreCrop(16)(image))) == (1, 3, False)
    assert crop_and_flip(to_tensor(v2.CenterCrop(16)(image))) == (2, 4, False)


def test_pipelines_are_v2_with_custom_pieces_only_where_needed():
    def steps(preprocess, train=True):
        return [type(t) for t in ImageTransform(preprocess, 16, 18, flip=True, train=train).pipeline.transforms]

    flip_and_tensor = [v2.RandomHorizontalFlip, v2.Lambda]
    assert steps("resize_and_crop") == [v2.Resize, v2.RandomCrop, *flip_and_tensor]
    assert steps("resize_and_crop", train=False) == [v2.Resize, v2.Lambda]
    assert steps("scale_width_and_crop") == [ScaleWidth, v2.RandomCrop, *flip_and_tensor]
    assert steps("scale_width_and_crop", train=False) == [ScaleWidth, CentreCrop, v2.Lambda]
    assert steps("crop") == [ScaleUp, v2.RandomCrop, *flip_and_tensor]
    assert steps("crop", train=False) == [ScaleUp, CentreCrop, v2.Lambda]
    assert steps("scale_width") == [ScaleWidth, *flip_and_tensor]
    assert steps("none") == [RoundToMultiple, *flip_and_tensor]
    assert steps("resize") == [v2.Resize, *flip_and_tensor]
    assert [type(t) for t in ImageTransform("resize", 16, 18, flip=False).pipeline.transforms] == [v2.Resize, v2.Lambda]


def test_eval_transform_is_deterministic_and_train_transform_is_random():
    image = random_image(37, 53)
    evaluate = ImageTransform("resize_and_crop", 16, 24, flip=True, train=False)
    assert torch.equal(evaluate(image), evaluate(image))
    torch.manual_seed(0)
    train = ImageTransform("resize_and_crop", 16, 24, flip=True, train=True)
    outputs = {train(image).numpy().tobytes() for _ in range(20)}
    assert len(outputs) > 10


def test_random_crop_and_flip_are_uniform():
    """Every crop position and both orientations, each about equally often (as before v2)."""
    torch.manual_seed(0)
    image, draws = coordinates(19, 18), 2400  # 4 x 3 positions for a 16² crop, x 2 flips
    transform = ImageTransform("crop", 16, 16, flip=True, train=True)
    counts = Counter(crop_and_flip(transform(image)) for _ in range(draws))
    assert set(counts) == {(x, y, f) for x in range(4) for y in range(3) for f in (False, True)}
    expected = draws / len(counts)  # 100; a binomial standard deviation is about 10
    assert all(abs(n - expected) < 45 for n in counts.values()), counts


@pytest.mark.parametrize(("preprocess", "size", "load_size"), [("crop", (23, 19), 16), ("resize_and_crop", (24, 24), 24)])
def test_images_given_together_share_the_crop_and_flip(preprocess, size, load_size):
    """``transform(a, b)``: a v2 transform draws once per call, so A and B (even of other channels) stay aligned."""
    torch.manual_seed(0)
    a = coordinates(*size)
    b = random_image(*size, "L", seed=3)
    transform = ImageTransform(preprocess, 16, load_size, flip=True, train=True)
    seen = set()
    for _ in range(40):
        out_a, out_b = transform(a, b)
        x, y, flipped = crop_and_flip(out_a)
        expected = b.crop((x, y, x + 16, y + 16))
        if flipped:
            expected = expected.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        assert out_b.shape == (1, 16, 16) and torch.equal(out_b, to_tensor(expected))
        seen.add((x, y, flipped))
    assert len(seen) > 5


def test_one_image_gives_a_tensor_and_the_conversion_is_zoo_images():
    image = random_image(16, 16)
    out = ImageTransform("resize", 16, 16, train=False)(image)
    assert isinstance(out, torch.Tensor) and torch.equal(out, to_tensor(image))


def test_bad_options_name_the_value():
    with pytest.raises(ValueError, match="unknown preprocess 'squash'; valid choices: resize_and_crop"):
        ImageTransform("squash", 16, 18)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"load_size \(12\) must be >= image_size \(16\) for preprocess='crop'"):
        ImageTransform("crop", 16, 12)
    assert ImageTransform("resize", 16, 12).fixed_size  # no crop: load_size unused
    assert default_load_size(256) == 286 and default_load_size(16) == 18
