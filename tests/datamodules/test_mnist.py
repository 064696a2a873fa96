"""MNIST DataModule on a tiny fake data set written in the real IDX format (offline)."""

from __future__ import annotations

import gzip
import hashlib
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets

from datamodules import DataNotFoundError, MNISTDataModule, read_idx

N_TRAIN, N_TEST, VAL = 40, 20, 10
SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    """Write ``array`` (uint8) as an IDX file, gzip-compressed when ``gz``."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path = path.with_name(path.name + ".gz") if gz else path
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def fake_image(image_id: int) -> np.ndarray:
    """A 28x28 image whose pixel (0, 0) holds ``image_id`` and whose columns ``c..c+2`` are white."""
    image = np.zeros((28, 28), dtype=np.uint8)
    column = image_id % 26
    image[:, column : column + 3] = 255
    image[0, 0] = image_id
    return image


def fake_images(n: int, offset: int) -> np.ndarray:
    """Images with ids ``offset .. offset + n - 1``."""
    return np.stack([fake_image(offset + i) for i in range(n)])


def train_label(image_id: int) -> int:
    return image_id % 10


def test_label(image_id: int) -> int:
    return (3 * image_id) % 10


test_label.__test__ = False  # a helper, not a test


def write_fake_mnist(root: Path, gz: bool = True) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train_ids, test_ids = np.arange(N_TRAIN), np.arange(100, 100 + N_TEST)
    write_idx(raw / "train-images-idx3-ubyte", fake_images(N_TRAIN, 0), gz)
    write_idx(raw / "train-labels-idx1-ubyte", np.array([train_label(i) for i in train_ids], np.uint8), gz)
    write_idx(raw / "t10k-images-idx3-ubyte", fake_images(N_TEST, 100), gz)
    write_idx(raw / "t10k-labels-idx1-ubyte", np.array([test_label(i) for i in test_ids], np.uint8), gz)
    return raw


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    write_fake_mnist(tmp_path)
    return tmp_path


def image_id(image: torch.Tensor) -> int:
    return round((image[0, 0, 0].item() + 1) * 127.5)


def test_native_size_pixels_and_labels_are_what_was_written(fake_root):
    dm = MNISTDataModule(data_dir=str(fake_root), image_size=28, val_size=VAL, batch_size=8)
    assert dm.image_shape == (1, 28, 28)
    dm.prepare_data()
    dm.setup("fit")
    seen = {}
    for split, label_of in (("train", train_label), ("val", train_label), ("test", test_label)):
        ds = dm.split_dataset(split)
        for k in range(len(ds)):
            image, label = ds[k]
            assert image.shape == (1, 28, 28) and image.dtype == torch.float32
            i = image_id(image)
            expected = torch.from_numpy(fake_image(i)).float() / 127.5 - 1
            torch.testing.assert_close(image[0], expected)
            assert label.dtype == torch.int64 and label.item() == label_of(i)
            seen.setdefault(split, []).append(i)
    assert len(seen["train"]) == N_TRAIN - VAL and len(seen["val"]) == VAL
    assert sorted(seen["train"] + seen["val"]) == list(range(N_TRAIN))  # disjoint, complete
    assert seen["test"] == list(range(100, 100 + N_TEST))  # test keeps the file order


def test_default_size_32_range_and_loaders(fake_root):
    dm = MNISTDataModule(data_dir=str(fake_root), val_size=VAL, batch_size=8)
    assert dm.image_shape == (1, 32, 32) and dm.num_classes == 10
    dm.setup("fit")
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (8, 1, 32, 32) and images.dtype == torch.float32
    assert labels.shape == (8,) and labels.dtype == torch.int64
    assert images.min() >= -1 and images.max() <= 1
    assert images.min() < -0.9 and images.max() > 0.9
    assert len(dm.train_dataloader()) == (N_TRAIN - VAL) // 8  # drop_last
    assert sum(len(y) for _, y in dm.val_dataloader()) == VAL
    assert torch.cat([y for _, y in dm.test_dataloader()]).tolist() == [test_label(i) for i in range(100, 120)]


def test_val_split_is_fixed(fake_root):
    def val_ids() -> list[int]:
        dm = MNISTDataModule(data_dir=str(fake_root), image_size=28, val_size=VAL)
        ds = dm.split_dataset("val")
        return [image_id(ds[k][0]) for k in range(len(ds))]

    assert val_ids() == val_ids()


def test_plain_files_and_zoo_data_dir(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path, gz=False)
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    dm = MNISTDataModule(val_size=0, image_size=28)
    assert dm.data_dir == tmp_path
    assert len(dm.split_dataset("train")) == N_TRAIN and len(dm.split_dataset("val")) == 0


def test_val_size_too_large(fake_root):
    with pytest.raises(ValueError, match=r"val_size must be in \[0, 40\).*got 40"):
        MNISTDataModule(data_dir=str(fake_root), val_size=N_TRAIN).setup()
    with pytest.raises(ValueError, match="val_size"):
        MNISTDataModule(val_size=-1)


def test_read_idx_round_trip(tmp_path):
    images = fake_images(3, 7)
    assert np.array_equal(read_idx(write_idx(tmp_path / "a", images)), images)
    labels = np.arange(5, dtype=np.uint8)
    out = read_idx(write_idx(tmp_path / "b", labels, gz=False))
    assert out.dtype == np.uint8 and out.flags.writeable and out.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 28, 28) + bytes(100),  # too few pixels
        b"\x12\x34\x08\x01" + struct.pack(">I", 3) + bytes(3),  # bad magic
        b"",  # empty
        b"\x1f\x8b" + b"garbage, not gzip",  # corrupt gzip
    ],
    ids=["truncated", "bad-magic", "empty", "corrupt-gzip"],
)
def test_read_idx_rejects_bad_files_naming_them(tmp_path, content):
    bad = tmp_path / "bad-idx3-ubyte"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match="bad-idx3-ubyte"):
        read_idx(bad)


def test_missing_files_without_download(tmp_path):
    dm = MNISTDataModule(data_dir=str(tmp_path), download=False)
    for step in (dm.prepare_data, dm.setup):
        with pytest.raises(DataNotFoundError) as info:
            step()
        message = str(info.value)
        assert isinstance(info.value, FileNotFoundError)
        assert str(tmp_path / "MNIST" / "raw") in message
        assert "train-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
        assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in message
        assert "download=False" in message


def test_only_the_missing_files_are_named(fake_root):
    raw = fake_root / "MNIST" / "raw"
    (raw / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError) as info:
        MNISTDataModule(data_dir=str(fake_root)).setup()
    message = str(info.value)
    assert "t10k-images-idx3-ubyte" in message and "train-images-idx3-ubyte" not in message


def test_offline_download_gives_a_clear_error(tmp_path, monkeypatch):
    calls = []

    def offline(root, train=True, download=False, **kwargs):
        calls.append((root, train, download))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    dm = MNISTDataModule(data_dir=str(tmp_path), download=True)
    with pytest.raises(DataNotFoundError) as info:
        dm.prepare_data()
    assert calls == [(str(tmp_path), False, True)]  # one call fetches all four files
    message = str(info.value)
    assert "MNIST" in message and str(tmp_path / "MNIST" / "raw") in message
    assert "Automatic download failed: URLError" in message and "name resolution" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz" in message
    assert "http://yann.lecun.com/exdb/mnist/" in message


def test_present_files_are_not_downloaded_again(fake_root, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("tried to download although the files exist")

    monkeypatch.setattr(torchvision.datasets, "MNIST", no_network)
    MNISTDataModule(data_dir=str(fake_root)).prepare_data()


def test_real_mnist_test_files_if_available():
    if not SHARED_MNIST.is_dir():
        pytest.skip(f"no real MNIST files at {SHARED_MNIST} (optional check)")
    images_path = SHARED_MNIST / "t10k-images-idx3-ubyte.gz"
    labels_path = SHARED_MNIST / "t10k-labels-idx1-ubyte.gz"
    images, labels = read_idx(images_path), read_idx(labels_path)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and set(labels.tolist()) == set(range(10))
    assert hashlib.md5(gzip.decompress(images_path.read_bytes())).hexdigest() == "2646ac647ad5339dbf082846283269ea"
    assert hashlib.md5(gzip.decompress(labels_path.read_bytes())).hexdigest() == "27ae3e4e09519cfbb04c329615203637"


def test_the_folder_is_torchvisions_and_reads_the_same(tmp_path):
    """torchvision.datasets.MNIST pointed at data_dir finds (plain) files there and reads the same tensors."""
    write_fake_mnist(tmp_path, gz=False)
    dm = MNISTDataModule(data_dir=str(tmp_path), image_size=28, val_size=0)
    for train, split in ((True, "train"), (False, "test")):
        reference = torchvision.datasets.MNIST(str(tmp_path), train=train, download=False)
        ours = dm.split_dataset(split)
        assert torch.equal(ours.images[:, 0], reference.data) and torch.equal(ours.labels, reference.targets)


def test_gz_only_files_are_read_where_torchvision_refuses_them(fake_root):
    with pytest.raises(RuntimeError, match="Dataset not found"):
        torchvision.datasets.MNIST(str(fake_root), train=False, download=False)
    assert len(MNISTDataModule(data_dir=str(fake_root), val_size=VAL).split_dataset("test")) == N_TEST
