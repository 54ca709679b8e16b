"""The custom-properties upload: RFC 4180 CSV (UTF-8, a header row, then data rows)."""

from __future__ import annotations

import csv
import io

from reconciler.sandbox.jsonapi import ApiError, ErrorItem

MAX_REPORTED = 20


def parse_csv(body: bytes) -> list[list[str]]:
    """The rows, header first; ApiError 400 when the upload cannot replace the table.

    Blank lines are skipped; every row must have as many fields as the header.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"the CSV body is not UTF-8 (byte {exc.start})") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise ApiError(400, f"CSV line {text.count(chr(10), 0, nul) + 1}: a NUL character")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if row:
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise ApiError(400, f"CSV line {reader.line_num}: {exc}") from None
    if not rows:
        raise ApiError(400, "the CSV body is empty: expected a header row and data rows")
    header = rows[0][1]
    problems = _header_problems(header)
    if len(rows) < 2:
        problems.append("the CSV has a header row but no data row")
    problems += [
        f"CSV line {line}: {len(row)} fields, the header has {len(header)}"
        for line, row in rows[1:]
        if len(row) != len(header)
    ]
    if problems:
        items = [ErrorItem(400, problem) for problem in problems[:MAX_REPORTED]]
        raise ApiError(400, items=items)
    return [row for _, row in rows]


def _header_problems(header: list[str]) -> list[str]:
    problems = []
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        if not name.strip():
            problems.append(f"CSV header: column {i} has no name")
        elif name in seen:
            problems.append(f"CSV header: column {name!r} appears more than once")
        seen.add(name)
    return problems
