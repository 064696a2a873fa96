"""Bad image files never cost a run: every folder reader skips unreadable files with one warning,
serves every readable one (odd formats converted), refuses them with ``strict``, and checks each
file only once (the on-disk cache).

One junk set (``tests.fake_data.write_junk``: truncated JPEG / PNG, zero bytes, random bytes,
1x1, 16-bit, CMYK, palette + transparency, RGBA, grey, 400x4, ``notes.txt``, ``.DS_Store``,
``._photo.jpg``) goes through every folder DataModule, ``zoo.translate``, ``zoo.evaluate`` and a
short ``zoo.fit`` run.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

import datamodules.verify as verify
from datamodules import ImageFolderDataModule, LabelledFolderDataModule, PairedFolderDataModule, UnpairedFolderDataModule
from datamodules.verify import BadImagesError, BadImagesWarning, ImageSizeWarning, verify_images
from tests.fake_data import write_junk
from zoo.images import check_image, list_images

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))


def _set_up(dm) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm.setup()
    return caught


def _of(caught, category) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, category)]


def _listed(path: Path) -> set[str]:
    """The paths in a bad-file list (``path<TAB>reason`` lines after ``#`` comments)."""
    return {line.split("\t")[0] for line in path.read_text().splitlines() if not line.startswith("#")}


def _absolute(folder: Path, names) -> set[str]:
    return {os.path.abspath(folder / name) for name in names}


# -- the check of one file ---------------------------------------------------------------


def test_check_image_catches_every_unreadable_kind_and_keeps_valid_ones(tmp_path):
    junk = write_junk(tmp_path)
    assert sorted(p.name for p in list_images(tmp_path)) == sorted(junk.good + junk.bad)  # no .txt, no hidden
    for name in junk.bad:
        assert not check_image(tmp_path / name).ok, name
    for name in junk.good:
        with Image.open(tmp_path / name) as image:
            assert check_image(tmp_path / name) == verify.ImageCheck(*image.size), name
    assert "truncated" in check_image(tmp_path / "truncated_jpeg.jpg").error
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# -- every folder DataModule --------------------------------------------------------------
# Each builder writes a junk-containing folder and returns (DataModule, expected good, expected bad, served),
# ``served(dm)`` giving the file names of every item of the train, val and test loaders.


def _plain(root: Path, **kwargs):
    junk = write_junk(root)
    dm = ImageFolderDataModule(str(root), image_size=8, channels=1, val_fraction=0.3, batch_size=1, **kwargs)

    def served(dm):
        images = [x for loader in (dm.train_dataloader(), dm.val_dataloader()) for x, _ in loader]
        assert all(x.shape == (1, 1, 8, 8) and torch.isfinite(x).all() for x in images)
        assert len(images) == len(dm.files)  # train + val are all the files
        predicted = [name for batch in dm.predict_dataloader() for name in batch["A_name"]]
        assert predicted == [p.name for p in dm.files]
        return {os.path.abspath(p) for p in dm.files}

    return dm, _absolute(root, junk.good), _absolute(root, junk.bad), served


def _labelled(root: Path, **kwargs):
    good, bad = set(), set()
    for seed, name in enumerate(("cat", "dog")):
        junk = write_junk(root / name, seed=seed)
        good |= _absolute(root / name, junk.good)
        bad |= _absolute(root / name, junk.bad)
    dm = LabelledFolderDataModule(str(root), image_size=8, val_fraction=0.25, batch_size=1, **kwargs)

    def served(dm):
        seen = []
        for split in ("train", "val"):
            data = dm.split_dataset(split)
            for (x, y), path in zip((item for item in dm._loader(data, train=False)), data.files):
                assert x.shape == (1, 3, 8, 8) and dm.class_names[int(y)] == path.parent.name
                seen.append(os.path.abspath(path))
        assert len(list(dm.train_dataloader())) == len(dm.split_dataset("train"))
        list(dm.test_dataloader())
        return set(seen)

    return dm, good, bad, served


def _pairs_served(dm):
    names = set()
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        for batch in loader:
            assert batch["A"].shape[-2:] == (8, 8) and torch.isfinite(batch["B"]).all()
            names |= set(batch["A_name"])
    return names


def _aligned(root: Path, **kwargs):
    junk = write_junk(root / "train", size=(32, 16))  # A|B: each half 16x16
    val = write_junk(root / "val", good=1, size=(32, 16), odd_sizes=False, seed=5)
    dm = PairedFolderDataModule(root=str(root), image_size=8, load_size=10, batch_size=1, input_channels=1, **kwargs)
    usable = set(junk.good) - {"tiny.png"}  # 1 pixel wide: cannot hold A and B
    bad = _absolute(root / "train", [*junk.bad, "tiny.png"]) | _absolute(root / "val", val.bad)
    good = usable | set(val.good)
    return dm, good, bad, lambda dm: _pairs_served(dm)


def _two_folders(root: Path, **kwargs):
    a, b = write_junk(root / "A"), write_junk(root / "B", seed=1)
    assert a.good == b.good
    Image.new("RGB", (8, 8), "red").save(root / "A" / "lonely.png")  # its partner is unreadable
    (root / "B" / "lonely.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    dm = PairedFolderDataModule(root=str(root), image_size=8, batch_size=1, **kwargs)
    bad = _absolute(root / "A", a.bad) | _absolute(root / "B", [*b.bad, "lonely.png"])
    return dm, set(a.good), bad, lambda dm: _pairs_served(dm)


def _unpaired(root: Path, **kwargs):
    sides = {name: write_junk(root / name, good=good, seed=seed, odd_sizes=name.startswith("train"))
             for seed, (name, good) in enumerate((("trainA", 2), ("trainB", 4), ("testA", 1), ("testB", 2)))}
    dm = UnpairedFolderDataModule(root=str(root), image_size=8, load_size=10, batch_size=1, **kwargs)
    bad = set().union(*(_absolute(root / name, junk.bad) for name, junk in sides.items()))
    good = {f"{name}:{file}" for name, junk in sides.items() for file in junk.good}

    def served(dm):
        train = list(dm.train_dataloader())
        assert len(train) == max(len(sides["trainA"].good), len(sides["trainB"].good))  # max(|A|, |B|) readable
        names = {f"trainA:{n}" for b in train for n in b["A_name"]}
        assert {f"trainB:{n}" for b in train for n in b["B_name"]} <= {f"trainB:{n}" for n in sides["trainB"].good}
        names |= {f"trainB:{p.name}" for p in dm.split_dataset("train").side_b.files}  # B is drawn at random
        for batch in dm.val_dataloader():
            names |= {f"testA:{n}" for n in batch["A_name"]} | {f"testB:{n}" for n in batch["B_name"]}
        list(dm.test_dataloader())
        return names

    return dm, good, bad, served


KINDS = {"plain": _plain, "labelled": _labelled, "aligned": _aligned, "two_folders": _two_folders,
         "unpaired": _unpaired}


@pytest.mark.parametrize("kind", KINDS)
def test_every_folder_datamodule_skips_bad_files_and_serves_every_good_one(tmp_path, kind):
    dm, good, bad, served = KINDS[kind](tmp_path / kind)
    caught = _set_up(dm)
    [message] = _of(caught, BadImagesWarning)  # one warning for the whole set-up
    assert f"{len(bad)} unreadable image files skipped" in message and str(dm.bad_files_list) in message
    assert dm.bad_files_list.parent == tmp_path / "cache" / "verified_images"
    assert _listed(dm.bad_files_list) == bad == {os.path.abspath(p) for p in dm.bad_files}
    if kind == "two_folders":  # the 5 unreadable stems (bad on both sides) and lonely.png (bad in B only)
        assert "6 pairs with an unreadable side dropped (1 readable partner not used)" in message
    sizes = _of(caught, ImageSizeWarning)  # one per kind: smaller than the output, beyond 4:1
    assert len(sizes) == 2 and any("aspect ratio beyond 4:1" in m and "wide.png" in m for m in sizes)
    assert any("smaller than image_size=8" in m for m in sizes)
    assert served(dm) == good


@pytest.mark.parametrize("kind", KINDS)
def test_strict_refuses_bad_files_at_set_up(tmp_path, kind):
    dm, _, bad, _ = KINDS[kind](tmp_path / kind, strict=True)
    with pytest.raises(BadImagesError, match="strict=True") as info:
        dm.setup()
    assert {os.path.abspath(p) for p in info.value.bad} == bad
    assert all(path in str(info.value) for path in bad)
    assert _listed(info.value.list_path) == bad and "--data.strict false" in str(info.value)


def test_odd_formats_are_served_converted(tmp_path):
    junk = write_junk(tmp_path / "odd", good=0, size=(24, 16))  # 24 x 16: preprocess="none" keeps it
    dm = ImageFolderDataModule(str(tmp_path / "odd"), image_size=16, preprocess="none", batch_size=1)
    with pytest.warns(BadImagesWarning):
        dm.setup()
    items = {item["A_name"]: item["A"] for item in dm.predict_dataset()}
    assert sorted(items) == sorted(junk.good)
    as_uint8 = {name: ((x + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy() for name, x in items.items()}
    deep = as_uint8["deep16.png"][..., 0]  # the 0..65535 ramp, scaled by 255/65535: not clipped to white
    assert deep.min() == 0 and deep.max() == 255 and 120 < deep.mean() < 135
    assert (as_uint8["deep16.png"][..., 0] == as_uint8["deep16.png"][..., 2]).all()
    with Image.open(tmp_path / "odd" / "cmyk.jpg") as cmyk:
        assert cmyk.mode == "CMYK"
        c = np.asarray(cmyk, dtype=np.float64)
    expected = (255 - c[..., 3:]) * (255 - c[..., :3]) / 255  # (1 - K)(1 - C): the colours, not inverted
    assert np.abs(as_uint8["cmyk.jpg"] - expected).max() <= 1.01
    with Image.open(tmp_path / "odd" / "palette.png") as palette:
        index = np.asarray(palette)
        colours = np.asarray(palette.convert("RGB"))
    assert (index == 0).any() and (as_uint8["palette.png"][index == 0] == 255).all()  # transparent: white
    assert (as_uint8["palette.png"][index != 0] == colours[index != 0]).all()
    with Image.open(tmp_path / "odd" / "rgba.png") as rgba:
        pixels = np.asarray(rgba, dtype=np.float64)
    composite = pixels[..., :3] * pixels[..., 3:] / 255 + 255 * (1 - pixels[..., 3:] / 255)
    assert np.abs(as_uint8["rgba.png"] - composite).max() <= 1.01  # composited on white
    grey = as_uint8["grey.png"]
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    assert items["tiny.png"].shape == (3, 4, 4) and items["wide.png"].shape == (3, 4, 400)  # multiples of 4
    resized = ImageFolderDataModule(str(tmp_path / "odd"), image_size=16, batch_size=1)
    _set_up(resized)
    assert all(item["A"].shape == (3, 16, 16) for item in resized.predict_dataset())  # 1x1 upscaled, 400x4 squashed


def test_size_warnings_name_the_policy(tmp_path):
    write_junk(tmp_path / "j", good=1)
    for preprocess, small, wide in (("resize", "upscaled (bicubic) to 16x16", "squashed to 16x16"),
                                    ("crop", "until the shorter side is 16", "most of the image is never seen"),
                                    ("none", None, "native size")):
        caught = _set_up(ImageFolderDataModule(str(tmp_path / "j"), image_size=16, preprocess=preprocess))
        messages = _of(caught, ImageSizeWarning)
        assert len(messages) == (2 if small else 1)
        assert any(wide in m for m in messages) and (small is None or any(small in m for m in messages))


# -- the cache -----------------------------------------------------------------------------


def test_the_cache_makes_the_second_set_up_skip_decoding(tmp_path, monkeypatch):
    junk = write_junk(tmp_path / "photos")
    decoded: list[str] = []

    def counting(path):
        decoded.append(Path(path).name)
        return check_image(path)

    monkeypatch.setattr(verify, "check_image", counting)
    first = ImageFolderDataModule(str(tmp_path / "photos"), image_size=8)
    _set_up(first)
    assert sorted(decoded) == sorted(junk.good + junk.bad)
    [entry] = (tmp_path / "cache" / "verified_images").glob("photos-*.json")
    assert entry == verify.cache_entry_path(tmp_path / "photos")
    assert set(json.loads(entry.read_text())["files"]) == set(junk.good + junk.bad)
    decoded.clear()
    second = ImageFolderDataModule(str(tmp_path / "photos"), image_size=8)
    caught = _set_up(second)
    assert decoded == [] and second.files == first.files and second.bad_files == first.bad_files
    assert len(_of(caught, BadImagesWarning)) == 1  # a cached bad file is still skipped and reported
    # a file that changes is checked again, and only that one
    Image.new("RGB", (8, 8)).save(tmp_path / "photos" / "empty.png")
    assert verify_images(list_images(tmp_path / "photos")).decoded == 1 and decoded == ["empty.png"]
    third = ImageFolderDataModule(str(tmp_path / "photos"), image_size=8)
    _set_up(third)
    assert len(third.files) == len(first.files) + 1


def test_parallel_and_sequential_checks_agree_and_show_progress(tmp_path, monkeypatch, capsys):
    write_junk(tmp_path / "j")
    files = list_images(tmp_path / "j")
    sequential = verify_images(files, workers=1, use_cache=False)
    monkeypatch.setattr(verify, "PARALLEL_FROM", 0)
    parallel = verify_images(files, workers=3, progress=True, use_cache=False)
    assert parallel.checks == sequential.checks and list(parallel.checks) == files
    assert "checking images" in capsys.readouterr().err


# -- the commands --------------------------------------------------------------------------


def test_translate_skips_bad_inputs_and_translates_every_good_one(tmp_path):
    import zoo
    from tests.test_translate import save_checkpoint
    from zoo.translate import main

    junk = write_junk(tmp_path / "in" / "sub")
    model = zoo.create_model("cyclegan", num_blocks=1, generator_channels=4, discriminator_channels=4)
    ckpt = save_checkpoint(model, tmp_path / "cyclegan.ckpt")
    run = ["--ckpt", str(ckpt), "--input", str(tmp_path / "in"), "--device", "cpu", "--quiet", "--batch-size", "2"]
    with pytest.warns(UserWarning) as caught:
        assert main([*run, "--output", str(tmp_path / "out")]) == 0
    [bad] = [str(w.message) for w in caught if issubclass(w.category, BadImagesWarning)]
    assert f"{len(junk.bad)} unreadable image files skipped" in bad
    # 1x1 and 400x4 are valid, but too small for the generator's down-sampling at their own size
    # (reflection padding of a 1-pixel side): skipped and named, not fatal
    [small] = [str(w.message) for w in caught if "could not be translated" in str(w.message)]
    assert "tiny.png (1x1)" in small and "wide.png (400x4)" in small and "--size" in small
    written = sorted(p.name for p in (tmp_path / "out" / "sub").iterdir())
    assert written == sorted(set(junk.good) - {"tiny.png", "wide.png"})
    for name in written:
        with Image.open(tmp_path / "in" / "sub" / name) as source, Image.open(tmp_path / "out" / "sub" / name) as out:
            assert out.size == source.size and out.mode == "RGB"
    with pytest.warns(BadImagesWarning):  # at a fixed size every readable image is translated
        assert main([*run, "--output", str(tmp_path / "sized"), "--size", "16"]) == 0
    assert sorted(p.name for p in (tmp_path / "sized" / "sub").iterdir()) == sorted(junk.good)


def test_evaluate_counts_only_the_good_images(tmp_path):
    from zoo.evaluate import folder_sampler, main

    fake = write_junk(tmp_path / "fake", good=4, size=(32, 32), odd_sizes=False)
    real = write_junk(tmp_path / "real", good=6, size=(32, 32), odd_sizes=False, seed=3)
    with pytest.warns(BadImagesWarning) as caught:
        result = main(["--fake", str(tmp_path / "fake"), "--real", str(tmp_path / "real"), "--metrics", "fd_digits",
                       "--batch-size", "4", "--output", str(tmp_path / "scores.json")])
    assert len([w for w in caught if issubclass(w.category, BadImagesWarning)]) == 2  # one per folder
    assert result["num_samples"] == result["fake"]["count"] == len(fake.good)
    assert result["real"]["count"] == len(real.good) and result["real"]["skipped"] == len(real.bad)
    assert np.isfinite(result["metrics"]["fd_digits"])
    with pytest.warns(BadImagesWarning):
        sample, count = folder_sampler(tmp_path / "fake", 3)
    assert count == len(fake.good) and sample.skipped == len(fake.bad) and sample(count)[0].shape == (count, 3, 32, 32)


def test_fit_on_a_junk_folder_finishes_and_strict_stops_it_before_training(fit, tmp_path, capsys):
    junk = write_junk(tmp_path / "junk", good=6)
    args = ["--model", "dcgan", "--data", str(tmp_path / "junk"), "--data.image_size", "16", "--data.batch_size", "4",
            "--model.generator_channels", "8", "--model.discriminator_channels", "8", "--trainer.max_steps", "2"]
    with pytest.warns(BadImagesWarning, match="5 unreadable image files skipped"):
        cli = fit(*args)
    assert cli.trainer.global_step == 2 and len(cli.datamodule.files) == len(junk.good)
    listed = Path(cli.trainer.log_dir) / "bad_files.txt"  # RunProvenance copies the full list into the run
    assert listed.is_file() and all(str(path) in listed.read_text() for path in junk.bad)
    with pytest.raises(SystemExit) as exit_:
        fit(*args, "--data.strict", "true")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "zoo.fit: error:" in err and "strict=True" in err and "Traceback" not in err
