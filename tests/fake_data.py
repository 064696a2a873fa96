"""Write small data sets in the real on-disk formats (IDX gzip, CIFAR-10 pickle batches).

Big enough for the DataModules' default splits (5,000 validation images), so
commands from the docs run unchanged on them, offline.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
from pathlib import Path

import numpy as np


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes(), compresslevel=1))


def write_fake_mnist(root: Path, n_train: int = 5200, n_test: int = 200, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx_gz(raw / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx_gz(raw / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    return raw


def write_fake_cifar10(root: Path, per_batch: int = 1050, n_test: int = 200, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)

    def batch(name: str, n: int) -> None:
        data = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": rng.integers(0, 10, n).tolist()}
        (folder / name).write_bytes(pickle.dumps(data, protocol=2))

    for k in range(1, 6):
        batch(f"data_batch_{k}", per_batch)
    batch("test_batch", n_test)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [n.encode() for n in names]}, protocol=2))
    return folder


# -- image folders (image-to-image layouts) --------------------------------------------------


def random_image(width: int, height: int, mode: str = "RGB", seed: int = 0):
    """A PIL image of random pixels in ``mode`` (``L``, ``RGB``, ``RGBA``, ``P`` or ``I;16``)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    rgb = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    if mode == "P":
        return rgb.quantize(colors=16)
    if mode == "RGBA":
        alpha = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8))
        image = rgb.copy()
        image.putalpha(alpha)
        return image
    return rgb.convert(mode)


def write_aligned_folder(root: Path, counts: dict[str, int] | None = None, size: tuple[int, int] = (37, 53),
                         identical: bool = True, suffix: str = ".png", seed: int = 0) -> Path:
    """A pix2pix folder ``root/{split}/NNNN{suffix}``: each file A|B side by side, each half ``size`` (w, h).

    ``identical=True`` makes B a copy of A (so aligned transforms keep A == B exactly).
    """
    from PIL import Image

    counts = {"train": 4, "test": 2} if counts is None else counts
    width, height = size
    for s, (split, n) in enumerate(counts.items()):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = random_image(width, height, seed=seed + 1000 * s + 2 * i)
            b = a if identical else random_image(width, height, seed=seed + 1000 * s + 2 * i + 1)
            ab = Image.new("RGB", (2 * width, height))
            ab.paste(a, (0, 0))
            ab.paste(b, (width, 0))
            ab.save(folder / f"{split}_{i:04d}{suffix}")
    return root


def write_unpaired_folder(root: Path, counts: dict[str, int] | None = None, size: tuple[int, int] = (37, 53),
                          suffix: str = ".jpg", seed: int = 0) -> Path:
    """A CycleGAN folder ``root/{trainA,trainB,testA,testB}/`` of random images (numbers from ``counts``)."""
    counts = {"trainA": 3, "trainB": 5, "testA": 2, "testB": 3} if counts is None else counts
    for s, (name, n) in enumerate(counts.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            random_image(*size, seed=seed + 1000 * s + i).save(root / name / f"{name}_{i:04d}{suffix}")
    return root


# -- junk in image folders (unreadable files mixed with odd but valid ones) -------------------


class JunkSet:
    """What :func:`write_junk` wrote, by file name: ``good`` (every file a reader must serve),
    ``bad`` (unreadable: must be skipped and listed), ``ignored`` (not images, or hidden: never
    listed), ``small`` (good files smaller than 8 px on a side) and ``wide`` (good files with a
    side more than 4 times the other)."""

    def __init__(self) -> None:
        self.good: list[str] = []
        self.bad: list[str] = []
        self.ignored: list[str] = []
        self.small: list[str] = []
        self.wide: list[str] = []

    def __repr__(self) -> str:
        return f"JunkSet(good={self.good}, bad={self.bad}, ignored={self.ignored})"


def write_junk(folder: Path, good: int = 3, size: tuple[int, int] = (24, 16), odd_sizes: bool = True,
               seed: int = 0) -> JunkSet:
    """Fill ``folder`` with ``good`` plain RGB images (``size`` = (w, h), PNG and JPEG in turn) and junk,
    every file with its own stem (so two such folders pair by name as ``A/`` and ``B/``):

    * unreadable (``bad``): a truncated JPEG, a truncated PNG, a zero-byte ``.png``, random bytes
      named ``.jpg`` and ``.png``;
    * odd but valid (``good``), all of ``size`` unless said: a 16-bit grey PNG (a ramp over the
      whole 0..65535 range), a CMYK JPEG, a palette PNG with a transparent colour, an RGBA PNG, a
      grey PNG; with ``odd_sizes`` also a 1x1 PNG (``small``) and a 400x4 PNG (``wide``);
    * never listed (``ignored``): ``notes.txt``, ``.DS_Store`` and ``._photo.jpg`` (macOS junk).
    """
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    junk = JunkSet()
    width, height = size

    def save(name: str, image, kind: str = "good", **options) -> None:
        image.save(folder / name, **options)
        getattr(junk, kind).append(name)

    for i in range(good):
        save(f"good_{i:02d}{'.png' if i % 2 == 0 else '.jpg'}", random_image(width, height, seed=seed + i))
    big = random_image(max(width, 64), max(height, 64), seed=seed + 100)
    for name, fmt in (("truncated_jpeg.jpg", "JPEG"), ("truncated_png.png", "PNG")):
        buffer = io.BytesIO()
        big.save(buffer, format=fmt)
        data = buffer.getvalue()
        (folder / name).write_bytes(data[: len(data) // 2])
        junk.bad.append(name)
    (folder / "empty.png").write_bytes(b"")
    (folder / "random_jpeg.jpg").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    (folder / "random_png.png").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    junk.bad += ["empty.png", "random_jpeg.jpg", "random_png.png"]

    ramp = np.linspace(0, 65535, width * height).round().astype(np.uint16).reshape(height, width)
    save("deep16.png", Image.fromarray(ramp))
    save("cmyk.jpg", random_image(width, height, seed=seed + 7).convert("CMYK"), quality=95)  # Pillow: C = 255 - R
    palette = random_image(width, height, seed=seed + 8).quantize(colors=8)
    save("palette.png", palette, transparency=0)
    save("rgba.png", random_image(width, height, "RGBA", seed=seed + 9))
    save("grey.png", random_image(width, height, "L", seed=seed + 10))
    if odd_sizes:
        save("tiny.png", Image.new("RGB", (1, 1), (200, 40, 40)))
        junk.small.append("tiny.png")
        save("wide.png", random_image(400, 4, seed=seed + 11))
        junk.wide.append("wide.png")

    (folder / "notes.txt").write_text("not an image\n")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    (folder / "._photo.jpg").write_bytes(b"\x00\x05\x16\x07" + bytes(60))  # AppleDouble, not a JPEG
    junk.ignored += ["notes.txt", ".DS_Store", "._photo.jpg"]
    return junk
