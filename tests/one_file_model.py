"""The one-file model of docs/architecture.md#adding-a-model, written out exactly as the guide shows it.

``write_one_file_model(folder)`` copies the guide's ``mygan.py`` block into ``folder/mygan.py``; a process
with ``folder`` on ``PYTHONPATH`` then uses it as a model outside the package (``--model mygan.MyGAN``).
Used by ``tests/test_one_file_model.py`` and the shared DDP launch of ``tests/test_ddp.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO

GUIDE = REPO / "docs" / "architecture.md"
CLASS_PATH = "mygan.MyGAN"


def guide_file() -> str:
    """The ``mygan.py`` block of the guide (a ```py fence, so the docs test does not register it in-process)."""
    text = GUIDE.read_text()
    section = text[text.index("## Adding a model"):]
    match = re.search(r'^```py\n("""mygan\.py.*?)^```', section, re.S | re.M)
    assert match, "docs/architecture.md#adding-a-model lost its mygan.py block"
    return match.group(1)


def write_one_file_model(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mygan.py"
    path.write_text(guide_file())
    return path
