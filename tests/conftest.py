"""Shared fixtures: run ``zoo.fit`` in-process inside a temporary directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `pytest -n N` (make test): N test processes share the cores, so each keeps one intra-op thread, and
    # so do the processes it starts; two threads each would oversubscribe the cores several-fold.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


HEAVY_FIRST = (
    # modules whose module-scoped fixtures cost most (a DDP launch, Inception conversion): first, so
    # they run whole in one process before any of their tests could be stolen from the queue's end
    "tests/test_ddp.py", "tests/metrics/test_standard_inception.py", "tests/metrics/test_fidelity.py",
    "tests/test_evaluate.py",
    # then the longest modules (make test's durations, 2026-12-03: 30 to 143 s each)
    "tests/test_docs.py", "tests/test_learning.py", "tests/test_benchmarks_run.py",
    "tests/metrics/test_fidelity_ddp.py", "tests/test_signals.py", "tests/test_pretrained.py",
    "tests/callbacks/test_metrics.py", "tests/test_fit_cli.py",
)
"""The order ``make test`` queues the heaviest modules in (the others follow in file order)."""


def pytest_collection_modifyitems(config, items):
    """Heaviest modules first, each kept together: under ``--dist worksteal`` an idle process steals
    from the end of the other's queue, so what is left to share at the end are short tests, not a
    minute-long one started last."""
    rank = {path: i for i, path in enumerate(HEAVY_FIRST)}
    items[:] = sorted(items, key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable


@pytest.fixture(autouse=True)
def _offline_and_quiet(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    """Caches (real statistics, checked image folders, converted weights) in a temporary folder,
    not the user's ``~/.cache/zoo``; a test may point ``ZOO_CACHE_DIR`` elsewhere itself."""
    previous = os.environ.get("ZOO_CACHE_DIR")
    os.environ["ZOO_CACHE_DIR"] = str(tmp_path_factory.mktemp("zoo-cache"))
    yield
    if previous is None:
        os.environ.pop("ZOO_CACHE_DIR", None)
    else:
        os.environ["ZOO_CACHE_DIR"] = previous


@pytest.fixture
def fit(tmp_path, monkeypatch):
    """``fit(*args)`` runs ``python -m zoo.fit ARGS`` in-process with runs under ``tmp_path/runs``."""
    from zoo.fit import main

    monkeypatch.chdir(tmp_path)

    def run(*args: str):
        return main([*args, "--runs_dir", str(tmp_path / "runs"), *QUIET])

    return run


def subprocess_env() -> dict[str, str]:
    """Environment for ``python -m zoo.fit`` subprocesses: the repo importable, offline, quiet."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    # `python` in documented commands is the interpreter running the tests (the project's venv)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", PYTHONWARNINGS="ignore")
    return env


@pytest.fixture
def one_thread():
    """One intra-op thread: tiny networks run faster on one thread, and much faster than two on a
    busy 2-core machine (more threads only oversubscribe the cores). Use with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test (offline on a fresh install)."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
