"""Artifacts of other runs, for the live snapshot and the state runs carry over: only the
newest of a name made on a branch by a trusted run, downloaded (the storage never sees the
token) and unpacked without leaving its directory or following links."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reconciler.errors import InputError
from reconciler.http.github import GitHub, as_int

TRUSTED_EVENTS = frozenset({"push", "schedule", "workflow_dispatch"})
ACTIONS_READ = "the job needs permissions: actions: read"


@dataclass(frozen=True)
class Artifact:
    id: int
    name: str
    run_id: int
    created_at: str
    download_url: str


def trusted_artifact(gh: GitHub, name: str, branch: str) -> Artifact | None:
    """The newest unexpired artifact called ``name`` made on ``branch`` of this repository by a
    run of a trusted event (push, schedule, workflow_dispatch): never by a pull request, whose
    code anyone who opens one controls."""
    candidates = []
    for a in gh.pages(
        gh.url("/actions/artifacts"), params={"name": name}, key="artifacts", hint=ACTIONS_READ
    ):
        run = a.get("workflow_run") or {}
        if a.get("name") != name or a.get("expired") or not isinstance(run, dict):
            continue
        if run.get("head_branch") != branch:
            continue
        if run.get("head_repository_id") != run.get("repository_id"):
            continue
        candidates.append(a)
    candidates.sort(key=lambda a: (str(a.get("created_at", "")), as_int(a.get("id"))), reverse=True)
    for a in candidates:
        run_id = as_int((a.get("workflow_run") or {}).get("id"))
        run = gh.json("GET", gh.url(f"/actions/runs/{run_id}"), hint=ACTIONS_READ)
        if not isinstance(run, dict) or run.get("event") not in TRUSTED_EVENTS:
            continue
        if run.get("head_branch") != branch:
            continue
        return Artifact(
            as_int(a.get("id")),
            name,
            run_id,
            str(a.get("created_at", "")),
            str(a.get("archive_download_url") or gh.url(f"/actions/artifacts/{a.get('id')}/zip")),
        )
    return None


def download(gh: GitHub, artifact: Artifact) -> bytes:
    """The artifact's zip archive."""
    return gh.download(artifact.download_url, hint=ACTIONS_READ)


def extract(data: bytes, into: Path) -> list[Path]:
    """Unpack a zip archive into ``into``, refusing paths that leave it, links in the archive,
    and existing links under ``into`` that a path would go through (a file or folder replaced by
    a symbolic link is never written through). Every entry is checked before anything is
    written; each file is written as a new file that replaces the entry of its name."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputError("the artifact is not a zip archive") from None
    with archive:
        entries = []
        for info in archive.infolist():
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if not parts or info.filename.startswith("/") or ".." in parts or ":" in parts[0]:
                raise InputError(f"the artifact holds an unsafe path: {info.filename!r}")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise InputError(f"the artifact holds a symbolic link: {info.filename!r}")
            _refuse_links(into, parts, info.filename)
            entries.append((info, into.joinpath(*parts)))
        written = []
        for info, target in entries:
            if info.is_dir():
                _mkdirs(into, target)
                continue
            _mkdirs(into, target.parent)
            with archive.open(info) as src:
                _write_new(target, src.read(), info.filename)
            written.append(target)
    return written


def _refuse_links(into: Path, parts: tuple[str, ...], name: str) -> None:
    """InputError if ``into/parts...`` goes through an existing symbolic link, or lands on one."""
    path = into
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise InputError(
                f"{path}: is a symbolic link; the artifact entry {name!r} would be written "
                "through it (remove it, or download into an empty directory)"
            )


def _mkdirs(into: Path, directory: Path) -> None:
    """Make ``directory`` and its parents under ``into``, none of them through a link."""
    if directory == into:
        into.mkdir(parents=True, exist_ok=True)
        return
    _refuse_links(into, directory.relative_to(into).parts, directory.relative_to(into).as_posix())
    directory.mkdir(parents=True, exist_ok=True)


def _write_new(target: Path, content: bytes, name: str) -> None:
    """Write ``target`` as a new file that replaces whatever entry had its name: never through
    a link (symbolic or hard) made there since the check."""
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(
            f"{target}: cannot write the artifact entry {name!r}: {exc.strerror}"
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(
            f"{target}: cannot write the artifact entry {name!r}: {exc.strerror}"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
