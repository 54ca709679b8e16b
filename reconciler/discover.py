"""Which files of a desired-state directory are resource files."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

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
