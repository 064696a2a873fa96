"""The code blocks of README.md and docs/ are executed, so the docs cannot drift from the code.

```bash blocks run line by line in one temporary directory per file (``make``,
``pip``, ``git``, ``cd`` and ``export`` lines are skipped; ``python -m zoo.fit``
lines get ``--trainer.max_steps 3``); ```python blocks run in order in one
namespace per file, in the same directory, after the bash blocks before them.
MNIST and CIFAR-10 commands read small fake data sets in the real formats.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, subprocess_env
from tests.fake_data import write_fake_cifar10, write_fake_mnist

DOCS = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
SKIPPED = ("make", "pip", "git", "cd", "export")
TINY = " --trainer.max_steps 3 --trainer.enable_progress_bar false --trainer.enable_model_summary false"


def code_blocks(path: Path) -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in FENCE.findall(path.read_text())]


def bash_commands(body: str) -> list[str]:
    joined = body.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.split()[0] in SKIPPED:
            continue
        if "zoo.fit" in line:
            head, sep, redirect = line.partition(" > ")
            line = head + TINY + (sep + redirect if sep else "")
        commands.append(line)
    return commands


@pytest.fixture(scope="module")
def fake_data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_fake_mnist(root)
    write_fake_cifar10(root)
    return root


def test_docs_have_runnable_blocks():
    assert (REPO / "README.md") in DOCS and len(DOCS) >= 4
    assert any(lang == "bash" for lang, _ in code_blocks(REPO / "README.md"))


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(REPO)) for p in DOCS])
def test_code_blocks_run(path, tmp_path, monkeypatch, fake_data_dir):
    blocks = [(lang, body) for lang, body in code_blocks(path) if lang in ("bash", "sh", "python")]
    if not blocks:
        pytest.skip(f"{path.name} has no bash or python blocks")
    env = subprocess_env()
    env["ZOO_DATA_DIR"] = str(fake_data_dir)
    monkeypatch.setenv("ZOO_DATA_DIR", str(fake_data_dir))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs:{path.name}"}
    for index, (lang, body) in enumerate(blocks):
        if lang == "python":
            exec(compile(body, f"{path.name}[block {index}]", "exec"), namespace)
            continue
        for command in bash_commands(body):
            out = subprocess.run(command, shell=True, executable="/bin/bash", cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=300)
            assert out.returncode == 0, f"{path.name}: `{command}` failed:\n{out.stderr[-3000:]}"
