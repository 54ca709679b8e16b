"""Which desired-state directory a command works on: the one given, else the nearest one with a
``reconciler.yaml`` at or above the working directory, the way git finds ``.git``.

The search stops at the top of a git repository (a folder holding ``.git``): a settings file
above the repository belongs to something else. With none at or above, the working directory is
the desired state (a bare folder of YAML documents), unless desired-state directories lie below
it: then reading all of them as one would only bury the user in errors, so the command names them.
"""

from __future__ import annotations

import os
import shlex
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


def below(start: Path) -> list[Path]:
    """The desired-state directories below ``start`` (not ``start`` itself), shallowest first:
    a folder holding a reconciler.yaml, not searched further. Dot-entries are skipped, as the
    resource files skip them."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(start):
        base = Path(dirpath)
        if base != start and CONFIG_NAME in filenames:
            found.append(base)
            dirnames.clear()
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return sorted(found, key=lambda path: (len(path.parts), path))


def relative(path: Path, cwd: Path) -> str:
    """``path`` as a user would type it from ``cwd`` (``..``, ``gov``)."""
    try:
        return os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        return str(path)


def desired_dir(given: str | None, command: str, ctx: Context, *, anywhere: bool = False) -> str:
    """The directory to use, as the command should quote it: DIR as given, else the nearest
    directory with a reconciler.yaml (said on stderr when it is not the current one). A file
    given as DIR is an error whose hint names the directory that holds it. With no DIR and no
    reconciler.yaml at or above, desired-state directories below make it an error that names
    them, unless the command works ``anywhere`` (its flags say all it needs)."""
    cwd = ctx.cwd
    if given is not None:
        path = cwd / given
        if path.is_file():
            holder = nearest(path.parent) or path.parent
            shown = relative(holder, cwd)
            place = "the current directory" if shown == "." else shown  # not "is .: ..."
            raise InputError(
                f"{given}: is a file, not a directory; the desired-state directory that holds "
                f"it is {place}: reconciler {command} {shlex.quote(shown)}"
            )
        return given
    found = nearest(cwd)
    if found is None and not anywhere:
        _refuse_below(cwd, command)
    if found is None or found == cwd:
        return "."
    print(
        f"Using {relative(found, cwd)} ({found}): the nearest directory with a {CONFIG_NAME}",
        file=ctx.stderr,
    )
    return str(found)


SHOWN_BELOW = 3  # desired-state directories named; the rest are counted


def _refuse_below(cwd: Path, command: str) -> None:
    """Stop when desired-state directories lie below ``cwd``: the user is above the one meant."""
    found = [relative(path, cwd) for path in below(cwd)]
    if not found:
        return
    named = ", ".join(found[:SHOWN_BELOW])
    if len(found) > SHOWN_BELOW:
        named += f" and {len(found) - SHOWN_BELOW} more"
    which = (
        f"directories below are {named}: pass one as DIR"
        if len(found) > 1
        else f"directory below is {named}: pass it as DIR"
    )
    raise InputError(
        f"no {CONFIG_NAME} at or above the current directory; the desired-state {which} "
        f"(reconciler {command} {shlex.quote(found[0])})"
    )
