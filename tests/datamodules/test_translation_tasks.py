"""The embedded translation tasks: digit outlines (paired) and thin <-> thick strokes (unpaired)."""

from __future__ import annotations

import pytest
import torch

import datamodules
from datamodules import DigitOutlinesDataModule, DigitStrokesDataModule
from datamodules.translation_tasks import classifier_accuracies, load_digits, outline, stratified_halves, thicken, thin

KEYS = {"A", "B", "A_label", "B_label", "A_name", "B_name"}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _stack(dataset, key):
    items = [dataset[i] for i in range(len(dataset))]
    return torch.stack([it[key] for it in items]) if torch.is_tensor(items[0][key]) else [it[key] for it in items]


def test_ground_truth_functions_are_pure_and_ordered(digits):
    images = digits["val"][0][:20]
    before = images.clone()
    assert torch.equal(thin(images), thin(images)) and torch.equal(images, before)
    assert torch.all(thin(images) <= images) and torch.all(images <= thicken(images))
    assert thicken(images).sum() > images.sum() > thin(images).sum()
    edges = outline(images)
    assert edges.shape == images.shape and set(edges.unique().tolist()) <= {-1.0, 1.0}
    assert outline(images[0]).shape == (1, 32, 32)  # (C, H, W) works too


def test_shapes_before_loading_and_registry():
    for name, cls, paired in (("digit_outlines", DigitOutlinesDataModule, True),
                              ("digit_strokes", DigitStrokesDataModule, False)):
        dm = datamodules.create_datamodule(name)
        assert isinstance(dm, cls) and dm._datasets is None
        assert dm.input_shape == dm.output_shape == dm.dims == (1, 32, 32)
        assert (dm.input_channels, dm.output_channels, dm.image_size, dm.batch_size) == (1, 1, 32, 16)
        assert dm.paired is paired and dm.eval_has_ground_truth is True and dm.fixed_size and dm.num_classes == 10


def test_outlines_batches_and_direction(digits):
    dm = DigitOutlinesDataModule(batch_size=8)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == KEYS and batch["A"].shape == batch["B"].shape == (8, 1, 32, 32)
    assert batch["A"].dtype == torch.float32 and batch["A_label"].dtype == torch.int64
    assert torch.equal(batch["A_label"], batch["B_label"]) and batch["A_name"] == batch["B_name"]
    assert torch.equal(batch["A"], outline(batch["B"]))
    images, labels, names = digits["test"]
    test = next(iter(dm.test_dataloader()))
    assert torch.equal(test["B"], images[:8]) and test["A_name"] == names[:8] and torch.equal(test["A_label"], labels[:8])
    swapped = next(iter(DigitOutlinesDataModule(direction="BtoA", batch_size=8).test_dataloader()))
    assert torch.equal(swapped["A"], test["B"]) and torch.equal(swapped["B"], test["A"])
    assert [len(dm.split_dataset(s)) for s in ("train", "val", "test")] == [1439, 179, 179]


def test_strokes_train_halves_are_disjoint_and_unpaired(digits):
    labels = digits["train"][1]
    first, second = stratified_halves(labels)
    assert (len(first), len(second)) == (720, 719)
    assert not set(first.tolist()) & set(second.tolist()) and len(set(first.tolist()) | set(second.tolist())) == 1439
    assert (torch.bincount(labels[first], minlength=10) - torch.bincount(labels[second], minlength=10)).abs().max() <= 1

    dm = DigitStrokesDataModule(batch_size=16)
    dm.setup()
    train = dm.split_dataset("train")  # deterministic pairing A[i], B[i % |B|]
    assert len(train) == len(dm.split_dataset("train", augment=True)) == 720
    names_a, names_b = set(_stack(train, "A_name")), set(_stack(train, "B_name"))
    assert len(names_a) == 720 and len(names_b) == 719 and not names_a & names_b
    images, _, names = digits["train"]
    row = names.index(train[0]["A_name"])
    assert torch.equal(train[0]["A"], thin(images[row : row + 1])[0])

    torch.manual_seed(0)
    epochs = [[n for b in dm.train_dataloader() for n in b["B_name"]] for _ in range(2)]
    assert len(epochs[0]) == 720 - 720 % 16 and epochs[0] != epochs[1]
    assert set(epochs[0]) <= names_b


def test_strokes_val_and_test_are_aligned_ground_truth(digits):
    for direction in ("AtoB", "BtoA"):
        dm = DigitStrokesDataModule(direction=direction, batch_size=64)
        for split in ("val", "test"):
            images, labels, names = digits[split]
            batches = list(dm.val_dataloader() if split == "val" else dm.test_dataloader())
            a = torch.cat([b["A"] for b in batches])
            b = torch.cat([b["B"] for b in batches])
            thin_x, thick_x = thin(images), thicken(images)
            assert torch.equal(a, thin_x if direction == "AtoB" else thick_x)
            assert torch.equal(b, thick_x if direction == "AtoB" else thin_x)
            assert [name for x in batches for name in x["A_name"]] == names
            assert torch.equal(torch.cat([x["B_label"] for x in batches]), labels)


def test_deterministic_across_instances():
    one = next(iter(DigitStrokesDataModule().val_dataloader()))
    two = next(iter(DigitStrokesDataModule().val_dataloader()))
    assert all(torch.equal(one[k], two[k]) if torch.is_tensor(one[k]) else one[k] == two[k] for k in KEYS)


def test_classifier_reads_every_real_domain():
    accuracy = classifier_accuracies("test")
    assert accuracy["filled"] == pytest.approx(0.9832, abs=1e-4)
    assert accuracy["thin"] >= 0.95 and accuracy["thick"] >= 0.95
    assert accuracy == pytest.approx({"filled": 0.9832, "thin": 0.9665, "thick": 0.9609, "outline": 0.6648}, abs=1e-4)
