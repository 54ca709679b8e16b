"""The compiled schema validators, cached on disk between processes.

A validator is Python code that fastjsonschema generates from a schema; generating and compiling
it costs tens of milliseconds in every process. Its compiled form is kept in
``$XDG_CACHE_HOME/reconciler`` (default ``~/.cache/reconciler``), one file per schema, named by a
digest of the schema, the fastjsonschema version and the Python bytecode version: a changed
schema or an upgrade is a new file, never a stale one.

Loading compiled code runs it, so a file is only used if this user owns it and nobody else may
write it or its directory; anything unexpected (a missing, truncated or foreign file, a read-only
home) falls back to compiling, silently. Files are written whole (a temporary file renamed).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import os
import stat
import tempfile
from pathlib import Path
from types import CodeType
from typing import Any

ENV_CACHE = "XDG_CACHE_HOME"


def cache_dir() -> Path:
    base = os.environ.get(ENV_CACHE) or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reconciler"


def _path(schema: Any, version: str) -> Path:
    key = json.dumps([schema, version, importlib.util.MAGIC_NUMBER.hex()], sort_keys=True)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return cache_dir() / f"validator-{digest}.marshal"


def _trusted(path: Path) -> bool:
    """Owned by this user, and writable by nobody else (the file and its directory)."""
    if not hasattr(os, "getuid"):
        return False  # no owners to check (Windows): never run cached code
    for p in (path.parent, path):
        info = p.lstat()
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
        if p is path and not stat.S_ISREG(info.st_mode):
            return False
    return True


def load(schema: Any, version: str) -> CodeType | None:
    """The compiled validator of ``schema`` from the cache, or None."""
    path = _path(schema, version)
    try:
        if not _trusted(path):
            return None
        code = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def store(schema: Any, version: str, code: CodeType) -> None:
    """Keep a compiled validator for the next processes; a cache that cannot be written is
    no error."""
    path = _path(schema, version)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".validator-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps(code))
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
