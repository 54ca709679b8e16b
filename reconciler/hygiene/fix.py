"""Rewrite a values file to the canonical forms that the hygiene check suggests.

Only the cells that change are rewritten; every other byte of the file (BOM, line endings,
quoting, other columns, blank lines, a missing final newline) is kept as it was. A CSV cell that
was quoted stays quoted; one that needs quotes after the change gets them.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import InputError
from reconciler.hygiene import lookalikes
from reconciler.hygiene import variants as hygiene
from reconciler.sources import DataError, csv_header, read_values

_BOM = b"\xef\xbb\xbf"
_PRIORITY = {"variant": 0, "near-duplicate": 1, "characters": 2, "style": 3, "shape": 4}
_GUESSES = ("near-duplicate", "shape")  # rewritten only when asked: a guess


@dataclass(frozen=True)
class Rewrite:
    line: int
    before: str
    after: str
    rule: str


@dataclass(frozen=True)
class Fixed:
    """A values file and what fixing it changes."""

    old: str  # the file's text (after the BOM, if any)
    new: str
    bom: bool
    rewrites: tuple[Rewrite, ...]  # one per rewritten cell or line
    left: tuple[hygiene.Finding, ...]  # near-duplicates and shape findings not rewritten
    values: tuple[str, ...]  # the distinct values the findings index
    repeats: int  # rewritten values that now equal another value of the file

    def encoded(self) -> bytes:
        return (_BOM if self.bom else b"") + self.new.encode("utf-8")


def replacements(
    values: Sequence[str], style: hygiene.Style, *, near_duplicates: bool, shapes: bool = False
) -> tuple[dict[str, tuple[str, str]], list[hygiene.Finding]]:
    """value -> (canonical form, rule), and the guesses left alone (near-duplicates and shape
    findings, unless asked for)."""
    chosen: dict[str, tuple[str, str]] = {}
    left = []
    findings = hygiene.check(values, style)
    wanted = {"near-duplicate": near_duplicates, "shape": shapes}
    for f in sorted(findings, key=lambda f: (f.index, _PRIORITY[f.rule])):
        if f.rule in _GUESSES and not wanted[f.rule]:
            left.append(f)
            continue
        chosen.setdefault(values[f.index], (f.suggestion, f.rule))
        for j in f.more:  # a large variant group is one finding: its other values too
            chosen.setdefault(values[j], (f.suggestion, f.rule))
    return chosen, left


def fix(
    path: Path,
    column: str | None,
    style: hygiene.Style,
    *,
    near_duplicates: bool = False,
    shapes: bool = False,
    name: str | None = None,
) -> Fixed:
    """What fixing ``path`` would change; raises InputError (one line, naming the file as
    ``name``) for a file reconciler cannot read."""
    name = name or str(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt"):
        raise InputError(f"{name}: fix-values rewrites a .csv or a .txt file")
    if suffix == ".txt" and column is not None:
        raise InputError(f"{name}: --column is only used with a .csv file")
    try:
        if suffix == ".csv" and column is None:
            header = ", ".join(csv_header(path))
            raise InputError(
                f"{name}: a CSV file needs --column NAME, the column holding the values "
                f"(columns: {header})"
            )
        read_values(path, column)  # the same checks and messages as validate
    except DataError as exc:
        raise InputError(
            f"{name}:{exc.line}: {exc.message}" if exc.line else f"{name}: {exc.message}"
        ) from None
    raw = path.read_bytes()
    bom = raw.startswith(_BOM)
    text = raw[len(_BOM) :].decode("utf-8") if bom else raw.decode("utf-8")
    cells = list(_txt_cells(text)) if suffix == ".txt" else list(_csv_cells(text, column or ""))
    values = list(dict.fromkeys(v for _, _, _, _, v in cells if v))
    chosen, left = replacements(values, style, near_duplicates=near_duplicates, shapes=shapes)
    pieces, rewrites, last = [], [], 0
    for line, start, end, quoted, value in cells:
        if value not in chosen:
            continue
        after, rule = chosen[value]
        pieces += [text[last:start], _serialize(after, quoted) if suffix == ".csv" else after]
        last = end
        rewrites.append(Rewrite(line, value, after, rule))
    pieces.append(text[last:])
    kept = set(values) - set(chosen)
    new_values = [after for after, _ in chosen.values()]
    repeats = len(new_values) - len(set(new_values) - kept)
    return Fixed(text, "".join(pieces), bom, tuple(rewrites), tuple(left), tuple(values), repeats)


def _txt_cells(text: str) -> Iterator[tuple[int, int, int, bool, str]]:
    """(line, start, end, quoted, value) of each line, as ``read_values`` splits them."""
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        value = line.splitlines()[0] if line.splitlines() else ""
        yield number, offset, offset + len(value), False, value
        offset += len(line)


def _csv_cells(text: str, column: str) -> Iterator[tuple[int, int, int, bool, str]]:
    """(line, start, end, quoted, value) of the column's cell in each data row."""
    index: int | None = None
    for line, fields in _records(text):
        if index is None:
            index = [_value(text, f) for f in fields].index(column)
            continue
        start, end, quoted = fields[index]
        yield line, start, end, quoted, _value(text, fields[index])


def _value(text: str, span: tuple[int, int, bool]) -> str:
    start, end, quoted = span
    if quoted:
        return text[start + 1 : end - 1].replace('""', '"')
    return text[start:end]


def _records(text: str) -> Iterator[tuple[int, list[tuple[int, int, bool]]]]:
    """RFC 4180 records as (first line, field spans); blank lines are skipped, as csv does.

    The file has passed ``read_values`` (the csv module, strict), so it is well-formed.
    """
    i, n, line = 0, len(text), 1
    while i < n:
        if text[i] in "\r\n":
            i, line = _end_of_line(text, i, line)
            continue
        start_line = line
        fields = []
        while True:
            if i < n and text[i] == '"':
                k = i + 1
                while True:
                    k = text.index('"', k)
                    if text.startswith('""', k):
                        k += 2
                        continue
                    break
                body = text[i : k + 1]
                line += body.count("\n") + body.count("\r") - body.count("\r\n")
                fields.append((i, k + 1, True))
                i = k + 1
            else:
                j = i
                while j < n and text[j] not in ",\r\n":
                    j += 1
                fields.append((i, j, False))
                i = j
            if i < n and text[i] == ",":
                i += 1
                continue
            break
        yield start_line, fields
        if i < n:
            i, line = _end_of_line(text, i, line)


def _end_of_line(text: str, i: int, line: int) -> tuple[int, int]:
    return (i + 2 if text.startswith("\r\n", i) else i + 1), line + 1


def _serialize(value: str, quoted: bool) -> str:
    if quoted or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def diff(fixed: Fixed, name: str) -> list[str]:
    """A unified diff of the change, invisible characters shown escaped."""
    old = [lookalikes.escape(s) for s in fixed.old.splitlines()]
    new = [lookalikes.escape(s) for s in fixed.new.splitlines()]
    return list(difflib.unified_diff(old, new, name, f"{name} (fixed)", n=0, lineterm=""))


def write(path: Path, fixed: Fixed) -> None:
    """Replace the file atomically, keeping its permissions."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(fixed.encoded())
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
