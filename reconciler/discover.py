"""Which files of a desired-state directory are resource files, and which of them may be read.

Like the data files they point at (``sources.resolve_inside``), YAML files are confined to the
directory: one that resolves outside it through a symbolic link is refused, and so is one that
is not a regular file (a FIFO would hang the read, a device never end it).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from reconciler.documents import not_regular
from reconciler.settings import CONFIG_NAME

YAML_SUFFIXES = (".yaml", ".yml")


def _excluded(relative: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatchcase(relative, pattern):
            return True
        if pattern.endswith("/**") and (relative + "/").startswith(pattern[:-2]):
            return True
    return False


def resource_files(directory: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` below ``directory``, sorted, except the config, dot-entries
    (``.github``, ``.reconciler``) and the config's ``exclude`` globs."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            if name.startswith(".") or not name.endswith(YAML_SUFFIXES):
                continue
            path = base / name
            relative = path.relative_to(directory).as_posix()
            if relative == CONFIG_NAME or _excluded(relative, exclude):
                continue
            found.append(path)
    return found


def refusal(directory: Path, path: Path) -> str | None:
    """Why a found file must not be read, or None: it resolves outside ``directory`` (through
    a symbolic link), or it is not a regular file. Dangling links are left to the read."""
    try:
        resolved = path.resolve()
        mode = resolved.stat().st_mode
    except (OSError, RuntimeError):  # missing, or a loop of links: the read says so
        return None
    if not resolved.is_relative_to(directory.resolve()):
        return (
            "resolves through a symbolic link outside the directory; only files inside it are read"
        )
    kind = not_regular(mode)
    if kind is not None:
        return f"is {kind}, not a regular file; only regular files are read"
    return None
