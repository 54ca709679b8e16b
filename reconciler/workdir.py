"""Which desired-state directory a command works on: the one given, else the nearest one with a
``reconciler.yaml`` at or above the working directory, the way git finds ``.git``.

The search stops at the top of a git repository (a folder holding ``.git``): a settings file
above the repository belongs to something else.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.context import Context
from reconciler.errors import InputError
from reconciler.settings import CONFIG_NAME


def nearest(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds a reconciler.yaml, or None."""
    for directory in (start, *start.parents):
        if (directory / CONFIG_NAME).exists():
            return directory
        if (directory / ".git").exists():
            return None
    return None


def relative(path: Path, cwd: Path) -> str:
    """``path`` as a user would type it from ``cwd`` (``..``, ``gov``)."""
    try:
        return os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        return str(path)


def desired_dir(given: str | None, command: str, ctx: Context) -> str:
    """The directory to use, as the command should quote it: DIR as given, else the nearest
    directory with a reconciler.yaml (said on stderr when it is not the current one). A file
    given as DIR is an error whose hint names the directory that holds it."""
    cwd = ctx.cwd
    if given is not None:
        path = cwd / given
        if path.is_file():
            holder = nearest(path.parent) or path.parent
            shown = relative(holder, cwd)
            raise InputError(
                f"{given}: is a file, not a directory; the desired-state directory that holds "
                f"it is {shown}: reconciler {command} {shown}"
            )
        return given
    found = nearest(cwd)
    if found is None or found == cwd:
        return "."
    print(
        f"Using {relative(found, cwd)} ({found}): the nearest directory with a {CONFIG_NAME}",
        file=ctx.stderr,
    )
    return str(found)
