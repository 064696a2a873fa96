"""``python -m zoo.translate``: folders mirrored, sizes and values those of ``model.translate``, clean errors.

Tiny checkpoints are written by hand (the dict ``zoo.load`` reads: ``zoo``, ``state_dict``,
``hyper_parameters``); the released-weights case uses a full-size reference-layout ``.pth``
on one 16 x 16 image.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
import zoo.translation_files
from tests.nn.reference_layout import RefResnetGenerator, randomise
from zoo.translate import SAVE_OPTIONS, main

# relative path -> (mode, (width, height)); odd sizes, every mode translate() converts
IMAGES = {
    "a.png": ("RGB", (37, 23)),
    "sub/b.jpg": ("RGB", (20, 31)),
    "sub/deeper/c.png": ("L", (17, 17)),
    "sub/d.png": ("RGBA", (29, 13)),
    "e.bmp": ("P", (11, 19)),
    "sub/g16.png": ("I;16", (21, 35)),
    "sub/deeper/f.webp": ("RGB", (9, 8)),
    "h.tif": ("RGB", (14, 10)),
}
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".bmp": "BMP", ".webp": "WEBP", ".tif": "TIFF"}


pytestmark = pytest.mark.usefixtures("one_thread")


def save_checkpoint(model, path):
    """What ``zoo.load`` needs from a Lightning checkpoint written by ``zoo.fit``."""
    torch.save({
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "zoo": {"name": type(model).__name__.lower(), "class_path": f"{type(model).__module__}.{type(model).__qualname__}"},
    }, path)
    return path


def random_image(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    width, height = size
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    if mode == "P":
        return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).quantize(16)
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    array = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(array[..., 0] if channels == 1 else array, mode)


def encoded(image: Image.Image, suffix: str) -> np.ndarray:
    """``image`` as read back after writing it in ``suffix``'s format (lossy formats included)."""
    fmt = FORMATS[suffix]
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **SAVE_OPTIONS.get(fmt, {}))
    return np.asarray(Image.open(buffer))


@pytest.fixture(scope="module")
def cyclegan(tmp_path_factory):
    """(model, checkpoint path) of a tiny CycleGAN with weights large enough to give varied outputs."""
    torch.manual_seed(0)
    model = zoo.create_model("cyclegan", in_channels=3, out_channels=3, num_blocks=1,
                             generator_channels=4, discriminator_channels=4)
    with torch.no_grad():
        for p in [*model.generator.parameters(), *model.generator_ba.parameters()]:
            p.normal_(0, 0.3)
    path = save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "cyclegan.ckpt")
    return zoo.load(path), path


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos") / "in"
    for seed, (name, (mode, size)) in enumerate(IMAGES.items()):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        random_image(mode, size, seed).save(root / name)
    (root / ".hidden.png").write_bytes((root / "a.png").read_bytes())
    (root / "notes.txt").write_text("not an image")
    return root


def run(*argv, quiet: bool = True) -> int:
    """``main`` on the CPU (the comparisons below are exact), by default without the progress bar."""
    argv = [*map(str, argv), *(["--quiet"] if quiet else [])]
    return main(argv if "--device" in argv else [*argv, "--device", "cpu"])


