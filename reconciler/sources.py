"""Data files that YAML documents point at: allowed-value lists and the custom properties CSV.

Paths are relative to the YAML file and must stay inside the directory after resolving symlinks.
CSV is RFC 4180 (the csv module, strict), UTF-8 with the BOM stripped.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.documents import LoadError, decode_utf8, not_regular, open_regular, read_capped

MAX_DATA_BYTES = 64 * 1024 * 1024


class DataError(Exception):
    """A problem with a data file: ``line`` 0 means the reference itself is wrong, and ``key``
    then names the key of the reference at fault (``("column",)``, ``("where", "status")``)."""

    def __init__(
        self, message: str, file: Path | None = None, line: int = 0, key: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.key = key


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
    try:
        kind = not_regular(resolved.stat().st_mode)
    except OSError:
        raise DataError(f'"{relative}" does not exist or is not a file') from None
    if kind is not None:  # a FIFO would hang the read, a device never end it
        raise DataError(f'"{relative}" is {kind}, not a regular file')
    return resolved


def _read(path: Path) -> tuple[str, bytes]:
    try:
        with open_regular(path) as fh:  # a FIFO or a device is refused, never opened to read
            raw = read_capped(fh, MAX_DATA_BYTES)
    except LoadError as exc:
        raise DataError(exc.message, path) from None
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror or exc}", path) from None
    if len(raw) > MAX_DATA_BYTES:
        raise DataError(f"file is larger than {MAX_DATA_BYTES // (1024 * 1024)} MiB", path)
    try:
        return decode_utf8(raw, path), raw
    except LoadError as exc:
        raise DataError(exc.message, path, exc.line) from None


def _no_lines() -> list[int]:
    return []


@dataclass(frozen=True)
class Unmatched:
    """A value of a ``where`` condition that no row holds, and the closest one that some does."""

    column: str
    value: str
    hint: str | None
    negate: bool  # of a ``not``: the condition drops nothing, rather than keeps nothing


@dataclass
class Values:
    """Values read from a file, with what was dropped on the way."""

    values: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)  # value, first, repeat
    empty_lines: list[int] = field(default_factory=list)
    # The line of each of ``values``, computed only when called (a message needs it).
    lines: Callable[[], list[int]] = field(default=_no_lines, repr=False)
    rows: int = 0  # data rows of a CSV (lines of a TXT) read, before any filter
    dropped: int = 0  # rows that a ``where`` filter dropped; ``rows - dropped`` were kept
    unmatched: list[Unmatched] = field(default_factory=list)  # values of ``where``: typos?


@dataclass(frozen=True)
class RowFilter:
    """One condition of ``where``: the CSV rows whose ``column`` is one of ``values`` (or, with
    ``negate``, none of them). Case and surrounding white space of the cell are ignored."""

    column: str
    values: tuple[str, ...]
    negate: bool = False

    @property
    def folded(self) -> frozenset[str]:
        return frozenset(fold(v) for v in self.values)


def fold(cell: str) -> str:
    """How a filter compares a cell with a wanted value: ``Retired``, ``RETIRED`` and
    ``retired `` are one value."""
    return cell.strip().casefold()


def _collect(values: list[str], lines: Callable[[], list[int]]) -> Values:
    """Drop empty and repeated values. The common case (nothing to drop) touches no line numbers."""
    if "" not in values and len(set(values)) == len(values):
        return Values(values, lines=lines)
    result = Values()
    first: dict[str, int] = {}
    for value, line in zip(values, lines(), strict=True):
        if not value:
            result.empty_lines.append(line)
        elif value in first:
            result.duplicates.append((value, first[value], line))
        else:
            first[value] = line
            result.values.append(value)
    kept = list(first.values())
    result.lines = lambda: kept
    return result


def read_values(path: Path, column: str | None, where: Sequence[RowFilter] = ()) -> Values:
    """Allowed values: one per line of a ``.txt`` file, or one CSV column by its header.

    ``where``: only the CSV rows that meet every condition count, before repeats and empty
    cells are looked for; the values themselves are returned exactly as written.
    """
    text, _ = _read(path)
    suffix = path.suffix.lower()
    if suffix == ".txt":
        if where:
            raise DataError("is only used with a .csv file", key=("where",))
        values = text.splitlines()
        got = _collect(values, lambda: list(range(1, len(values) + 1)))
        got.rows = len(values)
        return got
    if suffix != ".csv":
        raise DataError(f"{path.name}: allowed values are read from a .csv or a .txt file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next((row for row in reader if row), None)
        if header is None:
            raise DataError("the CSV file is empty: it needs a header row", path, 1)
        _check_header(header, path, text)
        if column is None:
            raise DataError(
                'a CSV file needs "column": the header of the column holding the values',
                key=("column",),
            )
        if column not in header:
            raise DataError(_unknown_column(column, header, path), key=("column",))
        for condition in where:
            if condition.column not in header:
                raise DataError(
                    _unknown_column(condition.column, header, path),
                    key=("where", condition.column),
                )
        index, width = header.index(column), len(header)
        if where:
            return _filtered(reader, text, header, index, where, path)
        cells = _one_column(text, reader.line_num) if width == 1 else None
        if cells is None:
            # One pass that keeps only the needed cell of each row: 100,000 rows in ~40 ms.
            cells = [row[index] if len(row) == width else None for row in reader if row]
    except csv.Error as exc:
        raise DataError(f"CSV syntax error: {exc}", path, reader.line_num) from None
    if None in cells:
        _parse_csv(text, path)  # raises the located error of the short or long row
    parsed = _Csv(header, [], text)
    got = _collect(cells, parsed.lines)  # type: ignore[arg-type]
    got.rows = len(cells)
    return got


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's header row, checked as ``read_values`` checks them."""
    text, _ = _read(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next((row for row in reader if row), None)
    except csv.Error as exc:
        raise DataError(f"CSV syntax error: {exc}", path, reader.line_num) from None
    if header is None:
        raise DataError("the CSV file is empty: it needs a header row", path, 1)
    _check_header(header, path, text)
    return header


def _one_column(text: str, header_lines: int) -> list[str | None] | None:
    """The cells of a one-column CSV below its header (its first ``header_lines`` lines), as
    the csv module reads them, in one split (a list of IDs, the common file: 100,000 rows in
    a few ms); None where a character CSV treats specially occurs (a quote, a comma, a carriage
    return, NUL), and the csv module must read it. Blank lines are skipped, as it does."""
    if any(c in text for c in '",\r\0'):
        return None
    lines = text.split("\n")
    del lines[:header_lines]
    cells: list[str | None] = [*filter(None, lines)]
    return cells


def _unknown_column(column: str, header: list[str], path: Path) -> str:
    message = f'column "{column}" is not in the header of {path.name}'
    # exports change the case of headers (Status, STATUS): the same name in another case first
    hint = [h for h in header if fold(h) == fold(column)][:1]
    hint = hint or difflib.get_close_matches(column, header, n=1)
    if hint:
        return f'{message}; did you mean "{hint[0]}"?'
    return f"{message} (columns: {', '.join(header)})"


def _filtered(
    reader: Iterator[list[str]],
    text: str,
    header: list[str],
    index: int,
    where: Sequence[RowFilter],
    path: Path,
) -> Values:
    """The values of the rows that meet every condition of ``where`` (the reader is past the
    header), and the values of ``where`` that no row holds."""
    tests = [(header.index(c.column), c.folded, c.negate, set[str]()) for c in where]
    width = len(header)
    cells: list[str] = []
    kept: list[int] = []  # the index of each kept row among the data rows
    rows = 0
    for row in reader:
        if not row:
            continue
        if len(row) != width:
            _parse_csv(text, path)  # raises the located error of the short or long row
            raise DataError(f"row has {len(row)} fields but the header has {width}", path)
        keep = True
        for i, wanted, negate, seen in tests:
            cell = fold(row[i])
            seen.add(cell)
            keep = keep and (cell in wanted) != negate
        if keep:
            cells.append(row[index])
            kept.append(rows)
        rows += 1
    parsed = _Csv(header, [], text)

    def lines() -> list[int]:
        every = parsed.lines()
        return [every[i] for i in kept]

    got = _collect(cells, lines)
    got.rows, got.dropped = rows, rows - len(kept)
    for condition, (_, _, _, seen) in zip(where, tests, strict=True):
        for value in condition.values:
            if fold(value) not in seen:
                hint = difflib.get_close_matches(fold(value), sorted(seen), n=1)
                got.unmatched.append(
                    Unmatched(condition.column, value, hint[0] if hint else None, condition.negate)
                )
    return got


@dataclass
class _Csv:
    header: list[str]
    rows: list[list[str]]
    text: str

    def lines(self) -> list[int]:
        """The line each data row starts on (computed only when a message needs it)."""
        reader = csv.reader(io.StringIO(self.text, newline=""), strict=True)
        starts: list[int] = []
        start = 1
        for row in reader:
            if row:  # a blank line is []; a line holding "" is a row
                starts.append(start)
            start = reader.line_num + 1
        return starts[1:]


_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _check_header(header: list[str], path: Path, text: str) -> None:
    line = 1 + len(text) - len(text.lstrip("\r\n"))  # blank lines before the header
    for sep, name in _SEPARATORS.items():  # a spreadsheet's export in a comma-less locale
        if len(header) == 1 and len([c for c in header[0].split(sep) if c.strip()]) > 1:
            raise DataError(
                f'the header row "{header[0]}" looks {name}-separated: reconciler reads '
                "comma-separated CSV (RFC 4180); save the file with commas between the fields",
                path,
                line,
            )
    if any(not h.strip() for h in header):
        raise DataError("the header row has an empty column name", path, line)
    dup = next((h for h in header if header.count(h) > 1), None)
    if dup is not None:
        raise DataError(f'the header row repeats the column "{dup}"', path, line)


def _parse_csv(text: str, path: Path) -> _Csv:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = [row for row in reader if row]  # blank lines are skipped
    except csv.Error as exc:
        raise DataError(f"CSV syntax error: {exc}", path, reader.line_num) from None
    if not rows:
        raise DataError("the CSV file is empty: it needs a header row", path, 1)
    parsed = _Csv(rows[0], rows[1:], text)
    header = parsed.header
    _check_header(header, path, text)
    width = len(header)
    if any(len(row) != width for row in parsed.rows):
        for line, row in zip(parsed.lines(), parsed.rows, strict=True):
            if len(row) != width:
                raise DataError(
                    f"row has {len(row)} field{'s' if len(row) != 1 else ''} "
                    f"but the header has {width}",
                    path,
                    line,
                )
    return parsed


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    digest: str


def read_table(path: Path) -> Table:
    """The custom properties CSV: a header and at least one row, unique first-column values."""
    text, raw = _read(path)
    return parse_table(text, path, raw)


def parse_table(text: str, path: Path, raw: bytes | None = None) -> Table:
    """``read_table`` on text already read (a baseline from git, for instance)."""
    if raw is None:
        raw = text.encode("utf-8")
    parsed = _parse_csv(text, path)
    header, rows = parsed.header, parsed.rows
    if not rows:
        raise DataError("the CSV file has a header but no data row", path, 1)
    seen: dict[str, int] = {}
    for line, row in zip(parsed.lines(), rows, strict=True):
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
        rows=tuple(tuple(r) for r in rows),
        digest="sha256:" + hashlib.sha256(raw).hexdigest(),
    )
