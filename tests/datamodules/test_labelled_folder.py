"""Labelled image folders (one sub-folder per class): classes, labels, splits, errors, layout detection, zoo.fit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

import datamodules
from datamodules import LabelledFolderDataModule, detect_layout
from datamodules.published import datamodule_for
from tests.conftest import SHARED_DATA
from tests.fake_data import random_image, write_aligned_folder, write_unpaired_folder

pytestmark = pytest.mark.usefixtures("one_thread")

#: written in this (unsorted) order; each class is one solid colour, so a label can be read off its image
COLOURS = {"cat": (30, 40, 220), "ant": (220, 30, 40), "bee": (40, 220, 30)}
CLASSES = ["ant", "bee", "cat"]
SIZES = [(40, 30), (30, 40), (50, 50), (33, 21)]  # (width, height): every file is resized to image_size


def write_labelled(root: Path, counts: dict[str, int] | None = None, classes: dict | None = None,
                   splits: bool = True) -> Path:
    """``root/{split}/{class}/NN.png|jpg`` (``splits=False``: ``root/{class}/``, ``counts["train"]`` each)."""
    counts = {"train": 6, "test": 2} if counts is None else counts
    for split, n in counts.items():
        for c, (name, colour) in enumerate((classes or COLOURS).items()):
            folder = root / split / name if splits else root / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                suffix = ".jpg" if i % 3 == 2 else ".png"
                Image.new("RGB", SIZES[(i + c) % len(SIZES)], colour).save(folder / f"{split}_{i:02d}{suffix}")
    return root


def _labels_from_colour(images: torch.Tensor) -> list[int]:
    """The class of solid-colour images: red ant (0), green bee (1), blue cat (2)."""
    return images.mean(dim=(2, 3)).argmax(dim=1).tolist()


def _files(dm: LabelledFolderDataModule, split: str) -> list[Path]:
    return dm.split_dataset(split).files


def test_classes_labels_and_batches(tmp_path):
    root = write_labelled(tmp_path / "animals")
    dm = LabelledFolderDataModule(str(root), image_size=16, batch_size=4)
    assert dm.image_shape == dm.dims == (3, 16, 16) and dm.root == root and dm.data_dir == root.resolve()
    assert dm.num_classes == 3 and dm.class_names == CLASSES  # sorted folder names, before setup
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (4, 3, 16, 16) and images.dtype == torch.float32
    assert labels.shape == (4,) and labels.dtype == torch.int64
    assert -1.0 <= images.min() and images.max() <= 1.0
    for batch_images, batch_labels in dm.train_dataloader():  # shuffled: labels still follow the images
        assert _labels_from_colour(batch_images) == batch_labels.tolist()
    train = dm.split_dataset("train")
    assert len(train) == 18
    assert [dm.class_names[int(y)] for y in train.targets] == [path.parent.name for path in train.files]
    assert [int(train[i][1]) for i in range(len(train))] == train.targets.tolist() == [0] * 6 + [1] * 6 + [2] * 6


def test_the_folders_own_test_split_is_used_and_val_falls_back_to_it(tmp_path):
    root = write_labelled(tmp_path, {"train": 6, "test": 2})
    dm = LabelledFolderDataModule(str(root), image_size=8, batch_size=2)
    test = _files(dm, "test")
    assert _files(dm, "val") == test and len(test) == 6
    assert all(path.parts[-3] == "test" for path in test) and all(path.parts[-3] == "train" for path in _files(dm, "train"))
    images, labels = next(iter(dm.test_dataloader()))
    assert labels.tolist() == [0, 0] and _labels_from_colour(images) == [0, 0]  # file order: ant first


def test_own_val_and_test_splits_and_test_falling_back_to_val(tmp_path):
    dm = LabelledFolderDataModule(str(write_labelled(tmp_path / "a", {"train": 3, "val": 1, "test": 2})), image_size=8)
    assert {p.parts[-3] for p in _files(dm, "val")} == {"val"} and len(_files(dm, "val")) == 3
    assert {p.parts[-3] for p in _files(dm, "test")} == {"test"} and len(_files(dm, "test")) == 6
    assert len(_files(dm, "train")) == 9
    only_val = LabelledFolderDataModule(str(write_labelled(tmp_path / "b", {"train": 3, "val": 1})), image_size=8)
    assert _files(only_val, "test") == _files(only_val, "val") and len(_files(only_val, "val")) == 3


def test_a_val_or_test_folder_may_miss_classes(tmp_path):
    root = write_labelled(tmp_path, {"train": 3})
    write_labelled(tmp_path, {"test": 2}, classes={"cat": COLOURS["cat"]})
    dm = LabelledFolderDataModule(str(root), image_size=8)
    assert dm.split_dataset("test").targets.tolist() == [2, 2]  # "cat" keeps its training index


def test_no_split_folders_hold_out_val_fraction_per_class(tmp_path):
    root = write_labelled(tmp_path / "flat", {"train": 10}, splits=False)
    assert sorted(p.name for p in root.iterdir()) == CLASSES
    dm = LabelledFolderDataModule(str(root), image_size=8, val_fraction=0.2)
    assert dm.class_names == CLASSES
    train, val = set(_files(dm, "train")), _files(dm, "val")
    assert len(train) == 24 and len(val) == 6 and not train & set(val)
    assert _files(dm, "test") == val
    assert dm.split_dataset("val").targets.tolist() == [0, 0, 1, 1, 2, 2]  # stratified: 2 of each class
    again = LabelledFolderDataModule(str(root), image_size=8, val_fraction=0.2)
    assert _files(again, "val") == val  # fixed seed
    default = LabelledFolderDataModule(str(root), image_size=8)
    assert default.val_fraction == 0.1 and default.split_dataset("val").targets.tolist() == [0, 1, 2]
    none = LabelledFolderDataModule(str(root), image_size=8, val_fraction=0.0)
    with pytest.warns(UserWarning, match="val and test sets are empty"):
        none.setup()
    assert len(none.split_dataset("train")) == 30 and len(none.split_dataset("val")) == len(none.split_dataset("test")) == 0


def test_a_train_split_alone_holds_out_val_fraction(tmp_path):
    dm = LabelledFolderDataModule(str(write_labelled(tmp_path, {"train": 5})), image_size=8, val_fraction=0.4)
    assert dm.split_dataset("val").targets.tolist() == [0, 0, 1, 1, 2, 2] and len(_files(dm, "train")) == 9
    assert _files(dm, "test") == _files(dm, "val")


def test_every_class_keeps_a_training_image(tmp_path):
    root = write_labelled(tmp_path, {"train": 2}, splits=False)
    dm = LabelledFolderDataModule(str(root), image_size=8, val_fraction=0.9)
    assert dm.split_dataset("train").targets.tolist() == [0, 1, 2] and len(_files(dm, "val")) == 3


def test_train_fraction_keeps_a_fixed_share_of_each_class_for_low_data_training(tmp_path):
    root = write_labelled(tmp_path, {"train": 10, "test": 2})
    full = LabelledFolderDataModule(str(root), image_size=8)
    dm = LabelledFolderDataModule(str(root), image_size=8, train_fraction=0.3)
    kept = _files(dm, "train")
    assert dm.split_dataset("train").targets.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # 3 of each class's 10
    assert set(kept) < set(_files(full, "train")) and _files(dm, "test") == _files(full, "test")
    assert _files(LabelledFolderDataModule(str(root), image_size=8, train_fraction=0.3), "train") == kept  # seeded
    tiny = LabelledFolderDataModule(str(root), image_size=8, train_fraction=0.01)
    assert tiny.split_dataset("train").targets.tolist() == [0, 1, 2]  # at least one per class
    with pytest.raises(ValueError, match=r"train_fraction must be in \(0, 1\], got 0"):
        LabelledFolderDataModule(str(root), train_fraction=0)


@pytest.mark.parametrize("options", [{}, {"flip": True, "preprocess": "resize_and_crop"}],
                         ids=["deterministic", "random crop and flip"])
def test_in_memory_gives_the_same_batches_and_opens_each_file_once(tmp_path, monkeypatch, options):
    import datamodules.image_datasets as image_datasets

    root = write_labelled(tmp_path, {"train": 6, "test": 2})
    opened: list[Path] = []
    real_open = image_datasets.open_image
    monkeypatch.setattr(image_datasets, "open_image", lambda path, channels: opened.append(path) or real_open(path, channels))

    def epochs(in_memory: bool) -> list[torch.Tensor]:
        dm = LabelledFolderDataModule(str(root), image_size=16, batch_size=6, in_memory=in_memory, **options)
        torch.manual_seed(0)
        return [torch.cat([images for images, _ in dm.train_dataloader()]) for _ in range(3)]

    decoded = epochs(False)
    count = len(LabelledFolderDataModule(str(root), image_size=16).split_dataset("train"))
    assert len(opened) == 3 * count
    opened.clear()
    kept = epochs(True)
    assert len(opened) == count, "each file is decoded once, in the first epoch"
    for a, b in zip(decoded, kept):
        assert torch.equal(a, b), "the kept images give exactly the tensors the files give"


def test_in_memory_by_default_when_no_workers_and_the_images_fit(tmp_path):
    root = write_labelled(tmp_path, {"train": 6, "test": 2})
    dm = LabelledFolderDataModule(str(root), image_size=16)
    with pytest.raises(RuntimeError, match="after setup"):
        dm.keeps_images_in_memory
    dm.setup()
    files = {path for split in ("train", "val", "test") for path in _files(dm, split)}
    assert dm.decoded_bytes == sum(3 * Image.open(path).size[0] * Image.open(path).size[1] for path in files)
    assert dm.keeps_images_in_memory and dm.split_dataset("train").side.transformed is not None
    small = LabelledFolderDataModule(str(root), image_size=16)
    small.in_memory_limit_mb = dm.decoded_bytes / 2**20 * 0.99  # just too small
    small.setup()
    assert not small.keeps_images_in_memory and small.split_dataset("train").side.transformed is None
    workers = LabelledFolderDataModule(str(root), image_size=16, num_workers=1)
    workers.setup()
    assert not workers.keeps_images_in_memory
    forced = LabelledFolderDataModule(str(root), image_size=16, num_workers=1, in_memory=True)
    forced.setup()
    assert forced.keeps_images_in_memory


def test_grey_resize_and_crop_and_skipped_files(tmp_path):
    root = write_labelled(tmp_path, {"train": 4}, splits=False)
    (root / ".ipynb_checkpoints").mkdir()
    random_image(8, 8).save(root / ".ipynb_checkpoints" / "x.png")
    random_image(8, 8).save(root / "ant" / ".hidden.png")
    (root / "ant" / "notes.txt").write_text("not an image")
    dm = LabelledFolderDataModule(str(root), image_size=12, channels=1, preprocess="resize_and_crop", flip=True,
                                  batch_size=3)
    assert dm.class_names == CLASSES and dm.image_shape == (1, 12, 12)
    images, _ = next(iter(dm.train_dataloader()))
    assert images.shape == (3, 1, 12, 12)
    assert len(_files(dm, "train")) + len(_files(dm, "val")) == 12
    random_image(8, 8).save(root / "loose.png")
    with pytest.warns(UserWarning, match="1 images outside the class folders are skipped"):
        LabelledFolderDataModule(str(root), image_size=8).setup()


# -- errors -------------------------------------------------------------------------------


def test_a_test_class_that_is_not_a_training_class(tmp_path):
    root = write_labelled(tmp_path, {"train": 2, "test": 1})
    write_labelled(tmp_path, {"test": 1}, classes={"wasp": (9, 9, 9)})
    with pytest.raises(ValueError, match=r"class folder .*test/wasp is not a training class.*valid classes: ant, bee, cat"):
        LabelledFolderDataModule(str(root)).setup()


def test_a_training_class_without_images(tmp_path):
    root = write_labelled(tmp_path, {"train": 2})
    (root / "train" / "dog").mkdir()
    (root / "train" / "dog" / "readme.txt").write_text("no images yet")
    dm = LabelledFolderDataModule(str(root))
    assert dm.num_classes == 4  # a folder is a class
    with pytest.raises(ValueError, match=r"training class 'dog' has no images .* in .*train/dog"):
        dm.setup()


def test_fewer_than_two_classes_and_bad_arguments(tmp_path):
    root = write_labelled(tmp_path / "one", {"train": 2}, classes={"ant": COLOURS["ant"]})
    with pytest.raises(ValueError, match=r"two or more class folders in .*one/train, found only one, 'ant'"):
        LabelledFolderDataModule(str(root)).num_classes
    (tmp_path / "none" / "train").mkdir(parents=True)
    with pytest.raises(ValueError, match="found none"):
        LabelledFolderDataModule(str(tmp_path / "none")).setup()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        LabelledFolderDataModule(str(tmp_path / "missing")).num_classes
    with pytest.raises(FileNotFoundError, match="no training folder"):
        LabelledFolderDataModule(str(write_labelled(tmp_path / "t", {"test": 1}))).num_classes
    with pytest.raises(ValueError, match="val_fraction"):
        LabelledFolderDataModule(str(tmp_path), val_fraction=1.0)
    with pytest.raises(ValueError, match="channels must be 1"):
        LabelledFolderDataModule(str(tmp_path), channels=4)


# -- layouts and names --------------------------------------------------------------------


def test_detect_layout_labelled_and_the_other_layouts_unchanged(tmp_path):
    split = write_labelled(tmp_path / "split", {"train": 1, "test": 1})
    flat = write_labelled(tmp_path / "flat", {"train": 1}, splits=False)
    assert detect_layout(split) == detect_layout(flat) == "labelled"
    assert detect_layout(write_labelled(tmp_path / "val_only", {"train": 1, "val": 1})) == "labelled"
    assert detect_layout(write_aligned_folder(tmp_path / "aligned", {"train": 2, "test": 1})) == "aligned"
    assert detect_layout(write_unpaired_folder(tmp_path / "unpaired")) == "unpaired"
    for side in "AB":  # A/ and B/ are two image folders, but a paired layout
        (tmp_path / "two" / side).mkdir(parents=True)
        random_image(8, 8).save(tmp_path / "two" / side / "x.png")
    assert detect_layout(tmp_path / "two") == "two_folders"
    mixed = write_labelled(tmp_path / "mixed", {"train": 1}, splits=False)
    random_image(8, 8).save(mixed / "loose.png")  # loose images: a plain folder, searched recursively
    assert detect_layout(mixed) == "plain"
    (tmp_path / "nested" / "only").mkdir(parents=True)
    random_image(8, 8).save(tmp_path / "nested" / "only" / "x.png")
    assert detect_layout(tmp_path / "nested") == "plain"  # one sub-folder is not classes
    aligned_with_classes = write_labelled(tmp_path / "al2", {"train": 1})
    random_image(16, 8).save(aligned_with_classes / "train" / "pair.png")
    assert detect_layout(aligned_with_classes) == "aligned"  # loose images in a split folder


def test_datamodule_for_and_registry(tmp_path):
    split = write_labelled(tmp_path / "split")
    flat = write_labelled(tmp_path / "flat", {"train": 1}, splits=False)
    assert datamodule_for(str(split)) == ("labelled_folder", {"root": str(split)})
    assert datamodule_for(str(flat)) == ("labelled_folder", {"root": str(flat)})
    assert datamodules.get_datamodule_class("labelled_folder") is LabelledFolderDataModule


def test_a_pix2pix_folder_with_sub_folders_stays_paired_for_a_paired_model(tmp_path):
    """``train/<city>/*.jpg`` of aligned A|B images looks labelled; a paired model (pix2pix) reads it as aligned."""
    from datamodules import PairedFolderDataModule

    root = tmp_path / "cities"
    for city in ("aachen", "bochum"):
        for i in range(2):
            (root / "train" / city).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (64, 32), (i * 90, 20, 200)).save(root / "train" / city / f"{i}.png")
    assert detect_layout(root) == "labelled"
    assert datamodule_for(str(root), paired=True) == ("paired_folder", {"root": str(root)})
    dm = PairedFolderDataModule(str(root), image_size=16, batch_size=2)
    assert dm.layout == "aligned"
    dm.setup()
    assert len(dm.split_dataset("train")) == 4


@pytest.mark.skipif(not (SHARED_DATA / "cifar10" / "train").is_dir(), reason="no ../shared/data/cifar10 beside the checkout")
def test_the_real_cifar10_folder_is_labelled():
    root = SHARED_DATA / "cifar10"
    assert detect_layout(root) == "labelled" and datamodule_for(str(root))[0] == "labelled_folder"
    assert LabelledFolderDataModule(str(root)).class_names == [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# -- training through python -m zoo.fit -----------------------------------------------------------

TINY = ["--data.image_size", "32", "--data.batch_size", "6",
        "--model.generator_channels", "8", "--model.discriminator_channels", "8"]


def test_cgan_trains_on_a_labelled_folder(fit, tmp_path):
    root = write_labelled(tmp_path / "animals")
    cli = fit("--model", "cgan", "--data", str(root), *TINY, "--trainer.max_steps", "3")
    assert isinstance(cli.datamodule, LabelledFolderDataModule)
    assert cli.model.hparams.num_classes == 3 and tuple(cli.model.hparams.image_shape) == (3, 32, 32)
    assert cli.trainer.global_step == 3
    assert cli.trainer.log_dir == str(tmp_path / "runs" / "cgan" / "animals" / "version_0")
    assert cli.model.sample(3, labels=torch.tensor([0, 1, 2])).shape == (3, 3, 32, 32)


@pytest.mark.parametrize(("model", "extra"), [
    ("acgan", []),
    ("infogan", []),
    ("sgan", ["--model.num_labeled", "6", "--model.labeled_batch_size", "4"]),  # 2 labelled images per class
])
def test_other_conditional_models_get_num_classes(fit, tmp_path, model, extra):
    root = write_labelled(tmp_path / "animals")
    cli = fit("--model", model, "--data", str(root), *TINY, *extra, "--trainer.max_steps", "1",
              "--trainer.limit_val_batches", "0")
    assert cli.model.hparams.num_classes == 3 and cli.trainer.global_step == 1
    if model == "infogan":
        assert cli.model.categorical_dims == [3]
    if model == "sgan":
        assert sorted(cli.model.labeled_labels.tolist()) == [0, 0, 1, 1, 2, 2]
