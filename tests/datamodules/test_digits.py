"""The embedded digits DataModule, the registry and the shared base class (all offline)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from torch.utils.data import SequentialSampler

import datamodules
from datamodules import (
    DigitsDataModule,
    UnknownNameError,
    get_datamodule_class,
    list_datamodules,
)
from datamodules.base import ImageDataModule, to_image_tensor
from datamodules.resumable import EpochSampler
from datamodules.digits import ASSET

SPLIT_SIZES = {"train": 1439, "val": 179, "test": 179}


@pytest.fixture(scope="module")
def dm() -> DigitsDataModule:
    module = DigitsDataModule(batch_size=32)
    module.setup("fit")
    return module


@pytest.fixture(scope="module")
def native() -> DigitsDataModule:
    module = DigitsDataModule(image_size=8, batch_size=16)
    module.setup("fit")
    return module


def _images(dataset) -> torch.Tensor:
    return torch.stack([dataset[i][0] for i in range(len(dataset))])


def _labels(dataset) -> torch.Tensor:
    return torch.stack([dataset[i][1] for i in range(len(dataset))])


def test_shape_and_classes_known_before_any_data_is_loaded(monkeypatch):
    def boom(self):
        raise AssertionError("data loaded during __init__ or a property")

    monkeypatch.setattr(DigitsDataModule, "load_splits", boom)
    module = DigitsDataModule(image_size=16)
    assert module.image_shape == (1, 16, 16)
    assert module.dims == (1, 16, 16)
    assert module.num_classes == 10
    assert module.class_names == [str(i) for i in range(10)]
    assert module.hparams["image_size"] == 16
    with pytest.raises(AssertionError, match="data loaded"):
        module.setup()


def test_train_batch_shape_dtype_and_range(dm):
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (32, 1, 32, 32) and images.dtype == torch.float32
    assert labels.shape == (32,) and labels.dtype == torch.int64
    assert images.min() >= -1 and images.max() <= 1
    assert images.min() < -0.9 and images.max() > 0.9
    assert set(labels.tolist()) <= set(range(10))


def test_pixels_are_the_packaged_ones_scaled_to_minus_one_one(native):
    with np.load(ASSET) as npz:
        raw, labels, split = npz["images"], npz["labels"], npz["split"]
    for code, name in enumerate(("train", "val", "test")):
        ds = native.split_dataset(name)
        expected = torch.from_numpy(raw[split == code]).float().unsqueeze(1) / 127.5 - 1
        torch.testing.assert_close(_images(ds), expected)
        assert _labels(ds).tolist() == labels[split == code].tolist()


def test_split_sizes_fixed_disjoint_and_stratified(native):
    keys = {}
    for name, size in SPLIT_SIZES.items():
        ds = native.split_dataset(name)
        assert len(ds) == size
        assert sorted(set(_labels(ds).tolist())) == list(range(10)), f"{name} misses a class"
        keys[name] = {img.numpy().tobytes() for img in _images(ds)}
        assert len(keys[name]) == size  # no image twice within a split
    assert not keys["train"] & keys["val"]
    assert not keys["train"] & keys["test"]
    assert not keys["val"] & keys["test"]


def test_train_loader_shuffles_and_drops_last_eval_loaders_do_not(dm):
    train = dm.train_dataloader()
    assert isinstance(train.sampler, EpochSampler) and train.sampler.shuffle and train.drop_last
    assert len(train) == SPLIT_SIZES["train"] // 32
    assert all(len(y) == 32 for _, y in train)
    for name, loader in (("val", dm.val_dataloader()), ("test", dm.test_dataloader())):
        assert isinstance(loader.sampler, SequentialSampler) and not loader.drop_last
        labels = torch.cat([y for _, y in loader])
        assert len(labels) == SPLIT_SIZES[name]  # the last partial batch is kept
        assert labels.tolist() == _labels(dm.split_dataset(name)).tolist()


def test_no_flip_for_digits(dm):
    assert dm.random_flip is False
    assert dm.split_dataset("train", augment=True) is dm.split_dataset("train")


def test_unknown_split_names_valid_ones(dm):
    with pytest.raises(ValueError, match="'validation'.*train, val, test"):
        dm.split_dataset("validation")


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="batch_size"):
        DigitsDataModule(batch_size=0)
    with pytest.raises(ValueError, match="persistent_workers"):
        DigitsDataModule(persistent_workers=True, num_workers=0)
    with pytest.raises(ValueError, match="image_size"):
        DigitsDataModule(image_size=0)
    with pytest.raises(ValueError, match="batch_size 5000 is larger than the 1439"):
        DigitsDataModule(batch_size=5000).train_dataloader()


def test_pin_memory_and_workers_resolution():
    assert DigitsDataModule(pin_memory=False).train_dataloader().pin_memory is False
    assert DigitsDataModule().train_dataloader().pin_memory is torch.cuda.is_available()
    loader = DigitsDataModule(num_workers=1).val_dataloader()
    assert loader.num_workers == 1 and loader.persistent_workers is True


def test_registry_lookup_and_unknown_name():
    assert list_datamodules() == [
        "cifar10", "circle", "digit_outlines", "digit_strokes", "digits",
        "image_folder", "labelled_folder", "mnist", "paired_folder", "unpaired_folder",
    ]
    assert list_datamodules("*st") == ["mnist"]
    assert get_datamodule_class("digits") is DigitsDataModule
    assert get_datamodule_class("mnist") is datamodules.MNISTDataModule
    assert get_datamodule_class("cifar10") is datamodules.CIFAR10DataModule
    assert isinstance(datamodules.create_datamodule("digits", image_size=8), DigitsDataModule)
    with pytest.raises(UnknownNameError) as info:
        get_datamodule_class("svhn")
    assert isinstance(info.value, KeyError)
    assert str(info.value) == (
        "unknown data set 'svhn'; valid choices: cifar10, circle, digit_outlines, digit_strokes, digits, "
        "image_folder, labelled_folder, mnist, paired_folder, unpaired_folder"
    )


def test_packaged_npz_is_small_and_well_formed():
    assert ASSET.stat().st_size < 2 * 1024 * 1024
    with np.load(ASSET) as npz:
        assert npz["images"].shape == (1797, 8, 8) and npz["images"].dtype == np.uint8
        assert npz["labels"].shape == (1797,) and npz["labels"].dtype == np.int64
        assert npz["split"].dtype == np.uint8
        assert np.bincount(npz["split"]).tolist() == list(SPLIT_SIZES.values())
        assert npz["images"].min() == 0 and npz["images"].max() == 255


def test_make_digits_script_reproduces_the_npz():
    pytest.importorskip("sklearn", reason="scikit-learn is only needed to rebuild the asset")
    spec = importlib.util.spec_from_file_location("make_digits", ASSET.with_name("make_digits.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    built = script.build()
    with np.load(ASSET) as npz:
        for key in ("images", "labels", "split"):
            np.testing.assert_array_equal(built[key], npz[key])
            assert built[key].dtype == npz[key].dtype


def test_to_image_tensor_layout_and_resize():
    hwc = np.zeros((2, 4, 6, 3), dtype=np.uint8)
    hwc[..., 0] = 200  # red channel
    out = to_image_tensor(hwc)
    assert out.shape == (2, 3, 4, 6) and out.dtype == torch.uint8 and out.is_contiguous()
    assert out[:, 0].eq(200).all() and out[:, 1:].eq(0).all()
    grey = np.full((3, 8, 8), 77, dtype=np.uint8)
    resized = to_image_tensor(grey, 32)
    assert resized.shape == (3, 1, 32, 32) and resized.eq(77).all()  # a flat image stays flat
    stripes = np.tile(np.array([0, 0, 0, 255], np.uint8), (1, 8, 2))  # one bright column in four
    down = to_image_tensor(stripes, 2)
    assert down.shape == (1, 1, 2, 2) and down.min() > 30  # antialiased (plain bilinear gives 0)
    with pytest.raises(TypeError, match="uint8"):
        to_image_tensor(np.zeros((1, 4, 4), dtype=np.float32))


def test_a_subclass_of_image_datamodule_keeps_the_positional_loader_arguments():
    class Tiny(ImageDataModule):
        channels = 3

        def __init__(self, batch_size: int = 2) -> None:
            super().__init__(batch_size, 0, False, None, image_size=4, num_classes=2, random_flip=True)

        def load_splits(self):
            images, labels = torch.zeros(4, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 1, 0, 1])
            return {split: (images, labels) for split in ("train", "val", "test")}

    tiny = Tiny()
    assert (tiny.batch_size, tiny.pin_memory, tiny.image_shape, tiny.num_classes, tiny.random_flip) == (
        2, False, (3, 4, 4), 2, True)
    images, labels = next(iter(tiny.train_dataloader()))
    assert images.shape == (2, 3, 4, 4) and images.eq(-1).all()
    with pytest.raises(ValueError, match="image_size must be >= 1, got 0"):
        ImageDataModule(image_size=0)
