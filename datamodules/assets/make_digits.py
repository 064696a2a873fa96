"""Rebuild ``digits.npz``, the embedded offline data set, from scikit-learn.

The source is scikit-learn's copy of the UCI "Optical Recognition of Handwritten
Digits" data set (Alpaydin & Kaynak, 1998; https://doi.org/10.24432/C50P49),
licensed CC BY 4.0: 1797 grey-scale 8x8 images with pixel values 0..16.

The script converts pixels to uint8 0..255 (``round(v * 255 / 16)``), makes a
fixed stratified train/val/test split of about 80/10/10 per class (numpy RNG
seed 0) and writes a compressed npz with

* ``images`` (1797, 8, 8) uint8
* ``labels`` (1797,) int64
* ``split``  (1797,) uint8: 0 train, 1 val, 2 test

scikit-learn is needed only here, not at run time::

    python datamodules/assets/make_digits.py            # writes beside this file
    python datamodules/assets/make_digits.py out.npz    # or to another path
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

TRAIN, VAL, TEST = 0, 1, 2
VAL_FRACTION = 0.1
TEST_FRACTION = 0.1
SEED = 0


def stratified_split(labels: np.ndarray, seed: int = SEED) -> np.ndarray:
    """Split code per sample (0 train, 1 val, 2 test), about 80/10/10 within every class."""
    rng = np.random.default_rng(seed)
    split = np.full(labels.shape, TRAIN, dtype=np.uint8)
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_val = round(len(idx) * VAL_FRACTION)
        n_test = round(len(idx) * TEST_FRACTION)
        split[idx[:n_val]] = VAL
        split[idx[n_val : n_val + n_test]] = TEST
    return split


def build() -> dict[str, np.ndarray]:
    """The arrays stored in ``digits.npz``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * 255.0 / 16.0).astype(np.uint8)  # 0..16 -> 0..255
    labels = bunch.target.astype(np.int64)
    return {"images": images, "labels": labels, "split": stratified_split(labels)}


def main(argv: list[str]) -> None:
    """Write the npz to ``argv[0]`` (default: ``digits.npz`` beside this script)."""
    out = Path(argv[0]) if argv else Path(__file__).with_name("digits.npz")
    arrays = build()
    np.savez_compressed(out, **arrays)
    counts = np.bincount(arrays["split"], minlength=3)
    print(f"wrote {out} ({out.stat().st_size} bytes): train/val/test = {counts.tolist()}")


if __name__ == "__main__":
    main(sys.argv[1:])
