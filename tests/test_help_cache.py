"""``python -m zoo.fit --help`` prints the help it rendered before, without importing torch or Lightning."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, subprocess_env
from zoo import help_cache

CHECK = """
import runpy, sys
sys.argv = ["zoo.fit", "--help"]
try:
    runpy.run_module("zoo.fit", run_name="__main__")
except SystemExit as exit_:
    assert exit_.code in (0, None), exit_.code
print("IMPORTED torch" if "torch" in sys.modules else "NO torch", file=sys.stderr)
"""


def test_only_the_plain_help_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    help_cache.store_help("zoo.fit", ["--model", "cgan", "--help"], "not kept")
    assert help_cache.cached_help("zoo.fit", ["--model", "cgan", "--help"]) is None
    help_cache.store_help("zoo.fit", ["--help"], "usage: python -m zoo.fit ...\n")
    assert help_cache.cached_help("zoo.fit", ["-h"]) == "usage: python -m zoo.fit ...\n"
    assert help_cache.cached_help("zoo.fit", ["--help", "--model"]) is None


def test_the_key_follows_what_the_text_depends_on(monkeypatch):
    key = help_cache.help_key("zoo.fit")
    assert help_cache.help_key("zoo.fit") == key
    monkeypatch.setattr(help_cache.shutil, "get_terminal_size", lambda: os.terminal_size((123, 40)))
    assert help_cache.help_key("zoo.fit") != key  # another width wraps the text differently


def test_a_second_help_prints_the_first_ones_text_without_torch(tmp_path, monkeypatch, capsys):
    from zoo.fit_cli import main

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit):
        main(["--help"])  # renders (Lightning is imported here anyway) and stores it
    rendered = capsys.readouterr().out
    assert rendered.startswith("usage: python -m zoo.fit")
    env = subprocess_env() | {"ZOO_CACHE_DIR": str(tmp_path), "COLUMNS": "100"}
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == rendered
    assert "NO torch" in out.stderr