def run_error(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as info:
        run(*argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "python -m zoo.translate: error: " in err
    return err


def test_folder_is_mirrored_with_sizes_formats_and_values(cyclegan, images, tmp_path, capsys):
    model, ckpt = cyclegan
    out = tmp_path / "out"
    assert run("--ckpt", ckpt, "--input", images, "--output", out) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == f"translated {len(IMAGES)} images -> {out}"
    assert captured.err == ""  # --quiet: no progress bar
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(IMAGES)  # hidden and non-image files are skipped
    for name, (mode, size) in IMAGES.items():
        with Image.open(images / name) as source:
            expected = model.translate(source)
        with Image.open(out / name) as result:
            assert result.size == size and result.mode == "RGB"
            assert result.format == FORMATS[(out / name).suffix]
            np.testing.assert_array_equal(np.asarray(result), encoded(expected, (out / name).suffix), err_msg=name)
    outputs = [np.asarray(Image.open(out / name), dtype=np.float64) for name in ("a.png", "sub/d.png")]
    assert all(o.std() > 10 for o in outputs)  # a real translation, not a flat image


def test_size_direction_and_progress_bar(cyclegan, images, tmp_path, capsys):
    model, ckpt = cyclegan
    out = tmp_path / "out"
    assert run("--ckpt", ckpt, "--input", images, "--output", out, "--size", 16, "--direction", "BtoA", quiet=False) == 0
    captured = capsys.readouterr()
    assert "translating" in captured.err and f"{len(IMAGES)}/{len(IMAGES)}" in captured.err
    for name in IMAGES:
        assert Image.open(out / name).size == (16, 16)
    for name in ("a.png", "sub/deeper/c.png", "sub/g16.png"):
        with Image.open(images / name) as source:
            expected = model.translate(source, "BtoA", size=16)
            assert not np.array_equal(np.asarray(expected), np.asarray(model.translate(source, size=16)))
        np.testing.assert_array_equal(np.asarray(Image.open(out / name)), np.asarray(expected))


def test_single_file_and_batches(cyclegan, images, tmp_path, capsys):
    model, ckpt = cyclegan
    source = images / "sub" / "d.png"
    expected = np.asarray(model.translate(Image.open(source)))
    assert run("--ckpt", ckpt, "--input", source, "--output", tmp_path / "folder") == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "folder" / "d.png")), expected)
    assert run("--ckpt", ckpt, "--input", source, "--output", tmp_path / "x.bmp") == 0
    assert Image.open(tmp_path / "x.bmp").format == "BMP"
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "x.bmp")), expected)
    assert capsys.readouterr().out.splitlines()[-1] == f"translated 1 images -> {tmp_path / 'x.bmp'}"

    # --batch-size: consecutive same-size images share a forward pass; the result is the same
    same = tmp_path / "same"
    same.mkdir()
    for i in range(5):
        random_image("RGB", (12, 20) if i != 2 else (8, 8), 10 + i).save(same / f"{i}.png")
    for batch_size in ("1", "3"):
        run("--ckpt", ckpt, "--input", same, "--output", tmp_path / batch_size, "--batch-size", batch_size)
    for i in range(5):
        one, three = (np.asarray(Image.open(tmp_path / b / f"{i}.png"), dtype=int) for b in ("1", "3"))
        assert np.abs(one - three).max() <= 1


def test_pix2pix_pads_odd_sizes_and_rejects_bto_a(images, tmp_path, capsys):
    model = zoo.create_model("pix2pix", in_channels=3, out_channels=3, image_size=32,
                             generator_channels=4, discriminator_channels=4)
    ckpt = save_checkpoint(model, tmp_path / "pix2pix.ckpt")
    source = images / "a.png"  # 37 x 23: padded to 64 x 32 for the 5-level U-Net, then cropped
    assert run("--ckpt", ckpt, "--input", source, "--output", tmp_path / "out") == 0
    result = Image.open(tmp_path / "out" / "a.png")
    assert result.size == (37, 23)
    np.testing.assert_array_equal(np.asarray(result), np.asarray(zoo.load(ckpt).translate(Image.open(source))))
    err = run_error(capsys, "--ckpt", ckpt, "--input", source, "--output", tmp_path / "b", "--direction", "BtoA")
    assert "Pix2Pix cannot translate 'BtoA'; valid directions: AtoB" in err
    assert not (tmp_path / "b").exists()


def test_released_weights_from_a_pth_file(tmp_path, capsys):
    pth = tmp_path / "horse2zebra.pth"
    torch.save(randomise(RefResnetGenerator(3, 3, 64, 9)).state_dict(), pth)
    random_image("RGB", (16, 16), 0).save(tmp_path / "horse.jpg")
    assert run("--model", "cyclegan", "--weights", pth, "--input", tmp_path / "horse.jpg", "--output", tmp_path / "out") == 0
    expected = zoo.load("cyclegan", weights=pth).translate(Image.open(tmp_path / "horse.jpg"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / "horse.jpg")), encoded(expected, ".jpg"))
    err = run_error(capsys, "--model", "cyclegan", "--weights", pth, "--input", tmp_path / "horse.jpg",
                    "--output", tmp_path / "b", "--direction", "BtoA")
    assert "CycleGAN cannot translate 'BtoA'; valid directions: AtoB" in err


