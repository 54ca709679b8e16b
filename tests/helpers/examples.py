"""A copy of this repository's ``examples/`` as a fresh clone has it, and desired-state files
written from literal text."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What running the README's commands in this checkout leaves in examples/, git-ignored: the
# embedded sandbox's database and the record of the last upload. A copy carrying them would
# plan against another run's state.
LOCAL_STATE = shutil.ignore_patterns(".reconciler", "__pycache__")


def copy_examples(target: Path) -> Path:
    """``examples/`` copied to ``target`` without its local state; returns ``target``."""
    shutil.copytree(ROOT / "examples", target, ignore=LOCAL_STATE)
    return target


def write(root: Path, files: dict[str, str]) -> Path:
    """Files of a desired-state directory, by their path below ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
