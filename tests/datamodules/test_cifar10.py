"""CIFAR-10 DataModule on tiny fake batches written in the official pickle format (offline)."""

from __future__ import annotations

import pickle
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets
import torchvision.datasets.utils

from datamodules import CIFAR10DataModule, DataNotFoundError
from datamodules.cifar10 import CIFAR10_CLASSES, CIFAR10_FOLDER, CIFAR10_MD5, CIFAR10_URL, read_cifar_batch

PER_BATCH, N_TEST, VAL = 4, 6, 5
N_TRAIN = 5 * PER_BATCH
NAMES = [f"class{i}" for i in range(10)]
RED, GREEN, BLUE, LEFT_WHITE = 0, 1, 2, 3  # label -> pattern (labels >= 3: left half white)


def pattern(label: int) -> np.ndarray:
    """A (32, 32, 3) uint8 image for ``label``: pure red/green/blue, or left half white."""
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    if label < 3:
        image[..., label] = 255
    else:
        image[:, :16] = 255
    return image


def write_batch(path: Path, labels: list[int]) -> None:
    planes = np.stack([pattern(label).transpose(2, 0, 1).reshape(-1) for label in labels])  # (N, 3072)
    batch = {
        b"batch_label": path.name.encode(),
        b"labels": labels,
        b"data": planes,
        b"filenames": [f"img{i}.png".encode() for i in range(len(labels))],
    }
    path.write_bytes(pickle.dumps(batch, protocol=2))


def train_labels() -> list[int]:
    return [i % 10 for i in range(N_TRAIN)]


def test_labels() -> list[int]:
    return [RED, GREEN, BLUE, 5, 9, RED]


test_labels.__test__ = False  # a helper, not a test


def write_fake_cifar(root: Path, meta: bool = True) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    labels = train_labels()
    for k in range(5):
        write_batch(folder / f"data_batch_{k + 1}", labels[k * PER_BATCH : (k + 1) * PER_BATCH])
    write_batch(folder / "test_batch", test_labels())
    if meta:
        meta_dict = {b"label_names": [n.encode() for n in NAMES], b"num_cases_per_batch": PER_BATCH, b"num_vis": 3072}
        (folder / "batches.meta").write_bytes(pickle.dumps(meta_dict, protocol=2))
    return folder


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    write_fake_cifar(tmp_path)
    return tmp_path


def orientation(image: torch.Tensor) -> str:
    """'left'/'right' for which half of a LEFT_WHITE pattern is white."""
    left, right = image[..., :16].mean().item(), image[..., 16:].mean().item()
    assert {round(left), round(right)} == {-1, 1}, "not a half-white image"
    return "left" if left > right else "right"


def test_shapes_labels_and_class_names(fake_root):
    dm = CIFAR10DataModule(data_dir=str(fake_root), val_size=VAL, batch_size=5)
    assert dm.image_shape == (3, 32, 32) and dm.num_classes == 10
    assert dm.class_names == list(CIFAR10_CLASSES)  # before setup: the standard names
    dm.prepare_data()
    dm.setup("fit")
    assert dm.class_names == NAMES  # read from batches.meta
    assert len(dm.split_dataset("train")) == N_TRAIN - VAL and len(dm.split_dataset("val")) == VAL
    test = dm.split_dataset("test")
    assert [test[i][1].item() for i in range(len(test))] == test_labels()
    train_val = [dm.split_dataset(s)[i][1].item() for s in ("train", "val") for i in range(len(dm.split_dataset(s)))]
    assert sorted(train_val) == sorted(train_labels())
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (5, 3, 32, 32) and images.dtype == torch.float32
    assert labels.shape == (5,) and labels.dtype == torch.int64
    assert images.min() == -1 and images.max() == 1


def test_channel_order_is_rgb(fake_root):
    test = CIFAR10DataModule(data_dir=str(fake_root), val_size=VAL).split_dataset("test")
    for index, channel in ((0, RED), (1, GREEN), (2, BLUE)):
        image, label = test[index]
        assert label.item() == channel
        assert image[channel].eq(1).all(), f"channel {channel} should be full"
        others = [c for c in range(3) if c != channel]
        assert image[others].eq(-1).all(), f"channels {others} should be empty"


