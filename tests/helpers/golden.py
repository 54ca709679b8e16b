"""Golden files: an exact comparison, or with ``REGENERATE=1`` a rewrite to read before committing.

Regeneration is refused when ``CI`` is set: CI checks the golden files and never rewrites them (a
rewrite passes whatever the output has become). ``tests/conftest.py`` stops such a session before
it starts; ``regenerating()`` refuses again wherever a test would rewrite a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest


def refusal(environ: Mapping[str, str] = os.environ) -> str | None:
    """Why regeneration is refused here, or None."""
    if environ.get("REGENERATE") and "CI" in environ:
        return (
            "REGENERATE is refused when CI is set: CI checks the golden files, it never rewrites "
            "them. Regenerate locally, read the diff, and commit it."
        )
    return None


def regenerating(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether to rewrite golden files instead of comparing; fails the test when CI is set."""
    why = refusal(environ)
    if why is not None:
        pytest.fail(why, pytrace=False)
    return bool(environ.get("REGENERATE"))


def check_golden(path: Path, actual: str) -> None:
    """Exact comparison with a golden file; ``REGENERATE=1`` rewrites it instead.

    Outside REGENERATE a missing golden file fails the test (it is never taken as "nothing to
    compare"). Under REGENERATE the comparison is with what was just written: every test that
    calls this also asserts something of its own about the output, which no rewrite can pass.
    """
    if regenerating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual + "\n", encoding="utf-8")
    elif not path.is_file():
        pytest.fail(f"no golden file {path}: run with REGENERATE=1 and read it", pytrace=False)
    assert actual + "\n" == path.read_text(encoding="utf-8")
