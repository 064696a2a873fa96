"""MNIST from the standard IDX files, in torchvision's folder layout and downloaded by torchvision.

The files live in ``{data_dir}/MNIST/raw/``, which is where
``torchvision.datasets.MNIST(data_dir)`` reads and downloads them, so
``prepare_data`` simply points torchvision at ``data_dir``.  Reading is
:func:`read_idx` rather than torchvision's reader, which opens only
uncompressed files (we accept each file plain or ``.gz``, the form they are
published in) and checks the header with bare asserts, for 1 to 3
dimensions (we raise ``ValueError`` naming the file, for any IDX); likewise
``torchvision.datasets.MNIST`` itself refuses a folder unless all four
uncompressed files are there.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from datamodules.base import DIGIT_CLASSES, DataNotFoundError, HeldOutImageDataModule, to_image_tensor
from datamodules.registry import register_datamodule

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_ORIGINAL = "http://yann.lecun.com/exdb/mnist/"

# IDX type codes -> big-endian numpy dtypes
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into a numpy array.

    The header is two zero bytes, a type code (0x08 = uint8, ...), the number of
    dimensions, then one big-endian uint32 per dimension; MNIST images start with
    0x00000803 and labels with 0x00000801.  A bad header or a byte count that does
    not match the dimensions raises ``ValueError`` naming the file; a missing file
    raises ``FileNotFoundError``.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX shape {shape} needs {expected} bytes, the file has {len(raw)}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native byte order, writable copy


@register_datamodule("mnist", summary="MNIST handwritten digits (70k 28x28 images, downloaded)")
class MNISTDataModule(HeldOutImageDataModule):
    """MNIST handwritten digits 0-9: 60k training (less ``val_size``) and 10k test images.

    Files are read from ``{data_dir}/MNIST/raw/`` (torchvision's layout), each
    plain or ``.gz``: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``.  ``prepare_data``
    downloads missing files through torchvision when ``download`` is true;
    otherwise (or offline) a :class:`DataNotFoundError` says what to put where.

    Args:
        data_dir: Root data folder; ``None`` means the ``ZOO_DATA_DIR`` variable, else ``"data"``.
        image_size: Height and width of the images (28 keeps the native size).
        val_size: Training images held out for validation (fixed seed).
        download: Download missing files in ``prepare_data``.
        batch_size: Images per batch (all loaders).
        num_workers: DataLoader worker processes (0 is fastest for in-memory data).
        pin_memory: Page-lock batches; ``None`` means "when CUDA is available".
        persistent_workers: Keep workers alive between epochs; ``None`` means
            ``num_workers > 0``.
    """

    name = "mnist"
    channels = 1
    default_class_names = DIGIT_CLASSES

    def __init__(
        self,
        data_dir: str | None = None,
        image_size: int = 32,
        val_size: int = 5000,
        download: bool = True,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(data_dir, val_size, download, image_size=image_size, num_classes=10, batch_size=batch_size,
                         num_workers=num_workers, pin_memory=pin_memory, persistent_workers=persistent_workers)
        self.save_hyperparameters()

    @property
    def raw_folder(self) -> Path:
        """The folder that holds the IDX files: ``{data_dir}/MNIST/raw`` (as ``torchvision.datasets.MNIST``)."""
        return self.data_dir / "MNIST" / "raw"

    def _find(self, name: str) -> Path | None:
        for candidate in (self.raw_folder / name, self.raw_folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
        return None

    def missing_files(self) -> list[str]:
        """Names (``.gz`` form) of the IDX files not present in :attr:`raw_folder`."""
        return [f"{name}.gz" for name in MNIST_FILES.values() if self._find(name) is None]

    def not_found(self, missing: list[str], cause: BaseException | None = None) -> DataNotFoundError:
        """The error for ``missing`` files (``cause``: the failed download, if any)."""
        return DataNotFoundError.for_files(
            "MNIST",
            self.raw_folder,
            missing,
            [MNIST_MIRROR + name for name in missing] + [f"{MNIST_ORIGINAL} (original site)"],
            hint=(
                "Each file may be plain or gzip-compressed (.gz). The root folder comes from "
                f"--data.data_dir, else the ZOO_DATA_DIR variable, else ./data (now {self.data_dir})."
            ),
            download=self.download,
            cause=cause,
        )

    def fetch(self) -> None:
        """Download all four files (md5-checked, from torchvision's mirrors) into :attr:`raw_folder`."""
        import torchvision.datasets

        torchvision.datasets.MNIST(str(self.data_dir), train=False, download=True)

    def _read(self, key: str) -> tuple[Path, np.ndarray]:
        path = self._find(MNIST_FILES[key])
        assert path is not None
        return path, read_idx(path)

    def read_parts(self) -> dict[str, tuple[Tensor, Tensor]]:
        """The train and test images (resized to ``image_size``) and labels."""
        out: dict[str, tuple[Tensor, Tensor]] = {}
        for part in ("train", "test"):
            (path, images), (_, labels) = self._read(f"{part}_images"), self._read(f"{part}_labels")
            if images.dtype != np.uint8 or images.ndim != 3:
                raise ValueError(f"{path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}")
            if labels.ndim != 1 or len(labels) != len(images):
                raise ValueError(f"{path}: {len(images)} images but {labels.shape} labels")
            out[part] = (to_image_tensor(images, self.image_size), torch.from_numpy(labels.astype(np.int64)))
        return out
