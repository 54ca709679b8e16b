"""Writing a tree of files atomically: all of it or none of it."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import InputError


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old content or the new, never half of it."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory; name a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, what: str) -> Any:
    """A JSON file, or a one-line InputError naming the file and saying what it should be."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what} file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: JSON, digit limit
        raise InputError(f"{path}: not a {what} ({exc})") from None
    except RecursionError:
        raise InputError(
            f"{path}: malformed {what.removeprefix('reconciler ')} (nested too deep)"
        ) from None


def visible_entries(directory: Path) -> list[Path]:
    """A directory's entries other than dot-entries (``.git``, ``.github``, ``.reconciler``)."""
    return sorted(p for p in directory.iterdir() if not p.name.startswith("."))


def check_writable(target: Path, *, force: bool) -> None:
    """A directory to write a tree into: missing, empty, holding only dot-entries (a fresh git
    repository), or anything with ``force``."""
    if target.exists() and not target.is_dir():
        raise InputError(f"{target}: exists and is not a directory")
    if target.is_dir() and visible_entries(target) and not force:
        raise InputError(
            f"{target}: exists and is not empty (only dot-entries such as .git may be there); "
            "pass --force to replace its files"
        )


def write_tree(target: Path, files: Mapping[str, str], *, force: bool) -> None:
    """Write ``files`` (relative path -> text) under ``target``.

    Everything is written to a temporary directory beside the target first; only a complete
    tree is moved into place, so a failed export leaves no half-written directory. Into an
    existing directory (one with only dot-entries, or any with ``force``) the files are moved
    one by one: those the export also writes are replaced, other files there are kept.
    """
    check_writable(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if not target.exists() or not any(target.iterdir()):
            if target.exists():
                target.rmdir()
            os.replace(staging, target)
            return
        for relative in files:
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