def test_clean_errors(cyclegan, images, tmp_path, capsys):
    _, ckpt = cyclegan
    cgan = save_checkpoint(zoo.create_model("cgan", generator_channels=8, discriminator_channels=8), tmp_path / "c.ckpt")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    io_ = ["--input", images, "--output", out]
    cases = [
        (["--ckpt", cgan, *io_], "holds a CGAN, which does not translate images; translation models: cyclegan, pix2pix"),
        (["--ckpt", ckpt, "--input", tmp_path / "nope", "--output", out], f"--input {tmp_path / 'nope'} does not exist"),
        (["--ckpt", ckpt, "--input", tmp_path / "empty", "--output", out], "no images (.png"),
        (["--ckpt", ckpt, "--input", images, "--output", images / "out"], "is inside --input"),
        (["--ckpt", ckpt, "--input", images, "--output", images], "is inside --input"),
        (["--ckpt", ckpt, "--input", images / "notes.txt", "--output", out], "is not an image file (extensions: .png"),
        (["--ckpt", ckpt, "--input", images / "a.png", "--output", images / "a.png"], "would be written over the input"),
        (["--ckpt", ckpt, "--input", images, "--output", images / "a.png"], "is a file; give a folder"),
        (["--ckpt", ckpt, "--input", tmp_path / "broken", "--output", out], "cannot read image"),
        (["--ckpt", tmp_path / "missing.ckpt", *io_], "no such checkpoint file"),
        (["--ckpt", tmp_path / "broken" / "x.png", *io_], "cannot load checkpoint"),
        (["--ckpt", "cyclegan", *io_], "use --model cyclegan --weights NAME"),
        (["--model", "cyclegan", *io_], "--model cyclegan needs --weights"),
        (["--ckpt", ckpt, "--weights", "horse2zebra", *io_], "--weights goes with --model"),
        (["--model", "cgan", "--weights", "x.pth", *io_], "no weights file at x.pth"),
        (["--model", "cgan", "--weights", "digits", *io_], "holds a CGAN, which does not translate images"),
        (["--model", "cyclegan", "--weights", "nope", *io_], "no pretrained cyclegan weights named 'nope'; valid choices:"),
        (["--ckpt", ckpt, "--model", "cyclegan", *io_], "not allowed with argument"),
        ([*io_], "one of the arguments --ckpt --model is required"),
        (["--ckpt", ckpt, *io_, "--direction", "AtoC"], "invalid choice: 'AtoC'"),
        (["--ckpt", ckpt, *io_, "--size", "0"], "expected a positive integer, got '0'"),
        (["--ckpt", ckpt, *io_, "--device", "tpu"], "invalid device 'tpu'; valid choices: auto, cpu, cuda, cuda:N"),
    ]
    if not torch.cuda.is_available():
        cases.append((["--ckpt", ckpt, *io_, "--device", "cuda"], "no CUDA device is available"))
    for argv, message in cases:
        err = run_error(capsys, *argv)
        assert message in err, (argv, err)
    assert not out.exists() and not (images / "out").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(cyclegan, images, tmp_path):
    _, ckpt = cyclegan
    for device in ("cpu", "cuda"):
        assert run("--ckpt", ckpt, "--input", images, "--output", tmp_path / device, "--device", device,
                   "--batch-size", 4) == 0
    for name in IMAGES:
        if (tmp_path / "cpu" / name).suffix in (".png", ".bmp", ".tif"):
            cpu, cuda = (np.asarray(Image.open(tmp_path / d / name), dtype=int) for d in ("cpu", "cuda"))
            assert np.abs(cpu - cuda).max() <= 3, name


def test_formats_pillow_cannot_write_become_png(cyclegan, tmp_path, monkeypatch, capsys):
    import zoo.translate

    _, ckpt = cyclegan
    monkeypatch.setattr(zoo.translation_files, "_can_write", lambda fmt, mode: fmt != "WEBP")  # a Pillow without WebP
    (tmp_path / "in").mkdir()
    random_image("RGB", (9, 7), 0).save(tmp_path / "in" / "x.webp")
    assert run("--ckpt", ckpt, "--input", tmp_path / "in", "--output", tmp_path / "out") == 0
    assert Image.open(tmp_path / "out" / "x.png").format == "PNG" and not (tmp_path / "out" / "x.webp").exists()
    random_image("RGB", (9, 7), 1).save(tmp_path / "in" / "x.png")
    err = run_error(capsys, "--ckpt", ckpt, "--input", tmp_path / "in", "--output", tmp_path / "out2")
    assert "would both be written to" in err and not (tmp_path / "out2").exists()
