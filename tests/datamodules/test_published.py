"""The published CycleGAN / pix2pix sets: catalogue, download (torchvision's download_url), safe extraction (offline).

Archives written here are served by a local HTTP server on 127.0.0.1 (torchvision's download_url needs an
HTTP response); nothing leaves the machine.
"""

from __future__ import annotations

import functools
import http.server
import tarfile
import threading
import urllib.error
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from datamodules import DataNotFoundError, PairedFolderDataModule, UnpairedFolderDataModule
from datamodules import published as P
from tests.fake_data import write_aligned_folder, write_unpaired_folder
from zoo.images import load_image

pytestmark = pytest.mark.usefixtures("one_thread")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def serve(tmp_path, monkeypatch):
    """``serve(path)`` -> an ``http://127.0.0.1:PORT/...`` URL of a file under ``tmp_path``."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=tmp_path))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield lambda path: f"http://127.0.0.1:{server.server_address[1]}/{Path(path).relative_to(tmp_path).as_posix()}"
    server.shutdown()
    thread.join()


def test_catalogues_match_the_published_lists():
    assert sorted(P.CYCLEGAN_DATASETS) == sorted([
        "apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo", "ukiyoe2photo",
        "vangogh2photo", "maps", "cityscapes", "facades", "iphone2dslr_flower", "ae_photos"])
    assert sorted(P.PIX2PIX_DATASETS) == ["cityscapes", "edges2handbags", "edges2shoes", "facades", "maps", "night2day"]
    assert P.CYCLEGAN_DATASETS["horse2zebra"].url == "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip"
    assert P.PIX2PIX_DATASETS["facades"].url == "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"
    assert PairedFolderDataModule(dataset="facades").direction == "BtoA"
    assert PairedFolderDataModule(dataset="facades", direction="AtoB").direction == "AtoB"
    assert PairedFolderDataModule(dataset="edges2shoes").direction == "AtoB"


def _zip_cyclegan(tmp_path: Path, name: str) -> Path:
    source = write_unpaired_folder(tmp_path / "src" / name, {"trainA": 2, "trainB": 3, "testA": 1, "testB": 1})
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(source.rglob("*.jpg")):
            zf.write(path, path.relative_to(source.parent).as_posix())
    return archive


def test_download_and_extract_a_cyclegan_zip(tmp_path, monkeypatch, serve):
    archive = _zip_cyclegan(tmp_path, "horse2zebra")
    entry = replace(P.CYCLEGAN_DATASETS["horse2zebra"], url=serve(archive))
    monkeypatch.setitem(P.CYCLEGAN_DATASETS, "horse2zebra", entry)
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "data"))
    dm = UnpairedFolderDataModule(dataset="horse2zebra", image_size=8, batch_size=1)
    assert dm.root == tmp_path / "data" / "cyclegan" / "horse2zebra"
    dm.prepare_data()
    assert (dm.root / "trainA").is_dir() and not (dm.root.parent / "horse2zebra.zip").exists()
    assert len(list(dm.train_dataloader())) == 3
    dm.prepare_data()  # already there: nothing to do


def test_download_and_extract_a_pix2pix_tarball(tmp_path, monkeypatch, serve):
    source = write_aligned_folder(tmp_path / "src" / "facades", {"train": 2, "val": 1, "test": 1}, size=(8, 8))
    archive = tmp_path / "facades.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(source, arcname="facades")
    monkeypatch.setitem(P.PIX2PIX_DATASETS, "facades", replace(P.PIX2PIX_DATASETS["facades"], url=serve(archive)))
    dm = PairedFolderDataModule(dataset="facades", data_dir=str(tmp_path / "data"), image_size=8)
    dm.prepare_data()
    assert dm.root == tmp_path / "data" / "pix2pix" / "facades" and dm.layout == "aligned"
    dm.setup()
    assert [len(dm.split_dataset(s)) for s in ("train", "val", "test")] == [2, 1, 1]
    item = dm.split_dataset("val")[0]  # BtoA by default: A is the right half of the file
    assert torch.equal(item["A"], load_image(dm.root / "val" / "val_0000.png", 3, None)[..., 8:])


def test_failed_download_names_the_url_and_the_folder(tmp_path, monkeypatch, serve):
    missing = serve(tmp_path / "nowhere" / "monet2photo.zip")  # 404
    monkeypatch.setitem(P.CYCLEGAN_DATASETS, "monet2photo", replace(P.CYCLEGAN_DATASETS["monet2photo"], url=missing))
    dm = UnpairedFolderDataModule(dataset="monet2photo", data_dir=str(tmp_path / "data"))
    with pytest.raises(DataNotFoundError) as info:
        dm.prepare_data()
    message = str(info.value)
    assert missing in message and "Automatic download failed" in message
    assert f"Extract monet2photo.zip into {tmp_path / 'data' / 'cyclegan'}" in message
    assert str(tmp_path / "data" / "cyclegan" / "monet2photo" / "trainA") in message
    with pytest.raises(DataNotFoundError, match="(?s)efrosgans.eecs.berkeley.edu/pix2pix/datasets/maps.tar.gz.*download=False"):
        PairedFolderDataModule(dataset="maps", data_dir=str(tmp_path / "data"), download=False).prepare_data()
    with pytest.raises(DataNotFoundError, match="not distributed"):
        PairedFolderDataModule(dataset="cityscapes", data_dir=str(tmp_path / "data")).prepare_data()
    with pytest.raises(DataNotFoundError, match="monet2photo"):
        dm.setup()  # setup without the files says the same


def test_archive_members_outside_the_folder_are_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(ValueError, match="outside"):
        P.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_download_goes_through_a_part_file(tmp_path, serve):
    source = tmp_path / "x.zip"
    source.write_bytes(b"archive bytes")
    target = tmp_path / "data" / "x.zip"
    target.parent.mkdir()
    (target.parent / "x.zip.part").write_bytes(b"stale, from an interrupted download")
    assert P.download_archive(serve(source), target) == target
    assert target.read_bytes() == b"archive bytes" and not (target.parent / "x.zip.part").exists()
    with pytest.raises(urllib.error.URLError):
        P.download_archive(serve(tmp_path / "missing.zip"), tmp_path / "data" / "missing.zip")
    assert not (tmp_path / "data" / "missing.zip").exists()


def test_an_archive_without_the_set_is_kept_and_named(tmp_path, monkeypatch, serve):
    archive = _zip_cyclegan(tmp_path, "apple2orange").rename(tmp_path / "vangogh2photo.zip")  # holds apple2orange/
    entry = replace(P.CYCLEGAN_DATASETS["vangogh2photo"], url=serve(archive))
    monkeypatch.setitem(P.CYCLEGAN_DATASETS, "vangogh2photo", entry)
    dm = UnpairedFolderDataModule(dataset="vangogh2photo", data_dir=str(tmp_path / "data"))
    with pytest.raises(DataNotFoundError, match="vangogh2photo.zip did not contain vangogh2photo/"):
        dm.prepare_data()
    assert (tmp_path / "data" / "cyclegan" / "vangogh2photo.zip").is_file()  # for a look; not downloaded again
