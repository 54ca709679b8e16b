"""CustomProperties: one CSV mapping repositories to properties, uploaded whole.

The API can neither list nor read the table back, so it is not a collection of objects: at
most one document names the file; plans compare the CSV with a baseline, in this order: the CSV
at a git ref (``--baseline REF``: the pull request's base, or the push's ``before`` commit in
CI); else the record of the last successful upload to the same org and API in ``.reconciler/``
(local runs); else there is none and the upload is ``sync (unverifiable)``. Rows are identified
by their first column; only those identifiers are ever shown, since other cells may be personal
data. The record keeps a hash per row, never the cells, for each org and API uploaded to: an
upload to one org says nothing about another.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from reconciler.errors import InputError
from reconciler.files import write_atomic
from reconciler.kinds.base import DocumentCheck
from reconciler.model import (
    CustomPropertiesChange,
    CustomPropertiesTable,
    Location,
    UploadTarget,
)
from reconciler.sources import DataError, parse_table, read_table, resolve_inside


class CustomProperties:
    name: str = "CustomProperties"
    schema: str = "custom-properties.schema.json"

    def read(self, c: DocumentCheck) -> CustomPropertiesTable | None:
        """The CSV the document names, parsed (header row, consistent columns)."""
        file = c.data.get("file")
        if not isinstance(file, str):
            return None  # the schema has said why
        try:
            target = resolve_inside(c.root, c.doc.file, file)
            table = read_table(target)
        except DataError as exc:
            at = Location(exc.file, exc.line, 1) if exc.file is not None and exc.line else None
            c.error(("file",), exc.message, at=at)
            return None
        return CustomPropertiesTable(c.at(()), target, table.header, table.rows, table.digest)

    def change(
        self,
        directory: Path,
        table: CustomPropertiesTable,
        baseline_ref: str | None,
        target: UploadTarget,
    ) -> CustomPropertiesChange:
        return baseline_change(directory, table, baseline_ref, target)

    def record_upload(
        self, directory: Path, table: CustomPropertiesTable, target: UploadTarget
    ) -> None:
        write_record(directory, table, target)

    def uploaded_digest(self, directory: Path, target: UploadTarget) -> str | None:
        try:
            entry = _entry(_uploads(directory), target)
        except InputError:
            return None
        digest = entry.get("digest") if entry else None
        return digest if isinstance(digest, str) else None


# --- the baseline ------------------------------------------------------------------------------

RECORD = Path(".reconciler") / "custom-properties.json"


def row_hashes(header: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> dict[str, str]:
    """First column -> hash of the header and the whole row (a renamed column changes rows)."""
    head = json.dumps(header, ensure_ascii=False)
    return {
        row[0]: hashlib.sha256((head + json.dumps(row, ensure_ascii=False)).encode()).hexdigest()
        for row in rows
    }


def compare(
    table: CustomPropertiesTable, before: dict[str, str], source: str
) -> CustomPropertiesChange:
    now = row_hashes(table.header, table.rows)
    added = tuple(sorted(k for k in now if k not in before))
    removed = tuple(sorted(k for k in before if k not in now))
    changed = tuple(sorted(k for k in now if k in before and before[k] != now[k]))
    return CustomPropertiesChange(
        "update" if added or removed or changed else "no-op",
        source,
        added,
        changed,
        removed,
        table.digest,
        len(table.rows),
    )


def _git_file(directory: Path, ref: str, file: Path) -> str | None:
    """The text of ``file`` at ``ref``, or None when it did not exist there."""
    try:
        top = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        verify = subprocess.run(
            ["git", "-C", top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError):
        raise InputError(f"--baseline {ref}: {directory} is not inside a git repository") from None
    if verify.returncode != 0:
        raise InputError(f"--baseline {ref}: no such commit in this repository")
    relative = file.resolve().relative_to(Path(top).resolve()).as_posix()
    shown = subprocess.run(["git", "-C", top, "show", f"{ref}:{relative}"], capture_output=True)
    if shown.returncode != 0:
        return None
    return shown.stdout.decode("utf-8-sig", errors="replace")


def baseline_change(
    directory: Path, table: CustomPropertiesTable, baseline_ref: str | None, target: UploadTarget
) -> CustomPropertiesChange:
    """The table against its baseline: a git ref, else the record of the last upload to
    ``target``, else none."""
    if baseline_ref:
        text = _git_file(directory, baseline_ref, table.file)
        if text is None:
            return compare(table, {}, f"git {baseline_ref} (no such file there)")
        try:
            parsed = parse_table(text, table.file)
        except DataError as exc:
            raise InputError(
                f"--baseline {baseline_ref}: the custom properties CSV there is unusable: "
                f"{exc.message}"
            ) from None
        return compare(table, row_hashes(parsed.header, parsed.rows), f"git {baseline_ref}")
    entry = _entry(_uploads(directory), target)
    if entry is not None:
        return compare(table, entry["rows"], f"last upload ({RECORD.as_posix()})")
    return CustomPropertiesChange("sync", "none", digest=table.digest, rows=len(table.rows))


def _uploads(directory: Path) -> list[dict[str, Any]]:
    """The recorded uploads, one per org and API. A record of the first format (one upload,
    no org or API) names no target: the next upload anywhere is unverifiable, and harmless."""
    record = directory / RECORD
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        raise InputError(f"{record}: damaged; delete it to plan without a baseline") from None
    if isinstance(data, dict) and "uploads" not in data and "rows" in data:
        return []  # the first format
    uploads = data.get("uploads") if isinstance(data, dict) else None
    if not isinstance(uploads, list) or not all(_well_formed(u) for u in uploads):
        raise InputError(f"{record}: damaged; delete it to plan without a baseline")
    return uploads


def _well_formed(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("rows"), dict)
        and all(isinstance(v, str) for v in entry["rows"].values())
    )


def _entry(uploads: list[dict[str, Any]], target: UploadTarget) -> dict[str, Any] | None:
    return next((u for u in uploads if target.matches(u)), None)


def write_record(directory: Path, table: CustomPropertiesTable, target: UploadTarget) -> None:
    """After a successful upload to ``target``: remember its row hashes (never the cells) for
    the next plan against the same org and API; the records of other targets stay."""
    try:
        others = [u for u in _uploads(directory) if not target.matches(u)]
    except InputError:  # a damaged record: this upload's is the one worth keeping
        others = []
    entry = {
        "org": target.org,
        "api": target.api,
        "digest": table.digest,
        "rows": row_hashes(table.header, table.rows),
    }
    uploads = sorted([*others, entry], key=lambda u: (str(u.get("org")), str(u.get("api"))))
    text = json.dumps({"uploads": uploads}, indent=1, sort_keys=True) + "\n"
    write_atomic(directory / RECORD, text)
