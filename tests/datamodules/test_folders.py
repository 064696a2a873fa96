"""Image folders: file modes, layouts, the paired / unpaired / plain folder DataModules, splits (offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import datamodules
from datamodules import UnknownNameError
from datamodules.folders import ImageFolderDataModule, PairedFolderDataModule, UnpairedFolderDataModule
from datamodules.layouts import detect_layout
from datamodules.preprocess import PREPROCESS_POLICIES
from datamodules.published import datamodule_for
from tests.fake_data import random_image, write_aligned_folder, write_unpaired_folder
from zoo.images import list_images, load_image, open_image

KEYS = {"A", "B", "A_label", "B_label", "A_name", "B_name"}


pytestmark = pytest.mark.usefixtures("one_thread")


def _items(dataset) -> list[dict]:
    return [dataset[i] for i in range(len(dataset))]


def _write_halves(path: Path, left: Image.Image, right: Image.Image) -> None:
    ab = Image.new("RGB", (left.width + right.width, left.height))
    ab.paste(left.convert("RGB"), (0, 0))
    ab.paste(right.convert("RGB"), (left.width, 0))
    ab.save(path)


# -- reading files ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "I;16"])
@pytest.mark.parametrize("channels", [1, 3])
def test_every_mode_loads_as_grey_or_rgb(tmp_path, mode, channels):
    path = tmp_path / f"x_{mode.replace(';', '')}.png"
    random_image(37, 53, mode).save(path)
    image = load_image(path, channels)
    assert image.shape == (channels, 53, 37) and image.dtype == torch.float32
    assert -1.0 <= image.min() and image.max() <= 1.0
    assert load_image(path, channels, size=16).shape == (channels, 16, 16)


def test_sixteen_bit_is_scaled_and_transparency_is_white(tmp_path):
    Image.fromarray(np.array([[0, 65535], [32896, 65535]], dtype=np.uint16)).save(tmp_path / "deep.png")
    assert open_image(tmp_path / "deep.png", 1).mode == "L"
    assert load_image(tmp_path / "deep.png", 1).flatten().tolist() == pytest.approx([-1.0, 1.0, 0.0039, 1.0], abs=1e-3)
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    assert torch.all(load_image(tmp_path / "clear.png", 3) == 1.0)
    random_image(8, 8, "RGB").save(tmp_path / "photo.jpg", quality=90)
    assert load_image(tmp_path / "photo.jpg", 1).shape == (1, 8, 8)


def test_list_images_skips_hidden_files_and_other_suffixes(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.png", "sub/a.JPG", "._b.png", "notes.txt"):
        random_image(4, 4).save(tmp_path / name, format="PNG")
    assert [p.name for p in list_images(tmp_path)] == ["b.png", "a.JPG"]
    with pytest.raises(FileNotFoundError, match="no images"):
        list_images(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir(exist_ok=True)
    return tmp_path / "empty"


def test_bad_arguments_name_the_value_and_the_choices(tmp_path):
    with pytest.raises(ValueError, match="unknown preprocess 'squash'; valid choices: resize_and_crop"):
        PairedFolderDataModule(root=str(tmp_path), preprocess="squash")
    with pytest.raises(ValueError, match="unknown direction 'AB'; valid choices: AtoB, BtoA"):
        PairedFolderDataModule(root=str(tmp_path), direction="AB")
    with pytest.raises(ValueError, match="input_channels must be 1 .* or 3 .*, got 4"):
        PairedFolderDataModule(root=str(tmp_path), input_channels=4)
    with pytest.raises(ValueError, match=r"load_size \(200\) must be >= image_size \(256\)"):
        UnpairedFolderDataModule(root=str(tmp_path), load_size=200)
    with pytest.raises(ValueError, match="give either root .* or dataset .*, not neither"):
        PairedFolderDataModule()
    with pytest.raises(ValueError, match="not both"):
        UnpairedFolderDataModule(root=str(tmp_path), dataset="horse2zebra")
    with pytest.raises(UnknownNameError, match="'horse2zebra' .* use UnpairedFolderDataModule.*valid choices: cityscapes"):
        PairedFolderDataModule(dataset="horse2zebra")
    with pytest.raises(ValueError, match="val_fraction"):
        ImageFolderDataModule(root=str(tmp_path), val_fraction=1.0)


# -- layouts ------------------------------------------------------------------------------


def test_detect_layout(tmp_path):
    assert detect_layout(write_aligned_folder(tmp_path / "aligned", {"train": 1})) == "aligned"
    assert detect_layout(write_unpaired_folder(tmp_path / "unpaired")) == "unpaired"
    for side in "AB":
        (tmp_path / "two" / side).mkdir(parents=True)
        random_image(8, 8).save(tmp_path / "two" / side / "x.png")
    assert detect_layout(tmp_path / "two") == "two_folders"
    random_image(8, 8).save(tmp_path / "plain.png")
    (tmp_path / "plain").mkdir()
    random_image(8, 8).save(tmp_path / "plain" / "x.png")
    assert detect_layout(tmp_path / "plain") == "plain"
    with pytest.raises(FileNotFoundError, match="(?s)no images.*paired, aligned.*two folders.*unpaired"):
        detect_layout(_empty(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        detect_layout(tmp_path / "missing")


def test_shapes_are_known_before_any_file_is_read(tmp_path):
    dm = PairedFolderDataModule(root=str(tmp_path / "not-yet"), image_size=64, input_channels=1, direction="BtoA")
    assert dm.input_shape == dm.dims == (1, 64, 64) and dm.output_shape == (3, 64, 64)
    assert (dm.input_channels, dm.output_channels, dm.image_size, dm.paired) == (1, 3, 64, True)
    assert dm.load_size == 72 and PairedFolderDataModule(root="x").load_size == 286
    unpaired = UnpairedFolderDataModule(root=str(tmp_path / "not-yet"), preprocess="none")
    assert unpaired.paired is False and unpaired.fixed_size is False and unpaired.input_shape == (3, 256, 256)
    assert unpaired.num_classes is None and unpaired.eval_has_ground_truth is False


# -- paired ---------------------------------------------------------------------------------


@pytest.mark.parametrize("preprocess", PREPROCESS_POLICIES)
def test_paired_crops_and_flips_are_shared(tmp_path, preprocess):
    torch.manual_seed(0)
    root = write_aligned_folder(tmp_path, {"train": 3, "val": 1})
    dm = PairedFolderDataModule(root=str(root), image_size=16, load_size=24, preprocess=preprocess, batch_size=1)
    for _ in range(3):
        for batch in dm.train_dataloader():
            assert set(batch) == KEYS
            assert torch.equal(batch["A"], batch["B"])
            assert batch["A"].dtype == torch.float32 and batch["A_label"].tolist() == [-1]
            assert batch["A_name"] == batch["B_name"] and batch["A_name"][0].endswith(".png")
            if dm.fixed_size:
                assert batch["A"].shape == (1, 3, 16, 16)


def test_paired_flip_happens_and_is_the_same_on_both_sides(tmp_path):
    torch.manual_seed(0)
    left, right = random_image(16, 16, seed=1), random_image(16, 16, seed=2)
    (tmp_path / "train").mkdir()
    _write_halves(tmp_path / "train" / "x.png", left, right)
    dm = PairedFolderDataModule(root=str(tmp_path), image_size=16, preprocess="resize", batch_size=1)
    with pytest.warns(UserWarning, match="val and test sets are empty"):
        dm.setup()
    plain = dm.split_dataset("train")[0]
    flipped = 0
    for _ in range(12):
        item = dm.split_dataset("train", augment=True)[0]
        mirrored = torch.equal(item["A"], plain["A"].flip(-1))
        assert mirrored == torch.equal(item["B"], plain["B"].flip(-1))
        assert mirrored or torch.equal(item["A"], plain["A"])
        flipped += mirrored
    assert 0 < flipped < 12


def test_direction_swaps_sides_and_channels(tmp_path):
    left, right = random_image(20, 20, seed=1), random_image(20, 20, seed=2)
    (tmp_path / "test").mkdir()
    _write_halves(tmp_path / "test" / "p.jpg", left, right)
    (tmp_path / "train").mkdir()
    _write_halves(tmp_path / "train" / "q.png", left, right)
    kwargs = {"root": str(tmp_path), "image_size": 20, "input_channels": 1, "output_channels": 3}
    a_to_b = next(iter(PairedFolderDataModule(**kwargs).test_dataloader()))
    b_to_a = next(iter(PairedFolderDataModule(**kwargs, direction="BtoA").test_dataloader()))
    assert a_to_b["A"].shape == b_to_a["A"].shape == (1, 1, 20, 20)
    assert a_to_b["B"].shape == b_to_a["B"].shape == (1, 3, 20, 20)
    grey_left, grey_right = load_image(tmp_path / "test" / "p.jpg", 1)[..., :20], load_image(tmp_path / "test" / "p.jpg", 1)[..., 20:]
    assert torch.equal(a_to_b["A"][0], grey_left) and torch.equal(b_to_a["A"][0], grey_right)
    rgb = load_image(tmp_path / "test" / "p.jpg", 3)
    assert torch.equal(a_to_b["B"][0], rgb[..., 20:]) and torch.equal(b_to_a["B"][0], rgb[..., :20])


def test_two_folders_pair_by_name_with_splits(tmp_path):
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            for side, suffix in (("A", ".png"), ("B", ".jpg")):
                folder = tmp_path / side / split
                folder.mkdir(parents=True, exist_ok=True)
                random_image(21, 15, "L" if side == "A" else "RGB", seed=i).save(folder / f"{i:03d}{suffix}")
    dm = PairedFolderDataModule(root=str(tmp_path), image_size=8, batch_size=2)
    assert dm.layout == "two_folders"
    dm.setup()
    train, val, test = (_items(dm.split_dataset(s)) for s in ("train", "val", "test"))
    assert [(i["A_name"], i["B_name"]) for i in train] == [("000.png", "000.jpg"), ("001.png", "001.jpg"), ("002.png", "002.jpg")]
    assert [i["A_name"] for i in val] == [i["A_name"] for i in test] == ["000.png", "001.png"]  # val falls back to test
    batch = next(iter(dm.train_dataloader()))
    assert batch["A"].shape == batch["B"].shape == (2, 3, 8, 8)


def test_two_flat_folders_train_only_with_a_warning(tmp_path):
    for side in "AB":
        (tmp_path / side).mkdir()
        for i in range(2):
            random_image(9, 9, seed=i).save(tmp_path / side / f"im{i}.png")
    dm = PairedFolderDataModule(root=str(tmp_path), image_size=8)
    with pytest.warns(UserWarning, match="no validation or test folder"):
        dm.setup()
    assert len(dm.split_dataset("train")) == 2 and len(dm.split_dataset("val")) == len(dm.split_dataset("test")) == 0
    assert list(dm.val_dataloader()) == []


def test_mismatched_names_are_listed(tmp_path):
    for side, names in (("A", ["1", "2", "3"]), ("B", ["1", "4"])):
        (tmp_path / side).mkdir()
        for name in names:
            random_image(8, 8).save(tmp_path / side / f"{name}.png")
    with pytest.raises(ValueError, match=r"(?s)do not match.*2 A files without a B partner: 2, 3\n.*1 B files without an A partner: 4"):
        PairedFolderDataModule(root=str(tmp_path)).setup()


def test_val_and_test_are_never_trained_on(tmp_path):
    root = write_aligned_folder(tmp_path, {"train": 3, "val": 2, "test": 1})
    dm = PairedFolderDataModule(root=str(root), image_size=8, batch_size=1)
    train_names = {b["A_name"][0] for b in dm.train_dataloader()}
    val_names = {b["A_name"][0] for b in dm.val_dataloader()}
    test_names = {b["A_name"][0] for b in dm.test_dataloader()}
    assert train_names == {f"train_{i:04d}.png" for i in range(3)}
    assert val_names == {"val_0000.png", "val_0001.png"} and test_names == {"test_0000.png"}
    only_val = write_aligned_folder(tmp_path / "v", {"train": 2, "val": 1})
    dm = PairedFolderDataModule(root=str(only_val), image_size=8)
    assert [b["A_name"] for b in dm.test_dataloader()] == [["val_0000.png"]]  # test falls back to val


def test_paired_refuses_an_unpaired_folder(tmp_path):
    root = write_unpaired_folder(tmp_path)
    with pytest.raises(ValueError, match="(?s)unpaired .* use UnpairedFolderDataModule.*aligned"):
        PairedFolderDataModule(root=str(root)).setup()
    with pytest.raises(ValueError, match="'aligned' layout; an unpaired folder needs trainA"):
        UnpairedFolderDataModule(root=str(write_aligned_folder(tmp_path / "al", {"train": 1}))).setup()


# -- unpaired -------------------------------------------------------------------------------


def test_unpaired_epoch_length_and_random_b(tmp_path):
    torch.manual_seed(0)
    root = write_unpaired_folder(tmp_path, {"trainA": 3, "trainB": 7, "testA": 2, "testB": 3}, size=(12, 10))
    dm = UnpairedFolderDataModule(root=str(root), image_size=8, load_size=10, batch_size=1)
    epochs = []
    for _ in range(3):
        batches = list(dm.train_dataloader())
        assert len(batches) == 7  # max(|A|, |B|)
        names_a = [b["A_name"][0] for b in batches]
        assert sorted(set(names_a)) == [f"trainA_{i:04d}.jpg" for i in range(3)]
        assert all(b["A"].shape == (1, 3, 8, 8) and b["B"].shape == (1, 3, 8, 8) for b in batches)
        epochs.append([b["B_name"][0] for b in batches])
    assert len({tuple(e) for e in epochs}) == 3  # B drawn anew every epoch
    assert len({name for epoch in epochs for name in epoch}) > 3
    val = [(b["A_name"][0], b["B_name"][0]) for b in dm.val_dataloader()]
    assert val == [("testA_0000.jpg", "testB_0000.jpg"), ("testA_0001.jpg", "testB_0001.jpg"),
                   ("testA_0000.jpg", "testB_0002.jpg")]  # every test image of both domains, fixed


def test_unpaired_val_folders_direction_and_channels(tmp_path):
    root = write_unpaired_folder(tmp_path, {"trainA": 2, "trainB": 2, "valA": 1, "valB": 1, "testA": 2, "testB": 2})
    dm = UnpairedFolderDataModule(root=str(root), image_size=8, direction="BtoA", input_channels=1, batch_size=2)
    assert dm.eval_has_ground_truth is False
    dm.setup()
    assert [(i["A_name"], i["B_name"]) for i in _items(dm.split_dataset("val"))] == [("valB_0000.jpg", "valA_0000.jpg")]
    batch = next(iter(dm.test_dataloader()))
    assert batch["A"].shape == (2, 1, 8, 8) and batch["B"].shape == (2, 3, 8, 8)
    assert batch["A_name"] == ["testB_0000.jpg", "testB_0001.jpg"]
    assert batch["A_label"].dtype == torch.int64 and batch["A_label"].tolist() == [-1, -1]


# -- plain folders --------------------------------------------------------------------------


def test_image_folder_datamodule(tmp_path):
    for i, mode in enumerate(["L", "RGB", "RGBA", "P", "I;16"]):
        random_image(37, 53, mode, seed=i).save(tmp_path / f"{i}.png")
    random_image(30, 20, seed=9).save(tmp_path / "5.jpg")
    dm = ImageFolderDataModule(root=str(tmp_path), image_size=16, channels=1, val_fraction=0.34, batch_size=2)
    assert dm.image_shape == dm.dims == (1, 16, 16) and dm.num_classes is None
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (2, 1, 16, 16) and labels.tolist() == [-1, -1] and labels.dtype == torch.int64
    train = set(map(str, dm._split_files["train"]))
    val = set(map(str, dm._split_files["val"]))
    assert len(val) == 2 and len(train) == 4 and not train & val
    assert len(dm.split_dataset("test")) == 2
    predicted = list(dm.predict_dataloader())
    assert [n for b in predicted for n in b["A_name"]] == ["0.png", "1.png", "2.png", "3.png", "4.png", "5.jpg"]
    assert predicted[0]["A"].shape == (2, 1, 16, 16)


def test_datamodule_for_folders_and_names(tmp_path):
    assert datamodule_for(str(write_unpaired_folder(tmp_path / "u"))) == ("unpaired_folder", {"root": str(tmp_path / "u")})
    assert datamodule_for(str(write_aligned_folder(tmp_path / "a", {"train": 1})))[0] == "paired_folder"
    random_image(8, 8).save(_empty(tmp_path) / "x.png")
    assert datamodule_for(str(tmp_path / "empty"))[0] == "image_folder"
    assert datamodule_for("horse2zebra") == ("unpaired_folder", {"dataset": "horse2zebra"})
    assert datamodule_for("edges2shoes") == ("paired_folder", {"dataset": "edges2shoes"})
    assert datamodule_for("facades", paired=False) == ("unpaired_folder", {"dataset": "facades"})
    with pytest.raises(ValueError, match="both paired"):
        datamodule_for("facades")
    assert datamodule_for("digits") is None


def test_registered_names():
    assert datamodules.get_datamodule_class("paired_folder") is PairedFolderDataModule
    assert datamodules.get_datamodule_class("unpaired_folder") is UnpairedFolderDataModule
    assert datamodules.get_datamodule_class("image_folder") is ImageFolderDataModule
