"""``benchmarks.pretrained.make`` replaces a packaged file only when the new one beats its primary metric."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import benchmarks.pretrained as recipe_runner
import zoo
from zoo.weights import read_packaged

pytestmark = pytest.mark.usefixtures("one_thread")

TAG = "gan.circle"  # primary metric: min_sector_share, higher is better


@pytest.fixture
def runner(tmp_path, monkeypatch):
    """``make(tag)`` with training and measuring replaced: the "trained" module is the shipped one and
    the measured metrics are what ``scores`` holds; packaged files and grids go to ``tmp_path``."""
    scores = {"radius_error": 0.01, "min_sector_share": 0.10}

    def fake_fit(args):
        model = zoo.load(TAG).train()
        return SimpleNamespace(model=model, datamodule=None, trainer=SimpleNamespace(global_step=7, precision="32-true"))

    monkeypatch.setattr(recipe_runner, "fit_main", fake_fit)
    monkeypatch.setattr(recipe_runner, "acceptance", lambda tag, model: dict(scores))
    monkeypatch.setattr(recipe_runner, "PACKAGED_DIR", tmp_path / "pretrained")
    monkeypatch.setattr(recipe_runner, "GRIDS", tmp_path / "grids")
    return SimpleNamespace(scores=scores, target=tmp_path / "pretrained" / f"{TAG}.pt", grid=tmp_path / "grids" / f"{TAG}.png")


def shipped_share(path) -> float:
    return read_packaged(path)["meta"]["metrics"]["min_sector_share"]


def test_a_first_file_is_written_with_its_metrics_and_grid(runner, capsys):
    result = recipe_runner.make(TAG)
    assert runner.target.is_file() and runner.grid.is_file()
    assert shipped_share(runner.target) == pytest.approx(0.10)
    assert result["below_bar"] == {}
    assert "packaged_weights(" in capsys.readouterr().out  # the declaration to paste


def test_a_worse_file_is_refused_and_the_packaged_one_kept(runner):
    recipe_runner.make(TAG)
    before = runner.target.read_bytes()
    runner.scores["min_sector_share"] = 0.08
    with pytest.raises(recipe_runner.NotBetterError, match=r"min_sector_share 0\.08 does not beat .* 0\.1"):
        recipe_runner.make(TAG)
    assert runner.target.read_bytes() == before


def test_an_equal_file_is_refused_too(runner):
    recipe_runner.make(TAG)
    with pytest.raises(recipe_runner.NotBetterError):
        recipe_runner.make(TAG)


def test_a_better_file_replaces_it(runner):
    recipe_runner.make(TAG)
    runner.scores["min_sector_share"] = 0.12
    recipe_runner.make(TAG)
    assert shipped_share(runner.target) == pytest.approx(0.12)


def test_force_overwrites_a_better_file(runner):
    recipe_runner.make(TAG)
    runner.scores["min_sector_share"] = 0.02
    result = recipe_runner.make(TAG, force=True)
    assert shipped_share(runner.target) == pytest.approx(0.02)
    assert result["below_bar"] == {"min_sector_share": 0.02}  # reported, still written when forced


def test_lower_is_better_metrics_compare_the_other_way():
    assert recipe_runner.better(2.0, 2.5, ("<=", 3.0)) and not recipe_runner.better(2.5, 2.0, ("<=", 3.0))
    assert recipe_runner.better(0.9, 0.8, (">=", 0.5)) and not recipe_runner.better(0.8, 0.8, (">=", 0.5))


def test_check_remeasures_without_writing_and_compares_with_the_declaration(capsys, monkeypatch):
    from benchmarks import pretrained
    from zoo.weights import PACKAGED_DIR

    before = {p.name: p.stat().st_mtime_ns for p in PACKAGED_DIR.glob("*.pt")}
    assert pretrained.check(["gan.circle"])
    out = capsys.readouterr().out
    assert '"differ_at_3_decimals": {}' in out and out.strip().endswith("every figure as declared (3 decimals)")
    assert {p.name: p.stat().st_mtime_ns for p in PACKAGED_DIR.glob("*.pt")} == before  # nothing written
    monkeypatch.setattr(pretrained, "acceptance", lambda tag, model: {"radius": 2.0, "radius_error": 1.0,
                                                                      "min_sector_share": 0.104})
    assert not pretrained.check(["gan.circle"])
    assert '"radius": [1.0059, 2.0]' in capsys.readouterr().out