def test_resize_and_missing_meta_fallback(tmp_path):
    write_fake_cifar(tmp_path, meta=False)
    dm = CIFAR10DataModule(data_dir=str(tmp_path), image_size=16, val_size=0)
    assert dm.image_shape == (3, 16, 16)
    image, _ = dm.split_dataset("test")[0]
    assert image.shape == (3, 16, 16) and image[RED].eq(1).all() and image[GREEN:].eq(-1).all()
    assert dm.class_names == list(CIFAR10_CLASSES)


def _orientations(loader, epochs: int) -> set[str]:
    seen = set()
    for _ in range(epochs):
        for images, labels in loader:
            seen.update(orientation(img) for img, lab in zip(images, labels) if lab >= LEFT_WHITE)
    return seen


def test_flip_only_for_train_and_only_when_enabled(fake_root):
    torch.manual_seed(0)
    flip = CIFAR10DataModule(data_dir=str(fake_root), val_size=VAL, batch_size=5)
    assert flip.random_flip is True  # the default
    assert _orientations(flip.train_dataloader(), epochs=4) == {"left", "right"}
    assert _orientations(flip.val_dataloader(), epochs=4) == {"left"}
    assert _orientations(flip.test_dataloader(), epochs=4) == {"left"}
    item = flip.split_dataset("train", augment=True)
    index = next(i for i in range(len(item)) if item[i][1] >= LEFT_WHITE)
    assert {orientation(item[index][0]) for _ in range(40)} == {"left", "right"}  # per-sample __getitem__ too
    assert {orientation(flip.split_dataset("train")[index][0]) for _ in range(40)} == {"left"}  # metric view

    plain = CIFAR10DataModule(data_dir=str(fake_root), val_size=VAL, batch_size=5, random_flip=False)
    assert _orientations(plain.train_dataloader(), epochs=4) == {"left"}


def test_read_cifar_batch_rejects_bad_files(tmp_path):
    bad = tmp_path / "data_batch_1"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="data_batch_1"):
        read_cifar_batch(bad)
    bad.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, protocol=2))
    with pytest.raises(ValueError, match=r"data_batch_1: data must be uint8 \(N, 3072\)"):
        read_cifar_batch(bad)


def test_missing_files_without_download(tmp_path):
    dm = CIFAR10DataModule(data_dir=str(tmp_path), download=False)
    for step in (dm.prepare_data, dm.setup):
        with pytest.raises(DataNotFoundError) as info:
            step()
        message = str(info.value)
        assert str(tmp_path / "cifar-10-batches-py") in message
        assert "data_batch_1" in message and "test_batch" in message
        assert CIFAR10_URL in message and "download=False" in message


def test_offline_download_gives_a_clear_error(tmp_path, monkeypatch):
    calls = []

    def offline(url, download_root, **kwargs):
        calls.append((url, download_root, kwargs.get("md5")))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", offline)
    with pytest.raises(DataNotFoundError) as info:
        CIFAR10DataModule(data_dir=str(tmp_path)).prepare_data()
    assert calls == [(CIFAR10_URL, str(tmp_path), "c58f30108f718f92721af3b95e74349a")]
    message = str(info.value)
    assert "CIFAR-10" in message and str(tmp_path / "cifar-10-batches-py") in message
    assert "Automatic download failed: URLError" in message and CIFAR10_URL in message
    assert "data_batch_5" in message and "extract" in message.lower()


def test_present_files_are_not_downloaded_again(fake_root, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("tried to download although the files exist")

    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", no_network)
    CIFAR10DataModule(data_dir=str(fake_root)).prepare_data()


def test_layout_and_archive_are_torchvisions_but_its_reader_needs_the_official_bytes(fake_root):
    """Same folder, URL and md5 as torchvision.datasets.CIFAR10, which md5-checks every batch (so not these)."""
    reference = torchvision.datasets.CIFAR10
    assert (reference.base_folder, reference.url, reference.tgz_md5) == (CIFAR10_FOLDER, CIFAR10_URL, CIFAR10_MD5)
    with pytest.raises(RuntimeError, match="not found or corrupted"):
        reference(str(fake_root), train=False, download=False)
    assert len(CIFAR10DataModule(data_dir=str(fake_root), val_size=VAL).split_dataset("test")) == N_TEST
