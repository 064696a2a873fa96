"""The code blocks of README.md and docs/ are executed, so the docs cannot drift from the code.

```bash blocks run line by line in one temporary directory per file (``make``,
``pip``, ``git``, ``cd`` and ``export`` lines are skipped; ``python -m zoo.fit``
lines get ``--trainer.max_steps 1``); ```python blocks run in order in one
namespace per file, in the same directory, after the bash blocks before them.
MNIST and CIFAR-10 commands read small fake data sets in the real formats.

A plain ``[VAR=value ...] python -m MODULE ARGS [> FILE]`` line, or ``python -c "CODE"``,
runs in this process (``runpy``, as ``python -m`` would, or ``exec``), which saves the few
seconds each new interpreter spends importing torch and Lightning; anything else goes
through the shell. A ``zoo.fit`` line that needs interpreters of its own (a multi-process
DDP run, the wandb logger's process-wide state) is checked with ``--print_config`` in this
process, so its flags cannot drift, and what it does is tested by the test named for it in
``COVERED_ELSEWHERE`` (checked to exist). A GPU recipe (a ``zoo.fit`` line with
``--trainer.accelerator gpu``) is parsed the same way on a machine without CUDA.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
import shlex
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from tests.conftest import REPO, subprocess_env
from tests.fake_data import write_fake_cifar10, write_fake_mnist

DOCS = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
SKIPPED = ("make", "pip", "git", "cd", "export")
TINY = " --trainer.max_steps 1 --trainer.enable_progress_bar false --trainer.enable_model_summary false"


IN_PROCESS = re.compile(r"^((?:[A-Z_]+=\S+ )*)python -m ([\w.]+)((?: [^|&;<>`$()]*?)?)(?: > (\S+))?$")
"""``[VAR=value ...] python -m MODULE ARGS [> FILE]`` with no other shell syntax."""
COVERED_ELSEWHERE = {
    "--trainer.strategy ddp": ("tests/test_ddp.py::test_cgan_trains_under_two_process_ddp_and_ranks_hold_identical_weights",
                               "tests/ddp_runs.py"),
    "--trainer.logger wandb": ("tests/test_fit_cli.py::test_wandb_logger_works_offline_next_to_the_csv_run_directory",
                    "tests/test_fit_cli.py"),
}
"""Flags of ``zoo.fit`` lines whose runs need interpreters of their own (a DDP launch, wandb's process-wide
singleton), the test that runs the same command for real, and the file that passes the flag (the test's own,
or the launcher it starts); in the docs their lines are parsed only."""
PYTHON_C = re.compile(r"""^python -c (?:"([^"\\$`]*)"|'([^']*)')$""")


class _Captured(io.StringIO):
    def close(self) -> None:  # a module may close sys.stdout when done; keep what it wrote
        pass


def run_in_process(command: str, cwd: Path, env: dict[str, str]) -> tuple[int, str] | None:
    """Run ``command`` in this interpreter if it is a plain ``python -m`` or ``python -c`` line;
    ``(exit code, stderr)`` as the process would give them. ``None`` when it must go through the shell."""
    code_match = PYTHON_C.match(command)
    if code_match is not None:
        source = code_match.group(1) or code_match.group(2)
        variables, argv, redirect = {}, ["-c"], None

        def target():
            exec(compile(source, "<python -c>", "exec"), {"__name__": "__main__"})
    else:
        match = IN_PROCESS.match(command)
        if match is None:
            return None
        assignments, module, args, redirect = match.groups()
        variables, argv = dict(a.split("=", 1) for a in assignments.split()), [module, *shlex.split(args)]

        def target():
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    stdout, stderr = _Captured(), _Captured()
    saved_argv, saved_env, saved_cwd = sys.argv, dict(os.environ), os.getcwd()
    code = 0
    try:
        os.environ.update({**env, **variables})
        os.chdir(cwd)
        sys.argv = argv
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                target()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            except Exception:  # noqa: BLE001 - an uncaught error: the process would print it and exit with 1
                code = 1
                stderr.write(traceback.format_exc())
    finally:
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    if redirect:
        (cwd / redirect).write_text(stdout.getvalue())
    return code, stderr.getvalue()


GPU_ONLY = "--trainer.accelerator gpu"
"""A ``zoo.fit`` line with this flag is a GPU recipe: parsed only where no CUDA device is present."""


def parse_only(command: str) -> str:
    """A ``zoo.fit`` line that needs its own interpreters (or a GPU this machine lacks) becomes its
    ``--print_config`` (the flags are parsed and the configuration built, nothing trains); other lines are
    returned as they are."""
    import torch

    gpu_recipe = GPU_ONLY in command and not torch.cuda.is_available()
    if "zoo.fit" in command and (gpu_recipe or any(flag in command for flag in COVERED_ELSEWHERE)):
        head, sep, redirect = command.partition(" > ")
        return head + " --print_config" + (sep + redirect if sep else "")
    return command


def test_lines_parsed_only_are_run_by_the_tests_named_for_them():
    for flag, (node, runner) in COVERED_ELSEWHERE.items():
        path, name = node.split("::")
        assert f"def {name}(" in (REPO / path).read_text(), f"{node} (the test that runs {flag!r}) is gone"
        if runner != path:
            assert Path(runner).with_suffix("").as_posix().replace("/", ".") in (REPO / path).read_text(), \
                f"{node} no longer starts {runner}"
        assert flag in (REPO / runner).read_text().replace('", "', " "), f"{runner} no longer passes {flag!r}"
    line = "python -m zoo.fit --model cgan --trainer.devices 2 --trainer.accelerator cpu --trainer.strategy ddp"
    assert parse_only(line) == line + " --print_config"
    assert parse_only("python -m zoo.fit --model cgan") == "python -m zoo.fit --model cgan"
    import torch

    gpu = "python -m zoo.fit --model biggan --trainer.accelerator gpu"
    assert parse_only(gpu) == (gpu if torch.cuda.is_available() else gpu + " --print_config")


def test_plain_python_m_lines_run_in_process(tmp_path):
    assert run_in_process("python -m json.tool --help", tmp_path, {}) == (0, "")
    assert run_in_process("X=1 python -m json.tool --sort-keys in.json > out.json", tmp_path, {})[0] != 0
    (tmp_path / "in.json").write_text('{"b": 1, "a": 2}')
    assert run_in_process("X=1 python -m json.tool --sort-keys in.json > out.json", tmp_path, {})[0] == 0
    assert (tmp_path / "out.json").read_text().index('"a"') < (tmp_path / "out.json").read_text().index('"b"')
    assert run_in_process("python -m json.tool x | head", tmp_path, {}) is None
    assert run_in_process("""python -c "import json; print(json.dumps(1))" """.strip(), tmp_path, {}) == (0, "")
    assert run_in_process("""python -c 'raise SystemExit(3)'""", tmp_path, {}) == (3, "")
    code, stderr = run_in_process("""python -c "1/0" """.strip(), tmp_path, {})
    assert code == 1 and "ZeroDivisionError" in stderr


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
        for command in map(parse_only, bash_commands(body)):
            result = run_in_process(command, tmp_path, env)
            if result is None:
                out = subprocess.run(command, shell=True, executable="/bin/bash", cwd=tmp_path, env=env,
                                     capture_output=True, text=True, timeout=300)
                result = out.returncode, out.stderr
            assert result[0] == 0, f"{path.name}: `{command}` failed:\n{result[1][-3000:]}"
