"""Data files that YAML documents point at: allowed-value lists and the custom properties CSV.

Paths are relative to the YAML file and must stay inside the directory after resolving symlinks.
CSV is RFC 4180 (the csv module, strict), UTF-8 with the BOM stripped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.load import LoadError, decode_utf8

MAX_DATA_BYTES = 64 * 1024 * 1024


class DataError(Exception):
    """A problem with a data file: ``line`` 0 means the reference itself is wrong."""

    def __init__(self, message: str, file: Path | None = None, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line


def resolve_inside(root: Path, yaml_file: Path, relative: str) -> Path:
    """The data file a YAML file refers to, refusing anything outside ``root``."""
    candidate = Path(os.path.normpath((yaml_file.parent / relative).absolute()))
    resolved = candidate.resolve()
    root_resolved = root.resolve()
    if not resolved.is_relative_to(root_resolved):
        lexically_inside = candidate.is_relative_to(root.absolute()) or candidate.is_relative_to(
            root_resolved
        )
        how = " through a symlink" if lexically_inside else ""
        raise DataError(f'"{relative}" resolves{how} outside the directory')
    if not resolved.is_file():
        raise DataError(f'"{relative}" does not exist or is not a file')
    return resolved


def _read(path: Path) -> tuple[str, bytes]:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_DATA_BYTES + 1)
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror or exc}", path) from None
    if len(raw) > MAX_DATA_BYTES:
        raise DataError(f"file is larger than {MAX_DATA_BYTES // (1024 * 1024)} MiB", path)
    try:
        return decode_utf8(raw, path), raw
    except LoadError as exc:
        raise DataError(exc.message, path, exc.line) from None


@dataclass
class Values:
    """Values read from a file, with what was dropped on the way."""

    values: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # line of each kept value
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)  # value, first, repeat
    empty_lines: list[int] = field(default_factory=list)


def _keep(result: Values, seen: dict[str, int], value: str, line: int) -> None:
    if not value:
        result.empty_lines.append(line)
        return
    first = seen.get(value)
    if first is not None:
        result.duplicates.append((value, first, line))
        return
    seen[value] = line
    result.values.append(value)
    result.lines.append(line)


def read_values(path: Path, column: str | None) -> Values:
    """Allowed values: one per line of a ``.txt`` file, or one CSV column by its header."""
    text, _ = _read(path)
    result = Values()
    seen: dict[str, int] = {}
    suffix = path.suffix.lower()
    if suffix == ".txt":
        for number, value in enumerate(text.splitlines(), start=1):
            _keep(result, seen, value, number)
        return result
    if suffix != ".csv":
        raise DataError(f"{path.name}: allowed values are read from a .csv or a .txt file")
    header, rows = _parse_csv(text, path)
    if column is None:
        raise DataError('a CSV file needs "column": the header of the column holding the values')
    if column not in header:
        raise DataError(
            f'column "{column}" is not in the header of {path.name} (columns: {", ".join(header)})'
        )
    index = header.index(column)
    for line, row in rows:
        _keep(result, seen, row[index], line)
    return result


def _parse_csv(text: str, path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        start = 1
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not row or row == [""]:
                continue  # blank line
            if header is None:
                header = row
                if any(not h.strip() for h in header):
                    raise DataError("the header row has an empty column name", path, line)
                dup = next((h for h in header if header.count(h) > 1), None)
                if dup is not None:
                    raise DataError(f'the header row repeats the column "{dup}"', path, line)
                continue
            if len(row) != len(header):
                raise DataError(
                    f"row has {len(row)} field{'s' if len(row) != 1 else ''} "
                    f"but the header has {len(header)}",
                    path,
                    line,
                )
            rows.append((line, row))
    except csv.Error as exc:
        raise DataError(f"CSV syntax error: {exc}", path, reader.line_num) from None
    if header is None:
        raise DataError("the CSV file is empty: it needs a header row", path, 1)
    return header, rows


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]
    digest: str


def read_table(path: Path) -> Table:
    """The custom properties CSV: a header and at least one row, unique first-column values."""
    text, raw = _read(path)
    header, rows = _parse_csv(text, path)
    if not rows:
        raise DataError("the CSV file has a header but no data row", path, 1)
    seen: dict[str, int] = {}
    for line, row in rows:
        first = row[0]
        if not first:
            raise DataError(f'the first column ("{header[0]}") is empty', path, line)
        if first in seen:
            raise DataError(
                f'"{first}" appears twice in the first column ("{header[0]}"), '
                f"first at line {seen[first]}; rows are identified by it",
                path,
                line,
            )
        seen[first] = line
    return Table(
        header=tuple(header),
        rows=tuple(tuple(r) for _, r in rows),
        lines=tuple(line for line, _ in rows),
        digest="sha256:" + hashlib.sha256(raw).hexdigest(),
    )
