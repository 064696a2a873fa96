"""``zoo.paths``: the one lookup of the data and cache folders."""

from __future__ import annotations

from pathlib import Path

from zoo import paths


def test_data_dir_argument_then_environment_then_data(monkeypatch, tmp_path):
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert paths.data_dir() == tmp_path / "data"
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "env"))
    assert paths.data_dir() == tmp_path / "env"
    assert paths.data_dir(tmp_path / "given") == tmp_path / "given"
    assert paths.data_dir("~/x") == Path.home() / "x" and paths.data_dir("rel").is_absolute()


def test_cache_dir_environment_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv("ZOO_CACHE_DIR", raising=False)
    assert paths.cache_dir() == Path.home() / ".cache" / "zoo"
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    assert paths.cache_dir("weights", "cgan") == tmp_path / "weights" / "cgan"


def test_every_cache_uses_the_same_root(monkeypatch, tmp_path):
    from zoo.metrics import fidelity
    from zoo.weights import weights_cache_dir

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    assert weights_cache_dir() == tmp_path / "weights"
    assert fidelity.cache_dir() == tmp_path
