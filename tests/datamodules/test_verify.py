"""The file check's edges: the cache (corrupt, stale, unwritable), the list of bad files, empty sides
and classes, and the wording of the size warnings for every ``preprocess`` policy."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
from PIL import Image

import datamodules.verify as verify
from datamodules import ImageFolderDataModule, LabelledFolderDataModule, UnpairedFolderDataModule
from datamodules.preprocess import PREPROCESS_POLICIES, odd_size_messages
from datamodules.verify import BadImagesError, BadImagesWarning, copy_bad_files_list, verify_images
from tests.fake_data import random_image

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))


def _folder(root: Path, good: int = 3, bad: tuple[str, ...] = ("broken.png",)) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(good):
        random_image(12, 10, seed=i).save(root / f"{i}.png")
    for name in bad:
        (root / name).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(30))
    return root


def _quiet_setup(dm) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm.setup()
    return [str(w.message) for w in caught if issubclass(w.category, BadImagesWarning)]


def test_a_corrupt_or_foreign_cache_entry_is_ignored_and_rewritten(tmp_path):
    folder = _folder(tmp_path / "f")
    files = sorted(folder.iterdir())
    assert verify_images(files).decoded == 4
    entry = verify.cache_entry_path(folder)
    entry.write_text("{not json")
    assert verify_images(files).decoded == 4 and json.loads(entry.read_text())["version"] == verify.CACHE_VERSION
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps({**data, "pillow": "0.0"}))  # another Pillow may read other files
    assert verify_images(files).decoded == 4
    assert verify_images(files).decoded == 0
    assert verify_images(files, use_cache=False).decoded == 4


def test_an_unwritable_cache_warns_once_and_still_checks(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "a-file" / "cache"))  # cannot be a folder
    monkeypatch.setattr(verify, "_CACHE_WARNED", set())
    folder = _folder(tmp_path / "f")
    with pytest.warns(UserWarning, match="cannot write the image verification cache"):
        result = verify_images(sorted(folder.iterdir()))
    assert list(result.bad) == [folder / "broken.png"]
    dm = ImageFolderDataModule(str(folder), image_size=8, batch_size=1)
    messages = _quiet_setup(dm)
    assert len(dm.files) == 3 and "the list could not be written" in messages[0] and dm.bad_files_list is None


def test_a_vanished_file_is_bad_not_a_crash(tmp_path):
    folder = _folder(tmp_path / "f", bad=())
    result = verify_images([*sorted(folder.iterdir()), folder / "gone.png"])
    assert result.bad == {folder / "gone.png": "FileNotFoundError: No such file or directory"}


def test_the_list_follows_the_folder_and_is_copied_to_a_run_directory(tmp_path):
    folder = _folder(tmp_path / "f")
    dm = ImageFolderDataModule(str(folder), image_size=8, batch_size=1)
    dm.run_dir = tmp_path / "run"
    _quiet_setup(dm)
    listed = dm.bad_files_list
    assert listed == verify.bad_list_path(folder) and listed.is_file()
    assert (tmp_path / "run" / "bad_files.txt").read_text() == listed.read_text()
    assert copy_bad_files_list(dm, tmp_path / "later") == tmp_path / "later" / "bad_files.txt"
    (folder / "broken.png").unlink()
    fixed = ImageFolderDataModule(str(folder), image_size=8, batch_size=1)
    assert _quiet_setup(fixed) == [] and fixed.bad_files == {} and fixed.bad_files_list is None
    assert not listed.exists()  # a stale list is removed
    assert copy_bad_files_list(fixed, tmp_path / "none") is None


def test_nothing_readable_left_is_an_error_even_without_strict(tmp_path):
    folder = _folder(tmp_path / "f", good=0, bad=("a.png", "b.jpg"))
    with pytest.raises(BadImagesError, match=r"no readable image left, 2 unreadable image files"):
        ImageFolderDataModule(str(folder)).setup()
    for name, good in (("trainA", 0), ("trainB", 2), ("testA", 1), ("testB", 1)):
        _folder(tmp_path / "u" / name, good=good)
    with pytest.raises(BadImagesError, match="no readable image left"):
        UnpairedFolderDataModule(root=str(tmp_path / "u"), image_size=8).setup()
    for name, good in (("cat", 2), ("dog", 0)):
        _folder(tmp_path / "l" / name, good=good)
    with pytest.raises(ValueError, match="without a readable image: 'dog'"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BadImagesWarning)
            LabelledFolderDataModule(str(tmp_path / "l"), image_size=8).setup()


def test_the_warning_names_at_most_five_files(tmp_path):
    folder = _folder(tmp_path / "f", bad=tuple(f"bad_{i}.png" for i in range(7)))
    dm = ImageFolderDataModule(str(folder), image_size=8, batch_size=1)
    [message] = _quiet_setup(dm)
    assert "7 unreadable image files skipped" in message and "and 2 more" in message
    assert len(open(dm.bad_files_list).read().splitlines()) == 2 + 7  # two comment lines, then every file


@pytest.mark.parametrize("preprocess", PREPROCESS_POLICIES)
def test_size_messages_for_every_policy(preprocess):
    sizes = [(Path("a.png"), (64, 64)), (Path("tall.png"), (10, 50)), (Path("wide.png"), (500, 20))]
    messages = odd_size_messages(sizes, preprocess, 32, 36, "here")
    small = [m for m in messages if "image_size=32" in m and "beyond 4:1" not in m]
    wide = [m for m in messages if "beyond 4:1" in m]
    assert len(wide) == 1 and "2 images" in wide[0] and "tall.png (10x50)" in wide[0]
    if preprocess == "none":
        assert small == []  # nothing is resized: nothing is upscaled
    elif preprocess == "scale_width":
        assert len(small) == 1 and "1 image narrower" in small[0] and "tall.png" in small[0]
    else:
        assert len(small) == 1 and "2 images smaller" in small[0] and "wide.png (500x20)" in small[0]
    assert odd_size_messages([(Path("a.png"), (64, 64))], preprocess, 32, 36, "here") == []


def test_images_are_never_opened_truncated(tmp_path):
    from PIL import ImageFile

    random_image(64, 64).save(tmp_path / "x.jpg")
    data = (tmp_path / "x.jpg").read_bytes()
    (tmp_path / "x.jpg").write_bytes(data[: len(data) - len(data) // 4])
    assert "truncated" in verify_images([tmp_path / "x.jpg"]).bad[tmp_path / "x.jpg"]
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    from zoo.images import UnreadableImageError, open_image

    with pytest.raises(UnreadableImageError, match=f"cannot read image {tmp_path / 'x.jpg'}: OSError: image file is"):
        open_image(tmp_path / "x.jpg")
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.jpg")
    assert os.path.getsize(tmp_path / "ok.jpg") > 0 and open_image(tmp_path / "ok.jpg").size == (4, 4)
