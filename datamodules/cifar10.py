"""CIFAR-10 from the official "python version" pickled batches, downloaded with torchvision's utilities.

The batches live in ``{data_dir}/cifar-10-batches-py/``, torchvision's layout
too; ``prepare_data`` downloads, md5-checks and extracts the archive with
``torchvision.datasets.utils.download_and_extract_archive``.  Reading is
:func:`read_cifar_batch` rather than ``torchvision.datasets.CIFAR10``, which
checks every batch's md5 against the official copy on each load (refusing any
other copy in the same format), requires ``batches.meta``, and reports a
malformed batch as a bare ``KeyError``; ours names the file and falls back
to the standard class names without ``batches.meta``.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from datamodules.base import DataNotFoundError, HeldOutImageDataModule, to_image_tensor
from datamodules.registry import register_datamodule

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


def _unpickle(path: Path) -> dict[Any, Any]:
    try:
        with open(path, "rb") as fh:
            obj = pickle.load(fh, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as exc:
        raise ValueError(f"{path}: not a CIFAR-10 pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return obj


def _field(batch: dict[Any, Any], key: str, path: Path) -> Any:
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    raise ValueError(f"{path}: no {key!r} entry (keys: {sorted(map(str, batch))})")


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 batch file: uint8 images ``(N, 32, 32, 3)`` and int64 labels ``(N,)``.

    The file is a pickle (protocol 2) dict whose ``b"data"`` is uint8 ``(N, 3072)``
    (the red, green and blue 32x32 planes, row-major) and ``b"labels"`` a list of
    ints.  A malformed file raises ``ValueError`` naming it.  Pickles can run code
    when loaded: only read files you trust.
    """
    path = Path(path)
    batch = _unpickle(path)
    data = np.asarray(_field(batch, "data", path))
    labels = np.asarray(_field(batch, "labels", path), dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: data must be uint8 (N, 3072), got {data.dtype} {data.shape}")
    if labels.shape != (len(data),):
        raise ValueError(f"{path}: {len(data)} images but labels of shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels must be in 0..9, got {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


@register_datamodule("cifar10", summary="CIFAR-10 colour images (60k 32x32, 10 classes, downloaded)")
class CIFAR10DataModule(HeldOutImageDataModule):
    """CIFAR-10: 32x32 colour images of 10 classes, 50k training (less ``val_size``) and 10k test.

    Files are read from ``{data_dir}/cifar-10-batches-py/`` (``data_batch_1`` ..
    ``data_batch_5``, ``test_batch``, ``batches.meta``), the extracted official
    python archive.  ``prepare_data`` downloads and extracts it when ``download``
    is true; otherwise (or offline) a :class:`DataNotFoundError` says what to put where.

    Args:
        data_dir: Root data folder; ``None`` means the ``ZOO_DATA_DIR`` variable, else ``"data"``.
        image_size: Height and width of the images (32 keeps the native size).
        val_size: Training images held out for validation (fixed seed).
        random_flip: Mirror training images left-right at random.
        download: Download and extract the archive in ``prepare_data``.
        batch_size: Images per batch (all loaders).
        num_workers: DataLoader worker processes (0 is fastest for in-memory data).
        pin_memory: Page-lock batches; ``None`` means "when CUDA is available".
        persistent_workers: Keep workers alive between epochs; ``None`` means
            ``num_workers > 0``.
    """

    name = "cifar10"
    channels = 3
    default_class_names = CIFAR10_CLASSES

    def __init__(
        self,
        data_dir: str | None = None,
        image_size: int = 32,
        val_size: int = 5000,
        random_flip: bool = True,
        download: bool = True,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(data_dir, val_size, download, image_size=image_size, num_classes=10, random_flip=random_flip,
                         batch_size=batch_size, num_workers=num_workers, pin_memory=pin_memory,
                         persistent_workers=persistent_workers)
        self.save_hyperparameters()

    @property
    def batches_folder(self) -> Path:
        """The folder that holds the batch files: ``{data_dir}/cifar-10-batches-py``."""
        return self.data_dir / CIFAR10_FOLDER

    def missing_files(self) -> list[str]:
        """Names of the required batch files not present in :attr:`batches_folder`."""
        return [name for name in (*TRAIN_BATCHES, TEST_BATCH) if not (self.batches_folder / name).is_file()]

    def not_found(self, missing: list[str], cause: BaseException | None = None) -> DataNotFoundError:
        """The error for ``missing`` files (``cause``: the failed download, if any)."""
        return DataNotFoundError.for_files(
            "CIFAR-10",
            self.batches_folder,
            missing,
            [f"{CIFAR10_URL} (md5 {CIFAR10_MD5})"],
            hint=(
                f"Extract the archive into {self.data_dir} so that {self.batches_folder}/data_batch_1 "
                "etc. exist. The root folder comes from --data.data_dir, else the ZOO_DATA_DIR "
                "variable, else ./data."
            ),
            download=self.download,
            cause=cause,
        )

    def fetch(self) -> None:
        """Download the archive (md5-checked) into ``data_dir`` and extract it there."""
        from torchvision.datasets import utils as tv_utils

        tv_utils.download_and_extract_archive(CIFAR10_URL, str(self.data_dir), md5=CIFAR10_MD5)

    def read_parts(self) -> dict[str, tuple[Tensor, Tensor]]:
        """The train and test images (resized to ``image_size``) and labels; the class names from ``batches.meta``."""
        parts = [read_cifar_batch(self.batches_folder / name) for name in TRAIN_BATCHES]
        train_images = to_image_tensor(np.concatenate([p[0] for p in parts]), self.image_size)
        train_labels = torch.from_numpy(np.concatenate([p[1] for p in parts]))
        test_images, test_labels = read_cifar_batch(self.batches_folder / TEST_BATCH)
        self._class_names = self._read_class_names()
        return {"train": (train_images, train_labels),
                "test": (to_image_tensor(test_images, self.image_size), torch.from_numpy(test_labels))}

    def _read_class_names(self) -> list[str] | None:
        path = self.batches_folder / META
        if not path.is_file():
            return None
        names = _field(_unpickle(path), "label_names", path)
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
        if len(names) != 10:
            raise ValueError(f"{path}: expected 10 label_names, got {len(names)}")
        return names
